"""POST /audit on the AWS_IAM route: the SigV4 caller is the principal, and idempotency is per principal.

Built on tests/events/audit_ingest_post_iam.json, an HTTP API (payload 2.0) event whose
requestContext.authorizer.iam block is what API Gateway passes for a SigV4-signed request.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.audit import security_context
from handlers.audit.message import parse_utc

from ..conftest import load_event
from .conftest import AuditCloud, audit_post, audit_request, iam_caller, post

IAM_EVENT = "audit_ingest_post_iam.json"
SIGNED_HEADERS = ("authorization", "x-amz-security-token", "x-amz-date")


def iam_post(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return audit_post(body, template=IAM_EVENT, **kwargs)


def test_the_principal_of_a_sigv4_caller_is_its_arn() -> None:
    # GIVEN the event API Gateway passes for a request signed by an assumed role's session
    event = load_event(IAM_EVENT)
    iam = event["requestContext"]["authorizer"]["iam"]
    # WHEN its security context is captured
    context = security_context.capture(event, received_at=parse_utc("2024-06-01T10:00:00.000Z"))
    # THEN the principal is the caller's ARN (the session's, naming its role), not a key or an id
    assert context["principal"] == iam["userArn"]
    assert (
        context["principal"]
        == "arn:aws:sts::123456789012:assumed-role/regionflow-audit-producer/billing-producer"
    )
    # AND the whole IAM identity is kept as the claims, the authorizer named
    assert context["authorizerType"] == "iam" and context["claims"] == iam and context["scopes"] == []
    # AND nothing of the signature or the session's credentials is kept
    text = json.dumps(context)
    for header in SIGNED_HEADERS:
        assert event["headers"][header] not in text, header
    assert context["headers"]["idempotency-key"] == "invoice-2024-06-01-0001"


def test_a_sigv4_callers_message_carries_its_arn_to_the_workflow(audit_cloud: AuditCloud) -> None:
    # GIVEN a record signed with SigV4 WHEN it is posted
    event = iam_post(audit_request())
    status, _, _ = post(event)
    # THEN the workflow's message names the caller by its ARN, with its IAM identity
    assert status == 202
    context = audit_cloud.only_execution_input()["securityContext"]
    iam = event["requestContext"]["authorizer"]["iam"]
    assert context["principal"] == iam["userArn"]
    assert context["authorizerType"] == "iam" and context["claims"] == iam


def test_the_same_idempotency_key_from_two_iam_principals_is_two_messages(audit_cloud: AuditCloud) -> None:
    # GIVEN one producer's record accepted under an Idempotency-Key
    key = {"idempotency-key": "invoice-2024-06-01-0001"}
    status_1, first, _ = post(iam_post(audit_request("same bytes"), headers=key))
    # WHEN another producer (another role's session) posts the same bytes under the same key
    status_2, second, _ = post(
        iam_post(audit_request("same bytes"), headers=key, authorizer=iam_caller("s-2"))
    )
    # THEN each is its own message: keys are scoped to the caller, so one cannot replay or block another's
    assert status_1 == status_2 == 202
    assert first["messageId"] != second["messageId"]
    assert audit_cloud.redis_writes() == 2
    principals = {
        audit_cloud.execution_input(e["executionArn"])["securityContext"]["principal"]
        for e in audit_cloud.executions()
    }
    assert principals == {
        "arn:aws:sts::123456789012:assumed-role/regionflow-audit-producer/billing-producer",
        "arn:aws:sts::123456789012:assumed-role/regionflow-other-producer/s-2",
    }


def test_the_same_idempotency_key_from_the_same_iam_principal_is_one_message(audit_cloud: AuditCloud) -> None:
    # GIVEN a producer's record accepted under an Idempotency-Key
    event = iam_post(audit_request("retried bytes"), headers={"idempotency-key": "invoice-2024-06-01-0002"})
    _, first, _ = post(event)
    # WHEN the same producer retries it (a new signature and request id, the same caller)
    retry = iam_post(audit_request("retried bytes"), headers={"idempotency-key": "invoice-2024-06-01-0002"})
    retry["requestContext"]["requestId"] = "Yz4aBcWAjoEEJ5C="
    status, second, _ = post(retry)
    # THEN it gets the first reply, and one message exists: stored once, one execution
    assert status == 202 and second == first
    assert audit_cloud.redis_writes() == 1
    assert [execution["name"] for execution in audit_cloud.executions()] == [first["messageId"]]


def test_the_same_idempotency_key_from_a_renewed_session_of_the_same_role_is_one_message(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a producer's record accepted under an Idempotency-Key, from one session of its role
    key = {"idempotency-key": "invoice-2024-06-01-0003"}
    _, first, _ = post(iam_post(audit_request("renewed bytes"), headers=key, authorizer=iam_caller("task-1")))
    # WHEN the producer retries after its credentials were renewed (another session of the same role)
    status, second, _ = post(
        iam_post(audit_request("renewed bytes"), headers=key, authorizer=iam_caller("task-2"))
    )
    # THEN the retry replays the first reply: the principal is the role, whatever the session's name
    assert status == 202 and second == first
    assert audit_cloud.redis_writes() == 1
