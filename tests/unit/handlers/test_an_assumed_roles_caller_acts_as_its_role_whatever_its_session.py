"""principal_of: an assumed role's session ARN is reduced to the role's session-less ARN (the principal IAM
sees, whatever session name the caller picked); every other caller is its own principal, unchanged."""

from __future__ import annotations

import pytest

from handlers.http_request import principal_of


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/order-service/producer-1",
            "arn:aws:sts::123456789012:assumed-role/order-service",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/order-service/i-0abc123def4567890",
            "arn:aws:sts::123456789012:assumed-role/order-service",
        ),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/Audit.Producer+1/botocore-session-1717236000",
            "arn:aws-us-gov:sts::123456789012:assumed-role/Audit.Producer+1",
        ),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/reader/alice@example.com",
            "arn:aws-cn:sts::123456789012:assumed-role/reader",
        ),
    ],
    ids=["named-session", "instance-session", "gov-cloud", "china"],
)
def test_an_assumed_roles_session_acts_as_the_role_without_its_session_name(
    caller: str, principal: str
) -> None:
    # GIVEN the caller ARN of an assumed role's session, in any AWS partition
    # WHEN its principal is taken
    # THEN it is the role's ARN: the session name is dropped, everything before it kept
    assert principal_of(caller) == principal


def test_two_sessions_of_one_role_are_one_principal() -> None:
    # GIVEN one role's sessions before and after its credentials were renewed
    before = "arn:aws:sts::123456789012:assumed-role/order-service/session-2024-06-01"
    after = "arn:aws:sts::123456789012:assumed-role/order-service/session-2024-06-02"
    # WHEN their principals are taken THEN they are the same
    assert principal_of(before) == principal_of(after)


@pytest.mark.parametrize(
    "caller",
    [
        "arn:aws:iam::123456789012:user/producer",
        "arn:aws:iam::123456789012:role/order-service",
        "arn:aws:sts::123456789012:assumed-role/order-service",
        "arn:aws:sts::123456789012:assumed-role/order-service/producer-1/extra",
        "arn:aws:sts::12345678901:assumed-role/order-service/producer-1",
        "arn:aws:sts::123456789012:federated-user/alice",
        "arn:other:sts::123456789012:assumed-role/order-service/producer-1",
        "7d8f3c2a-1b4e-4f6a-9c0d-2e5b8a1f3c7d",
        "",
    ],
    ids=[
        "iam-user",
        "iam-role",
        "no-session-name",
        "three-segments",
        "eleven-digit-account",
        "federated-user",
        "not-an-aws-partition",
        "jwt-subject",
        "empty",
    ],
)
def test_any_other_caller_is_its_own_principal_unchanged(caller: str) -> None:
    # GIVEN a caller that is not an assumed role's session ARN (a user, a role, a token's subject, ...)
    # WHEN its principal is taken
    # THEN it is the caller itself, character for character
    assert principal_of(caller) == caller
