"""EmailSettings: RECIPIENT_EMAILS must be a non-empty JSON list of addresses, or the function refuses it.

Read as the email function reads them (EmailSettings.from_environment), with no AWS involved; the counts
and the link lifetime at their limits are in test_batch_limits.py.
"""

from __future__ import annotations

import re

import pytest

from handlers.batch.contract import EmailSettings
from handlers.environment import SettingError

PROBLEM = re.escape("RECIPIENT_EMAILS must be a JSON list of email addresses")


def read(recipient_emails: str) -> EmailSettings:
    return EmailSettings.from_environment(
        {
            "SENDER_EMAIL": "batch@example.com",
            "RECIPIENT_EMAILS": recipient_emails,
            "LINK_EXPIRY_SECONDS": "3600",
        }
    )


def test_a_list_of_addresses_is_read_in_order() -> None:
    # GIVEN two addresses
    # WHEN the settings are read THEN both are recipients, in the order listed
    settings = read('["ops@example.com", "finance@example.com"]')
    assert settings.recipient_emails == ("ops@example.com", "finance@example.com")


def test_an_empty_list_is_refused() -> None:
    # GIVEN a list with no address (SES needs at least one destination)
    # WHEN the settings are read THEN they are refused, naming the variable and what it must hold
    with pytest.raises(SettingError, match=PROBLEM):
        read("[]")


@pytest.mark.parametrize(
    ("recipient_emails", "got"),
    [
        ('["ops.example.com"]', "got ['ops.example.com']"),
        ('["ops@example.com", "finance.example.com"]', "got ['ops@example.com', 'finance.example.com']"),
        ("[42]", "got [42]"),
        ('[["ops@example.com"]]', "got [['ops@example.com']]"),
    ],
    ids=["no-at-sign", "one-bad-among-good", "a-number", "a-nested-list"],
)
def test_a_list_with_anything_but_addresses_is_refused_quoting_what_was_given(
    recipient_emails: str, got: str
) -> None:
    # GIVEN a list holding a name without "@", a number, or a list, alone or after a good address
    # WHEN the settings are read THEN they are refused, naming the variable and quoting the list given
    with pytest.raises(SettingError, match=PROBLEM) as raised:
        read(recipient_emails)
    assert got in str(raised.value)
