"""POST /audit: payload to Redis, workflow started without it, security context kept, nothing lost."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.audit import ingest_api
from handlers.audit.message import InternalMessage, build_message, validate_message
from handlers.http_request import MAX_JSON_DEPTH

from .conftest import (
    ARCHIVE_BUCKET,
    MAX_BODY_BYTES,
    METADATA,
    METADATA_TABLE,
    REDIS_TTL_SECONDS,
    TTL_READ_SLACK_SECONDS,
    AuditCloud,
    audit_post,
    audit_request,
    post,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_nothing_stored(cloud: AuditCloud) -> None:
    assert cloud.redis.keys("*") == []
    assert cloud.executions() == []
    assert cloud.keys() == []
    assert cloud.dlq_messages() == []


def test_an_audit_record_is_accepted_its_payload_held_in_redis_and_the_workflow_started_without_it(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a base64 payload of a kind that would be easy to spot anywhere it leaked
    payload = base64.b64encode(b"SECRET-PAYLOAD-" + os.urandom(64)).decode("ascii")
    # WHEN it is posted
    status, reply, _ = post(audit_post(audit_request(payload, tenant="acme")))
    # THEN the reply is 202 with a fresh message id
    assert status == 202 and reply["status"] == "accepted" and UUID.match(reply["messageId"])
    message_id = reply["messageId"]
    # AND Redis holds the payload's bytes under the message's key, with the configured lifetime (neither
    # longer nor shorter: REDIS_TTL_SECONDS is seconds, not milliseconds)
    key = f"audit:payload:{message_id}"
    assert audit_cloud.redis.get(key) == payload.encode("utf-8")
    remaining = audit_cloud.redis_ttl_seconds(key)
    assert REDIS_TTL_SECONDS - TTL_READ_SLACK_SECONDS <= remaining <= REDIS_TTL_SECONDS
    # AND one execution named for the message got the internal message, and never the payload
    [execution] = audit_cloud.executions()
    assert execution["name"] == message_id
    workflow_input = audit_cloud.execution_input(execution["executionArn"])
    assert payload not in json.dumps(workflow_input) and "payload" not in workflow_input
    assert set(workflow_input) == {
        "messageId",
        "metadata",
        "checksum",
        "sizeBytes",
        "securityContext",
        "storage",
    }
    assert workflow_input["messageId"] == message_id
    assert workflow_input["metadata"] == {**METADATA, "tenant": "acme"}
    assert workflow_input["sizeBytes"] == len(payload)
    # AND its storage context names every copy of the message, none persisted yet
    received = datetime.fromisoformat(workflow_input["securityContext"]["receivedAt"].replace("Z", "+00:00"))
    assert workflow_input["storage"] == {
        "redisKey": key,
        "s3": {"bucket": ARCHIVE_BUCKET, "key": f"archive/{received:%Y/%m/%d}/{message_id}.bin"},
        "dynamodb": {"table": METADATA_TABLE, "key": {"messageId": message_id}},
        "flags": {"persistedInS3": False, "metadataPersisted": False},
    }
    # AND the workflow's tasks accept it as a message
    validate_message(workflow_input)


def test_the_checksum_is_the_sha256_of_the_payload_bytes_as_stored(audit_cloud: AuditCloud) -> None:
    # GIVEN a JSON payload (not a string) with non-ASCII text, and a string payload
    json_payload = {"b": [1, 2.5, None], "a": "é ünïcödé"}
    expected = json.dumps(json_payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # WHEN both are posted
    _, json_reply, _ = post(audit_post(audit_request(json_payload)))
    _, text_reply, _ = post(audit_post(audit_request("plain text ✓")))
    # THEN the JSON payload is stored as compact JSON in UTF-8 and the text as its UTF-8 bytes
    assert audit_cloud.redis.get(f"audit:payload:{json_reply['messageId']}") == expected
    assert audit_cloud.redis.get(f"audit:payload:{text_reply['messageId']}") == "plain text ✓".encode()
    # AND each message's checksum is the sha256 of exactly those bytes
    by_id = {e["name"]: audit_cloud.execution_input(e["executionArn"]) for e in audit_cloud.executions()}
    assert by_id[json_reply["messageId"]]["checksum"] == hashlib.sha256(expected).hexdigest()
    assert by_id[text_reply["messageId"]]["sizeBytes"] == len("plain text ✓".encode())
    assert by_id[text_reply["messageId"]]["checksum"] == hashlib.sha256("plain text ✓".encode()).hexdigest()


def test_the_security_context_keeps_claims_source_and_allowlisted_headers_but_no_credentials(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a request authorized by a JWT, carrying an Authorization header and a cookie
    event = audit_post(audit_request(), headers={"idempotency-key": "k-1", "x-custom": "not kept"})
    # WHEN it is posted
    before = datetime.now(UTC)
    status, _, _ = post(event)
    # THEN the message's security context names the principal and keeps the authorizer's claims
    assert status == 202
    context = audit_cloud.only_execution_input()["securityContext"]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert context["principal"] == claims["sub"]
    assert context["authorizerType"] == "jwt"
    assert context["claims"] == claims and context["scopes"] == ["audit/write"]
    # AND where it came from and when
    assert context["sourceIp"] == "203.0.113.10"
    assert context["userAgent"] == "audit-client/1.0 (python-requests/2.32)"
    assert context["requestId"] == event["requestContext"]["requestId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", context["receivedAt"])
    received = datetime.fromisoformat(context["receivedAt"].replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= received <= datetime.now(UTC)
    # AND only the allowlisted headers: never the credentials
    assert context["headers"] == {
        "content-type": "application/json",
        "x-request-id": "req-0001",
        "x-amzn-trace-id": "Root=1-6650a1b2-1234567890abcdef12345678",
        "idempotency-key": "k-1",
        "x-forwarded-for": "198.51.100.7, 203.0.113.10",
    }
    text = json.dumps(context)
    assert "Bearer" not in text and "session=" not in text and "not kept" not in text


def test_an_unauthenticated_request_is_recorded_without_a_principal(audit_cloud: AuditCloud) -> None:
    # GIVEN a route with no authorizer (the local stack)
    status, _, _ = post(audit_post(audit_request(), keep_authorizer=False))
    # THEN it is accepted and its context says nobody vouched for the caller
    assert status == 202
    context = audit_cloud.only_execution_input()["securityContext"]
    assert context["principal"] is None and context["authorizerType"] == "none" and context["claims"] == {}


def test_a_base64_encoded_request_body_is_decoded_before_parsing(audit_cloud: AuditCloud) -> None:
    # GIVEN API Gateway passing the body base64-encoded
    event = audit_post(audit_request("x" * 1000), base64_encoded=True)
    # WHEN it is posted
    status, reply, _ = post(event)
    # THEN it is accepted like a text body
    assert status == 202
    assert audit_cloud.redis.get(f"audit:payload:{reply['messageId']}") == b"x" * 1000


@pytest.mark.parametrize("field", ["sourceSystem", "messageType", "producerTimestamp"])
def test_a_missing_metadata_field_is_refused_with_400_naming_it(audit_cloud: AuditCloud, field: str) -> None:
    # GIVEN metadata without one required field
    request = audit_request()
    del request["metadata"][field]
    # WHEN it is posted
    status, reply, _ = post(audit_post(request))
    # THEN the reply is 400 naming the field, and nothing is stored or started
    assert status == 400 and reply["error"] == "invalid_request"
    assert field in reply["message"] and "body.metadata" in reply["message"]
    assert_nothing_stored(audit_cloud)


def nested_list(levels: int) -> Any:
    """`levels` lists inside each other, around one string."""
    value: Any = "deep"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ('{"payload": "abc", "metadata": ', "invalid_json", "not valid JSON"),
        ("not json at all", "invalid_json", "not valid JSON"),
        ('{"payload": NaN, "metadata": {}}', "invalid_json", "NaN is not JSON"),
        ('["payload", "metadata"]', "invalid_request", "body must be object"),
        (json.dumps({"metadata": METADATA}), "invalid_request", "payload"),
        (json.dumps({"payload": None, "metadata": METADATA}), "invalid_request", "body.payload"),
        (json.dumps(audit_request(producerTimestamp="2024-06-01T10:00:00")), "invalid_request", "date-time"),
        (json.dumps(audit_request(sourceSystem="")), "invalid_request", "sourceSystem"),
        (json.dumps(audit_request(notes="n" * 40_000)), "metadata_too_large", "32768 bytes"),
        # 40 levels passes the body's JSON depth limit (64) but not DynamoDB's 32 for the metadata row.
        (json.dumps(audit_request(notes=nested_list(40))), "metadata_too_deep", "within 16"),
        ("", "empty_body", "no body"),
    ],
)
def test_a_malformed_body_is_refused_with_400_and_nothing_stored(
    audit_cloud: AuditCloud, body: str, code: str, words: str
) -> None:
    # GIVEN a body that is not JSON, or JSON that is not an audit record
    # WHEN it is posted
    status, reply, _ = post(audit_post(body))
    # THEN the reply is 400 saying what is wrong, and nothing is stored or started
    assert (status, reply["error"]) == (400, code)
    assert words in reply["message"]
    assert_nothing_stored(audit_cloud)


def test_metadata_nested_at_the_limit_is_accepted(audit_cloud: AuditCloud) -> None:
    # The metadata object is one level, its notes the other fifteen.
    status, _, _ = post(audit_post(json.dumps(audit_request(notes=nested_list(15)))))
    assert status == 202


def nested_payload_body(levels: int) -> str:
    """An audit request whose payload is `levels` arrays inside each other (the body object adds one)."""
    return f'{{"payload": {"[" * levels}{"]" * levels}, "metadata": {json.dumps(METADATA)}}}'


# 5,000 levels is the depth first reported (Python 3.13 parses it, so it used to be accepted); 100,000 is
# deep enough for CPython's json.loads to raise RecursionError, which used to escape as a 500.
@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_json_body_nested_deeper_than_the_limit_is_refused_with_400_and_nothing_stored(
    audit_cloud: AuditCloud, depth: int
) -> None:
    # GIVEN an audit record whose JSON payload is arrays nested thousands deep
    body = nested_payload_body(depth)
    # WHEN it is posted
    status, reply, _ = post(audit_post(body))
    # THEN the reply is 400 naming the nesting limit, and, as for every refused audit body, nothing is
    # stored or started (audit keeps only requests it could not accept for its own reasons: 503)
    assert (status, reply["error"]) == (400, "too_deep")
    assert f"deeper than the limit of {MAX_JSON_DEPTH} levels" in reply["message"]
    assert_nothing_stored(audit_cloud)


def test_a_json_body_nested_exactly_to_the_limit_is_accepted(audit_cloud: AuditCloud) -> None:
    # GIVEN a payload nested so that the body reaches the limit and goes no deeper
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    # WHEN it is posted
    status, reply, _ = post(audit_post(nested_payload_body(MAX_JSON_DEPTH - 1)))
    # THEN it is accepted, its payload held as compact JSON
    assert status == 202
    assert audit_cloud.redis.get(f"audit:payload:{reply['messageId']}") == nested.encode()


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_body_over_the_limit_is_refused_with_413_naming_the_limit(
    audit_cloud: AuditCloud, base64_encoded: bool
) -> None:
    # GIVEN a body one byte over MAX_BODY_BYTES
    skeleton = json.dumps(audit_request(""))
    filler = "y" * (MAX_BODY_BYTES + 1 - len(skeleton))
    body = json.dumps(audit_request(filler))
    assert len(body.encode()) == MAX_BODY_BYTES + 1
    # WHEN it is posted (as text or base64-encoded)
    status, reply, _ = post(audit_post(body, base64_encoded=base64_encoded))
    # THEN the reply is 413 naming the limit, and nothing is stored or started
    assert (status, reply["error"]) == (413, "payload_too_large")
    assert f"the limit is {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)" in reply["message"]
    assert_nothing_stored(audit_cloud)


def test_a_body_exactly_at_the_limit_is_accepted(audit_cloud: AuditCloud) -> None:
    skeleton = json.dumps(audit_request(""))
    body = json.dumps(audit_request("z" * (MAX_BODY_BYTES - len(skeleton))))
    assert len(body.encode()) == MAX_BODY_BYTES
    status, _, _ = post(audit_post(body))
    assert status == 202


def test_the_same_idempotency_key_twice_returns_the_first_message_id_and_stores_once(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a record posted with an Idempotency-Key
    event = audit_post(audit_request("retried payload"), headers={"idempotency-key": "order-42-created"})
    status_1, reply_1, _ = post(event)
    # WHEN the client retries the very same request
    status_2, reply_2, _ = post(event)
    # THEN both get the same 202 reply with the first message id
    assert status_1 == status_2 == 202
    assert reply_1 == reply_2 == {"messageId": reply_1["messageId"], "status": "accepted"}
    # AND Redis was written once and one execution started
    assert audit_cloud.redis_writes() == 1
    assert audit_cloud.redis.keys("audit:payload:*") == [f"audit:payload:{reply_1['messageId']}".encode()]
    assert [execution["name"] for execution in audit_cloud.executions()] == [reply_1["messageId"]]


def test_the_same_idempotency_key_from_another_principal_is_another_message(audit_cloud: AuditCloud) -> None:
    # GIVEN one caller's record with an Idempotency-Key
    headers = {"idempotency-key": "shared-key"}
    _, first, _ = post(audit_post(audit_request(), headers=headers))
    # WHEN another caller uses the same key
    other = {"jwt": {"claims": {"sub": "another-user"}, "scopes": []}}
    status, second, _ = post(audit_post(audit_request(), headers=headers, authorizer=other))
    # THEN it is its own message: keys are scoped to the caller
    assert status == 202 and second["messageId"] != first["messageId"]
    assert len(audit_cloud.executions()) == 2


def test_an_idempotency_key_reused_for_a_different_payload_is_refused_with_422(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a record accepted under an Idempotency-Key
    headers = {"idempotency-key": "reused"}
    post(audit_post(audit_request("first payload"), headers=headers))
    # WHEN another payload arrives under the same key
    status, reply, _ = post(audit_post(audit_request("second payload"), headers=headers))
    # THEN it is refused, and only the first message exists
    assert (status, reply["error"]) == (422, "idempotency_key_reused")
    assert "'reused'" in reply["message"]
    assert audit_cloud.redis_writes() == 1 and len(audit_cloud.executions()) == 1


def test_an_idempotency_key_that_is_not_printable_ascii_is_refused(audit_cloud: AuditCloud) -> None:
    status, reply, _ = post(audit_post(audit_request(), headers={"idempotency-key": "k" * 256}))
    assert (status, reply["error"]) == (400, "invalid_idempotency_key")
    assert_nothing_stored(audit_cloud)


def test_redis_unavailable_replies_503_and_salvages_the_raw_request(audit_cloud: AuditCloud) -> None:
    # GIVEN Redis cannot be reached
    audit_cloud.redis_down()
    event = audit_post(audit_request("must not be lost", tenant="acme"))
    # WHEN a record is posted
    status, reply, headers = post(event)
    # THEN the client is told the store is unavailable and to retry, with no internal endpoint in it
    assert status == 503 and reply["error"] == "unavailable"
    assert reply["message"].startswith("audit store (Redis) unavailable: ")
    assert reply["message"].endswith("retry later")
    assert "127.0.0.1" not in reply["message"]
    assert headers.get("Retry-After") == "5"
    # AND no workflow started
    assert audit_cloud.executions() == []
    # AND the raw request (exact body bytes, security context) is in S3 under failures/
    reference = reply["reference"]
    [key] = audit_cloud.keys()
    salvaged = audit_cloud.object_json(key)
    received = datetime.fromisoformat(salvaged["securityContext"]["receivedAt"].replace("Z", "+00:00"))
    assert key == f"failures/{received:%Y/%m/%d}/{reference}.json"
    assert base64.b64decode(salvaged["body"]) == event["body"].encode("utf-8")
    assert salvaged["securityContext"]["principal"] == "7d8f3c2a-1b4e-4f6a-9c0d-2e5b8a1f3c7d"
    assert salvaged["error"]["Error"] == "RedisUnavailableError"
    assert "audit store (Redis) at redis://127.0.0.1:" in salvaged["error"]["Cause"]
    head = audit_cloud.s3.head_object(Bucket=ARCHIVE_BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    # AND the DLQ names it, without the body
    [notice] = audit_cloud.dlq_messages()
    assert notice["failureKey"] == key and notice["failureBucket"] == ARCHIVE_BUCKET
    assert notice["messageId"] == reference and notice["failureObjectStored"] is True
    assert "body" not in notice


def test_after_redis_recovers_the_retried_idempotent_request_is_accepted(audit_cloud: AuditCloud) -> None:
    # GIVEN a request with an Idempotency-Key that met a Redis outage
    event = audit_post(audit_request("later"), headers={"idempotency-key": "retry-me"})
    audit_cloud.redis_down()
    assert post(event)[0] == 503
    # WHEN Redis is back and the client retries
    audit_cloud.redis_back()
    status, reply, _ = post(event)
    # THEN the retry is processed (the failed attempt did not claim the key) and stored once
    assert status == 202
    assert audit_cloud.redis.get(f"audit:payload:{reply['messageId']}") == b"later"
    assert [execution["name"] for execution in audit_cloud.executions()] == [reply["messageId"]]


def test_a_workflow_that_cannot_start_replies_503_and_salvages_the_request(
    audit_cloud: AuditCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the state machine does not exist (deleted, or a misconfigured ARN)
    monkeypatch.setenv("STATE_MACHINE_ARN", audit_cloud.state_machine_arn + "-gone")
    ingest_api.dependencies.cache_clear()
    # WHEN a record is posted
    status, reply, _ = post(audit_post(audit_request()))
    # THEN 503 names the workflow, and the request is kept in S3 and announced on the DLQ
    assert status == 503 and reply["message"].startswith("audit workflow (Step Functions) unavailable")
    [notice] = audit_cloud.dlq_messages()
    assert notice["error"]["Error"] == "WorkflowStartError"
    assert audit_cloud.keys("failures/") == [notice["failureKey"]]


def test_an_execution_that_already_exists_counts_as_started(audit_cloud: AuditCloud) -> None:
    # GIVEN a message whose execution was started by an earlier attempt
    deps = ingest_api.dependencies()
    message = audit_cloud_message()
    assert ingest_api.start_workflow(deps.stepfunctions, deps.settings.state_machine_arn, message) is True
    # WHEN it is accepted again
    reply = ingest_api.accept_message(
        message=message,
        payload=b"p",
        store=deps.store,
        stepfunctions=deps.stepfunctions,
        state_machine_arn=deps.settings.state_machine_arn,
    )
    # THEN the reply is the same acceptance, and still one execution exists
    assert reply == {"messageId": message["messageId"], "status": "accepted"}
    assert len(audit_cloud.executions()) == 1


def audit_cloud_message() -> InternalMessage:
    return build_message(
        message_id="4a7c1e2f-0000-4000-8000-000000000001",
        metadata=METADATA,
        payload=b"p",
        security_context={"receivedAt": "2024-06-01T10:00:00.000Z"},
        archive_bucket=ARCHIVE_BUCKET,
        metadata_table=METADATA_TABLE,
        received_at=datetime(2024, 6, 1, 10, tzinfo=UTC),
    )
