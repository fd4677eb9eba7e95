"""AuditIngest deployed by localcloud: what a producer posting to POST /audit, and the audit trail, see.

The scenario steps are demos/audit.py's, shared with the demo. Every POST goes through the seed's
client (scripts/audit_client.py). Each test finds its own message by id, so the tests hold in any order.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

import pytest

from demos.audit import (
    ARCHIVE_PREFIX,
    FAILURES_PREFIX,
    all_executions,
    archive_refused,
    executions_named,
    failure_record,
    ingest,
    keys_of,
    metadata_row,
    object_bytes,
    object_keys,
    object_versions,
    payload_keys_in_redis,
    payload_sha256,
    post,
    post_while_redis_down,
    published_final_state,
    redis_client,
    redis_holds,
    salvaged_payload,
    wait_for_dlq_notice,
    wait_for_execution,
    wait_for_final_state,
)
from handlers.audit.message import archive_key, parse_utc
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.cloud import LocalCloud
from scripts import audit_client
from scripts.audit_client import base64_payload, sample_message

pytestmark = pytest.mark.e2e
FIVE_MB_CHARS = 5_000_000
# The front door (a function URL locally, as on the `local` stack) refuses bodies over Lambda's 6 MiB.
FRONT_DOOR_MAX_BODY = 6 * 1024 * 1024


def header(response: audit_client.AuditResponse, name: str) -> str | None:
    return next((value for key, value in response.headers.items() if key.lower() == name.lower()), None)


def stored_state(cloud: LocalCloud) -> dict[str, Any]:
    """Everything a POST could leave behind: executions, archive and failure objects, Redis payloads."""
    return {
        "executions": len(all_executions(cloud)),
        "archive versions": len(object_versions(cloud, ARCHIVE_PREFIX)),
        "failure objects": len(object_keys(cloud, FAILURES_PREFIX)),
        "redis payloads": payload_keys_in_redis(cloud),
    }


def test_a_5_mb_message_is_archived_byte_identical_catalogued_announced_and_released_from_redis(
    cloud: LocalCloud,
) -> None:
    # GIVEN a 5 MB payload (5,000,000 base64 characters)
    payload = base64_payload(FIVE_MB_CHARS)
    # WHEN a producer posts it and the workflow finishes
    ingested = ingest(cloud, payload, source_system="erp", message_type="invoice.created")
    message_id = ingested.message_id
    assert ingested.response.status == 202
    assert ingested.response.body == {"messageId": message_id, "status": "accepted"}
    assert ingested.execution["status"] == "SUCCEEDED"
    # THEN the archive object under archive/<date>/<id> holds exactly the bytes sent
    row = metadata_row(cloud, message_id)
    assert row is not None
    received_at = parse_utc(row["securityContext"]["receivedAt"])
    expected_key = archive_key(message_id, received_at)
    assert keys_of(cloud, message_id, ARCHIVE_PREFIX) == [expected_key]
    archived = object_bytes(cloud, expected_key)
    assert len(archived) == FIVE_MB_CHARS
    assert archived == payload.encode("utf-8")
    # AND the metadata row records the security context and the payload's sha256
    checksum = payload_sha256(payload)
    assert row["checksum"] == checksum
    assert int(row["sizeBytes"]) == FIVE_MB_CHARS
    assert (row["sourceSystem"], row["messageType"]) == ("erp", "invoice.created")
    security = row["securityContext"]
    assert security["sourceIp"] == "127.0.0.1"
    assert security["userAgent"] == "regionflow-audit-client/1.0"
    assert isinstance(received_at, datetime)
    assert row["receivedAt"] == security["receivedAt"]
    assert row["storage"]["s3"] == {"bucket": cloud.exports["auditArchiveBucket"], "key": expected_key}
    # AND subscribers were told it is persisted in S3 and its metadata recorded
    final = wait_for_final_state(cloud, message_id)
    assert final["persistedInS3"] is True
    assert final["metadataPersisted"] is True
    assert final["checksum"] == checksum
    assert final["storage"]["s3"]["key"] == expected_key
    assert final["metadata"]["messageType"] == "invoice.created"
    # AND the Redis copy (the claim check) is gone
    assert not redis_holds(cloud, message_id)


def test_with_redis_down_the_request_is_refused_with_503_and_salvaged_to_s3_and_the_dlq(
    cloud: LocalCloud,
) -> None:
    # GIVEN the audit Redis is stopped
    payload = base64_payload(4096)
    # WHEN a producer posts a message (Redis is restarted, empty, on its port afterwards)
    refused = post_while_redis_down(cloud, payload)
    # THEN the reply is 503, names Redis as unavailable, says when to retry and gives a reference
    assert refused.response.status == 503, refused.response.body
    assert refused.response.body["error"] == "unavailable"
    assert re.search(r"Redis\)? unavailable", refused.response.body["message"])
    assert header(refused.response, "Retry-After") == "5"
    reference = refused.reference
    assert reference
    # AND the raw request is in failures/, the payload retrievable from it
    record = failure_record(cloud, reference)
    assert record is not None
    assert record["source"] == "ingest-api"
    assert record["error"]["Error"] == "RedisUnavailableError"
    assert salvaged_payload(record) == payload
    assert record["securityContext"]["userAgent"] == "regionflow-audit-client/1.0"
    # AND the DLQ holds a notice pointing at that object (without the bytes)
    notice = wait_for_dlq_notice(cloud, reference)
    assert notice["failureBucket"] == cloud.exports["auditArchiveBucket"]
    assert notice["failureKey"] == record["failureKey"]
    assert notice["failureObjectStored"] is True
    assert "body" not in notice
    # AND nothing was started for it
    assert executions_named(cloud, reference) == []
    # AND once Redis is back, messages are accepted and stored again
    assert ingest(cloud, base64_payload(1024)).execution["status"] == "SUCCEEDED"


def test_with_redis_full_the_request_is_refused_with_503_and_salvaged_and_nothing_held_is_evicted(
    cloud: LocalCloud,
) -> None:
    # GIVEN the audit Redis holds an earlier payload and is full, evicting nothing (noeviction, as the
    # ElastiCache group's parameter group sets it; its limit is lowered under what it already uses)
    held = f"audit:payload:e2e-held-{uuid.uuid4()}"
    payload = base64_payload(4096)
    with redis_client(cloud) as client:
        original = {**client.config_get("maxmemory"), **client.config_get("maxmemory-policy")}
        client.set(held, b"held before the store filled up", ex=3_600)
        used_bytes = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", used_bytes // 2)
        try:
            # WHEN a producer posts a message
            response = post(cloud, sample_message(payload, message_type="audit.redis-full"))
        finally:
            client.config_set("maxmemory", original["maxmemory"])
            client.config_set("maxmemory-policy", original["maxmemory-policy"])
        # THEN the reply is 503 saying the store is full, when to retry, and a reference
        assert response.status == 503, response.body
        assert response.body["message"].startswith("audit store (Redis) is full: ")
        assert header(response, "Retry-After") == "5"
        reference = str(response.body["reference"])
        # AND the raw request is in failures/ with the payload, and the DLQ points at it
        record = failure_record(cloud, reference)
        assert record is not None and record["error"]["Error"] == "RedisFullError"
        assert salvaged_payload(record) == payload
        assert wait_for_dlq_notice(cloud, reference)["failureKey"] == record["failureKey"]
        # AND nothing was started for it, and what Redis held before is still there
        assert executions_named(cloud, reference) == []
        assert client.get(held) == b"held before the store filled up"
        client.delete(held)


def test_when_archiving_fails_the_workflow_fails_and_the_message_is_salvaged_to_s3_and_the_dlq(
    cloud: LocalCloud,
) -> None:
    # GIVEN the archive bucket refuses writes under archive/ (a bucket policy Deny; failures/ stays open)
    payload = base64_payload(8192)
    with archive_refused(cloud):
        # WHEN a message is posted and its workflow runs (its retries included) to the end
        ingested = ingest(cloud, payload, message_type="audit.archive-refused")
    message_id = ingested.message_id
    # THEN the execution failed
    assert ingested.response.status == 202
    assert ingested.execution["status"] == "FAILED"
    # AND the failure path kept the message and the payload it read back from Redis in failures/
    record = failure_record(cloud, message_id)
    assert record is not None
    assert record["source"] == "workflow"
    assert record["message"]["messageId"] == message_id
    assert record["message"]["checksum"] == payload_sha256(payload)
    assert record["error"]["Error"] == "PersistFailed"
    assert "(403) when calling the PutObject operation" in record["error"]["Cause"]
    assert salvaged_payload(record) == payload
    assert "sha256 matches" in record["payloadNote"]
    # AND the DLQ holds a notice for that message pointing at the object
    notice = wait_for_dlq_notice(cloud, message_id)
    assert notice["failureKey"] == record["failureKey"]
    assert notice["failureObjectStored"] is True
    # AND nothing was archived or announced as stored
    assert keys_of(cloud, message_id, ARCHIVE_PREFIX) == []
    assert published_final_state(cloud, message_id) is None


def test_the_same_idempotency_key_twice_gets_the_same_message_id_and_stores_and_runs_once(
    cloud: LocalCloud,
) -> None:
    # GIVEN a message accepted under an Idempotency-Key, its workflow finished
    key = f"e2e-{uuid.uuid4()}"
    message = sample_message(base64_payload(2048))
    first = post(cloud, message, idempotency_key=key)
    assert first.status == 202, first.body
    message_id = first.body["messageId"]
    assert wait_for_execution(cloud, message_id)["status"] == "SUCCEEDED"
    # WHEN the producer retries the same request with the same key
    again = post(cloud, message, idempotency_key=key)
    # THEN it gets the same reply: the first message id
    assert again.status == 202, again.body
    assert again.body == {"messageId": message_id, "status": "accepted"}
    # AND the payload was archived once (one object, one version) by one execution
    archived = keys_of(cloud, message_id, ARCHIVE_PREFIX)
    assert len(archived) == 1
    assert len(object_versions(cloud, archived[0])) == 1
    assert len(executions_named(cloud, message_id)) == 1
    # AND the retry put nothing back in Redis
    assert not redis_holds(cloud, message_id)


def test_the_cli_posts_each_message_and_prints_202_accepted_per_message(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the SDK's credentials and endpoint are localcloud's (as README's `up` prints them)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.emulator.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", cloud.exports["regions"][0])
    # WHEN the seed's client posts two 1 KB messages, signed as the audit caller role
    code = audit_client.main(
        [
            *("--url", cloud.exports["auditUrl"], "--count", "2", "--size", "1024"),
            *("--role-arn", cloud.exports["auditCallerRoleArn"]),
        ]
    )
    # THEN it exits 0 and prints one "202 accepted" line per message, each with its own id
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    ids = [match.group(1) for line in lines if (match := re.fullmatch(r"202 accepted messageId=(\S+)", line))]
    assert len(lines) == len(ids) == 2, lines
    assert len(set(ids)) == 2
    # AND both messages go through the workflow
    assert [wait_for_execution(cloud, message_id)["status"] for message_id in ids] == ["SUCCEEDED"] * 2


def test_a_body_over_the_stack_limit_is_refused_with_413_naming_the_limit_and_nothing_is_stored(
    cloud: LocalCloud,
) -> None:
    # GIVEN the stack's limit (auditMaxBodyBytes) and a body just over it, under the front door's 6 MiB
    limit = int(cloud.config["regionflow:auditMaxBodyBytes"])
    body = json.dumps(sample_message(base64_payload(limit - limit % 4 + 100_000))).encode("utf-8")
    assert limit < len(body) < FRONT_DOOR_MAX_BODY
    before = stored_state(cloud)
    # WHEN it is posted
    response = post(cloud, body)
    # THEN the function refuses it with 413 and a message naming the limit
    assert response.status == 413, response.body
    assert response.body["error"] == "payload_too_large"
    assert f"the limit is {limit} bytes" in response.body["message"]
    # AND nothing was stored or started
    assert stored_state(cloud) == before


def test_a_6_5_mb_body_is_refused_with_413_at_the_front_door_and_nothing_is_stored(cloud: LocalCloud) -> None:
    # GIVEN a 6.5 MB body: over Lambda's 6 MiB synchronous payload limit
    body = json.dumps(sample_message(base64_payload(6_500_000))).encode("utf-8")
    assert len(body) > FRONT_DOOR_MAX_BODY
    before = stored_state(cloud)
    # WHEN it is posted
    response = post(cloud, body)
    # THEN the front door refuses it with 413 before the function runs (its message is the front
    # door's own: Lambda's generic "Request Entity Too Large", which names no limit)
    assert response.status == 413, response.body
    assert "Too Large" in response.body["message"]
    # AND nothing was stored or started
    assert stored_state(cloud) == before


def test_a_json_payload_is_stored_as_compact_json_and_announced_with_the_documented_fields(
    cloud: LocalCloud,
) -> None:
    # GIVEN a payload that is a JSON value, not base64 text
    payload = {"invoice": 42, "lines": ["a", "b"], "note": "opaque to the API"}
    compact = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    # WHEN it is posted and its workflow finishes
    ingested = ingest(cloud, payload)
    assert ingested.execution["status"] == "SUCCEEDED"
    # THEN the archive holds its compact JSON and the checksum is that text's sha256
    (key,) = keys_of(cloud, ingested.message_id, ARCHIVE_PREFIX)
    assert object_bytes(cloud, key) == compact
    # AND the published final state has exactly the documented fields
    final = wait_for_final_state(cloud, ingested.message_id)
    assert set(final) == {
        "messageId",
        "persistedInS3",
        "metadataPersisted",
        "storage",
        "checksum",
        "metadata",
    }
    assert final["storage"]["flags"] == {"persistedInS3": True, "metadataPersisted": True}
    assert final["checksum"] == hashlib.sha256(compact).hexdigest()
