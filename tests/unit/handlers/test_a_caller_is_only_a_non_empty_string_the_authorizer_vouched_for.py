"""caller_arn: what an authorizer vouched for is a caller only when it is a non-empty string: a JWT's
subject or an IAM signer's userArn that is empty, missing or not text vouches for no one."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.http_request import caller_arn


def jwt_event(claims: dict[str, Any]) -> dict[str, Any]:
    return {"version": "2.0", "requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}}}


@pytest.mark.parametrize(
    "subject",
    ["", 42, 0, None, ["7d8f3c2a"], {"sub": "7d8f3c2a"}, True],
    ids=["empty", "number", "zero", "null", "list", "object", "boolean"],
)
def test_a_jwt_subject_that_is_not_a_non_empty_string_is_no_caller(subject: object) -> None:
    # GIVEN a JWT route's event whose token claims a subject that is not a non-empty string
    event = jwt_event({"sub": subject, "client_id": "4abc", "username": "alice"})
    # WHEN its caller is read
    # THEN there is none (not the odd value, not another claim)
    assert caller_arn(event) is None


def test_a_jwt_subject_is_the_caller_exactly_as_the_token_states_it() -> None:
    # GIVEN a JWT route's event whose subject is one character
    event = jwt_event({"sub": "x", "client_id": "4abc"})
    # WHEN its caller is read THEN it is that subject
    assert caller_arn(event) == "x"


@pytest.mark.parametrize(
    "user_arn", [42, ["arn:aws:iam::123456789012:user/p"], True], ids=["number", "list", "boolean"]
)
def test_an_iam_user_arn_that_is_not_a_string_is_no_caller(user_arn: object) -> None:
    # GIVEN an AWS_IAM route's event whose signer's userArn is not text
    event = {"requestContext": {"authorizer": {"iam": {"userArn": user_arn}}}}
    # WHEN its caller is read THEN there is none
    assert caller_arn(event) is None


def test_an_iam_block_without_a_signer_is_no_caller_even_beside_a_jwt_subject() -> None:
    # GIVEN an event whose IAM block names no signer, with a JWT block that has a subject beside it
    event = {"requestContext": {"authorizer": {"iam": {"userArn": ""}, "jwt": {"claims": {"sub": "alice"}}}}}
    # WHEN its caller is read
    # THEN there is none: the IAM block answers for the request and it vouched for no one
    assert caller_arn(event) is None
