"""A build id becomes an S3 key and a DynamoDB key: only [A-Za-z0-9-] of the raw id is kept.

A dropped character leaves nothing in its place; the id is then the key build-<id>.zip.
"""

from __future__ import annotations

import pytest

from handlers.artifacts.build_keys import build_key, sanitise_build_id


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("3f2a9c1e-7b4d-4e21-9a0f-1c2d3e4f5a6b", "3f2a9c1e-7b4d-4e21-9a0f-1c2d3e4f5a6b"),  # an SQS message id
        ("Kp3yZjwRoAMEbDw=", "Kp3yZjwRoAMEbDw"),  # an API Gateway request id
        ("release/v1.2 final_build", "releasev12finalbuild"),
        ("ü-été", "-t"),
    ],
    ids=["uuid", "request-id", "punctuation-and-blanks", "non-ascii"],
)
def test_every_character_outside_letters_digits_and_dashes_is_dropped(raw: str, kept: str) -> None:
    # GIVEN a raw id with or without characters outside [A-Za-z0-9-]
    # WHEN it is sanitised
    # THEN those characters are dropped, with nothing in their place, and the rest is kept in order
    assert sanitise_build_id(raw) == kept


def test_an_id_with_no_allowed_character_sanitises_to_empty() -> None:
    # GIVEN a raw id of only disallowed characters WHEN it is sanitised THEN nothing is left, for the caller
    # to fall back on
    assert sanitise_build_id("==/_ .") == ""


def test_a_build_is_stored_as_build_dash_id_dot_zip() -> None:
    # GIVEN a sanitised build id WHEN its key is made THEN it is build-<id>.zip
    assert build_key("b-42") == "build-b-42.zip"
