"""handlers/audit/security_context.py: what the audit trail keeps of who sent a message, from where, when.

Pure tests of `capture()` on API Gateway HTTP API (payload 2.0) events: tests/events/audit_ingest_post.json
(a JWT authorizer) and audit_ingest_post_iam.json (a SigV4 caller), and a Lambda authorizer's block put in
their place. Every expected value is written out here. This file uses no fixture of the audit conftest (moto,
redis-server): none of those is autouse, so nothing of them starts for these tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from handlers.audit.security_context import capture

from ..conftest import load_event

JWT_EVENT = "audit_ingest_post.json"
IAM_EVENT = "audit_ingest_post_iam.json"
RECEIVED_AT = datetime(2024, 6, 1, 10, 0, 0, 123_000, tzinfo=UTC)
RECEIVED_AT_TEXT = "2024-06-01T10:00:00.123Z"


def with_authorizer(authorizer: dict[str, Any] | None) -> dict[str, Any]:
    """audit_ingest_post.json with its requestContext.authorizer replaced (None: the key removed)."""
    event = load_event(JWT_EVENT)
    if authorizer is None:
        del event["requestContext"]["authorizer"]
    else:
        event["requestContext"]["authorizer"] = authorizer
    return event


def test_a_jwt_callers_context_is_its_subject_its_claims_scopes_source_and_allowlisted_headers() -> None:
    # GIVEN the event of a POST /audit whose bearer token the JWT authorizer accepted
    event = load_event(JWT_EVENT)
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN it names the token's subject, keeps the claims and scopes, where the request came from and the
    # allowlisted headers; the Authorization header and the cookie are not among them
    assert context == {
        "principal": "7d8f3c2a-1b4e-4f6a-9c0d-2e5b8a1f3c7d",
        "authorizerType": "jwt",
        "claims": {
            "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
            "sub": "7d8f3c2a-1b4e-4f6a-9c0d-2e5b8a1f3c7d",
            "client_id": "4abcdefghijklmnopqrstuvwx",
            "scope": "audit/write",
            "token_use": "access",
        },
        "scopes": ["audit/write"],
        "sourceIp": "203.0.113.10",
        "userAgent": "audit-client/1.0 (python-requests/2.32)",
        "headers": {
            "content-type": "application/json",
            "x-request-id": "req-0001",
            "x-amzn-trace-id": "Root=1-6650a1b2-1234567890abcdef12345678",
            "x-forwarded-for": "198.51.100.7, 203.0.113.10",
        },
        "requestId": "Yz3fXhWAjoEEJ3A=",
        "receivedAt": RECEIVED_AT_TEXT,
    }


def test_a_sigv4_callers_context_is_its_arn_its_iam_identity_and_no_signature() -> None:
    # GIVEN the event of a POST /audit signed with SigV4 by an assumed role's session
    event = load_event(IAM_EVENT)
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN it names the session's ARN, keeps the IAM identity as the claims, has no scopes, and keeps the
    # idempotency key but neither the signature, the session token nor the signing date
    assert context == {
        "principal": "arn:aws:sts::123456789012:assumed-role/regionflow-audit-producer/billing-producer",
        "authorizerType": "iam",
        "claims": {
            "accessKey": "ASIAQEXAMPLE7AUDITPRD",
            "accountId": "123456789012",
            "callerId": "AROAQEXAMPLEAUDITPRD1:billing-producer",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:sts::123456789012:assumed-role/regionflow-audit-producer/billing-producer",
            "userId": "AROAQEXAMPLEAUDITPRD1:billing-producer",
        },
        "scopes": [],
        "sourceIp": "198.51.100.7",
        "userAgent": "regionflow-audit-client/1.0",
        "headers": {
            "content-type": "application/json",
            "x-amzn-trace-id": "Root=1-6650a1b2-abcdef1234567890fedcba98",
            "idempotency-key": "invoice-2024-06-01-0001",
            "x-forwarded-for": "198.51.100.7",
        },
        "requestId": "Yz4aBcWAjoEEJ4B=",
        "receivedAt": RECEIVED_AT_TEXT,
    }


def test_a_lambda_authorizers_context_is_its_principal_id_and_the_context_it_returned() -> None:
    # GIVEN a request a Lambda authorizer allowed, returning a principal id and a tenant in its context
    event = with_authorizer({"lambda": {"principalId": "billing-service", "tenant": "acme"}})
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN the principal is that id, the authorizer's context is kept as the claims, and there are no scopes
    assert context["principal"] == "billing-service"
    assert context["authorizerType"] == "lambda"
    assert context["claims"] == {"principalId": "billing-service", "tenant": "acme"}
    assert context["scopes"] == []


@pytest.mark.parametrize(
    ("authorizer", "principal"),
    [
        # A token without a subject (a client-credentials token): the app client that holds it.
        (
            {"jwt": {"claims": {"client_id": "4abcdefghijklmnopqrstuvwx", "username": "alice"}}},
            "4abcdefghijklmnopqrstuvwx",
        ),
        ({"jwt": {"claims": {"username": "alice"}}}, "alice"),
        # An empty claim vouches for nobody: the next one names the caller.
        (
            {"jwt": {"claims": {"sub": "", "client_id": "4abcdefghijklmnopqrstuvwx"}}},
            "4abcdefghijklmnopqrstuvwx",
        ),
        (
            {"iam": {"callerId": "AROAQEXAMPLEAUDITPRD1:s-1", "userId": "AIDAQEXAMPLEUSER0001"}},
            "AROAQEXAMPLEAUDITPRD1:s-1",
        ),
        ({"iam": {"userId": "AIDAQEXAMPLEUSER0001"}}, "AIDAQEXAMPLEUSER0001"),
        ({"lambda": {"principalId": "billing-service", "sub": "user-7"}}, "billing-service"),
        ({"lambda": {"sub": "user-7"}}, "user-7"),
        # A principal id that is not a string is written as text.
        ({"lambda": {"principalId": 42}}, "42"),
    ],
    ids=[
        "jwt-client-id",
        "jwt-username",
        "jwt-empty-sub",
        "iam-caller-id",
        "iam-user-id",
        "lambda-principal-id-first",
        "lambda-sub",
        "lambda-number",
    ],
)
def test_the_principal_is_the_first_non_empty_identity_claim_its_authorizer_vouches_for(
    authorizer: dict[str, Any], principal: str
) -> None:
    # GIVEN a request whose authorizer gave only some of the identity claims of its kind
    event = with_authorizer(authorizer)
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN the principal is the first of them, in that kind's order, that has a value
    assert context["principal"] == principal


@pytest.mark.parametrize(
    "authorizer",
    [
        {"jwt": {"claims": {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"}}},
        {"iam": {"accountId": "123456789012"}},
        {"lambda": {"tenant": "acme"}},
    ],
    ids=["jwt", "iam", "lambda"],
)
def test_an_authorizer_block_without_an_identity_claim_names_no_principal(authorizer: dict[str, Any]) -> None:
    # GIVEN an authorizer block with none of its kind's identity claims
    event = with_authorizer(authorizer)
    # WHEN its security context is captured
    # THEN no principal is made up
    assert capture(event, received_at=RECEIVED_AT)["principal"] is None


def test_a_token_checked_without_route_scopes_has_an_empty_scope_list() -> None:
    # GIVEN a JWT authorizer block whose scopes API Gateway sent as null (the route requires none)
    event = with_authorizer({"jwt": {"claims": {"sub": "user-7"}, "scopes": None}})
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN the scopes are an empty list and the claims are kept
    assert context["scopes"] == []
    assert context["claims"] == {"sub": "user-7"}
    assert context["principal"] == "user-7"


@pytest.mark.parametrize(
    "authorizer",
    [None, {}, {"jwt": None, "iam": None, "lambda": None}],
    ids=["no-authorizer-key", "empty-authorizer", "null-blocks"],
)
def test_a_request_no_authorizer_vouched_for_has_authorizer_type_none_and_no_claims(
    authorizer: dict[str, Any] | None,
) -> None:
    # GIVEN a request on a route without an authorizer
    event = with_authorizer(authorizer)
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN nobody is named and no claim or scope is invented; the source is still recorded
    assert context["principal"] is None
    assert context["authorizerType"] == "none"
    assert context["claims"] == {}
    assert context["scopes"] == []
    assert context["sourceIp"] == "203.0.113.10"


def test_header_names_are_matched_in_any_case_and_only_the_allowlist_is_kept() -> None:
    # GIVEN a request whose header names are not lowercase (as an event not normalised by API Gateway has)
    event = load_event(JWT_EVENT)
    event["headers"] = {
        "Content-Type": "application/json",
        "X-Request-Id": "req-0002",
        "Idempotency-Key": "invoice-7",
        "Authorization": "Bearer secret",
        "Cookie": "session=secret",
    }
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN the allowlisted headers are kept under their lowercase names, and nothing else
    assert context["headers"] == {
        "content-type": "application/json",
        "x-request-id": "req-0002",
        "idempotency-key": "invoice-7",
    }


def test_the_user_agent_comes_from_the_header_when_the_request_context_has_none() -> None:
    # GIVEN a request whose requestContext.http has no userAgent but whose User-Agent header does
    event = load_event(JWT_EVENT)
    del event["requestContext"]["http"]["userAgent"]
    event["headers"]["user-agent"] = "audit-client/2.0"
    # WHEN its security context is captured
    # THEN the header's user agent is recorded
    assert capture(event, received_at=RECEIVED_AT)["userAgent"] == "audit-client/2.0"


def test_the_request_contexts_user_agent_is_preferred_to_the_header() -> None:
    # GIVEN a request whose requestContext.http and User-Agent header name different agents
    event = load_event(JWT_EVENT)
    event["headers"]["user-agent"] = "spoofed/0.1"
    # WHEN its security context is captured
    # THEN the one API Gateway recorded is kept
    assert capture(event, received_at=RECEIVED_AT)["userAgent"] == "audit-client/1.0 (python-requests/2.32)"


def test_an_event_without_request_context_or_headers_records_only_the_time() -> None:
    # GIVEN an event with neither a requestContext nor headers (a direct invocation)
    # WHEN its security context is captured
    context = capture({"body": "{}"}, received_at=RECEIVED_AT)
    # THEN every field is present and empty, and the receipt time is kept
    assert context == {
        "principal": None,
        "authorizerType": "none",
        "claims": {},
        "scopes": [],
        "sourceIp": None,
        "userAgent": None,
        "headers": {},
        "requestId": None,
        "receivedAt": RECEIVED_AT_TEXT,
    }


def test_a_request_context_without_http_records_the_user_agent_header_and_no_source_ip() -> None:
    # GIVEN an event whose requestContext has no http block, with a User-Agent header
    event = load_event(JWT_EVENT)
    del event["requestContext"]["http"]
    # WHEN its security context is captured
    context = capture(event, received_at=RECEIVED_AT)
    # THEN there is no source IP, the agent comes from the header, and the rest is still captured
    assert context["sourceIp"] is None
    assert context["userAgent"] == "audit-client/1.0 (python-requests/2.32)"
    assert context["requestId"] == "Yz3fXhWAjoEEJ3A="


def test_the_receipt_time_is_written_in_utc_to_the_millisecond() -> None:
    # GIVEN a receipt time given in UTC+2, with microseconds
    received_at = datetime(2024, 6, 1, 12, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    # WHEN a security context is captured with it
    # THEN it is written as the same instant in UTC, truncated to milliseconds, with a Z
    assert capture(load_event(JWT_EVENT), received_at=received_at)["receivedAt"] == "2024-06-01T10:00:00.123Z"
