"""Failure path: a message the workflow could not store is kept in S3 (failures/) and announced on the DLQ."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from handlers.audit import ingest_failure
from handlers.audit.salvage import SalvageFailedError

from ..conftest import FakeLambdaContext, load_event
from .conftest import ARCHIVE_BUCKET, AuditCloud

PAYLOAD = b"eyJldmVudCI6ImxvZ2luIiwidXNlciI6ImFsaWNlIn0="
FAILURE_KEY = "failures/2024/06/01/0f9a2b4c-6d8e-4f10-a2b3-c4d5e6f7a8b9.json"

# A task that raises publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def failure_event() -> dict[str, Any]:
    return load_event("audit_ingest_failure_input.json")


def salvage(event: dict[str, Any]) -> dict[str, Any]:
    return dict(ingest_failure.lambda_handler(event, FakeLambdaContext()))


def test_a_failed_message_is_salvaged_with_its_payload_from_redis(audit_cloud: AuditCloud) -> None:
    # GIVEN a message whose archive failed, its payload still in Redis
    event = failure_event()
    audit_cloud.redis.set(event["message"]["storage"]["redisKey"], PAYLOAD)
    # WHEN the failure task runs
    outcome = salvage(event)
    # THEN it reports the salvage, keyed by the message's receipt date and id
    assert outcome == {"salvaged": True, "failureKey": FAILURE_KEY, "storedInS3": True, "queued": True}
    # AND S3 holds the message, the error and the payload, encrypted
    document = audit_cloud.object_json(FAILURE_KEY)
    assert document["message"] == event["message"] and document["error"] == event["error"]
    assert base64.b64decode(document["payload"]) == PAYLOAD
    assert "sha256 matches" in document["payloadNote"]
    head = audit_cloud.s3.head_object(Bucket=ARCHIVE_BUCKET, Key=FAILURE_KEY)
    assert head["ServerSideEncryption"] == "AES256"
    # AND the DLQ has the same record without the payload, pointing at the object
    [notice] = audit_cloud.dlq_messages()
    assert "payload" not in notice
    assert notice["message"] == event["message"] and notice["error"] == event["error"]
    assert (notice["failureBucket"], notice["failureKey"], notice["failureObjectStored"]) == (
        ARCHIVE_BUCKET,
        FAILURE_KEY,
        True,
    )


def test_without_redis_the_message_is_salvaged_and_the_payload_noted_unread(audit_cloud: AuditCloud) -> None:
    # GIVEN Redis is unreachable
    audit_cloud.redis_down()
    # WHEN the failure task runs
    outcome = salvage(failure_event())
    # THEN the message and error are kept, and the record says why the payload is not
    assert outcome["salvaged"] is True and outcome["storedInS3"] and outcome["queued"]
    document = audit_cloud.object_json(FAILURE_KEY)
    assert document["payload"] is None
    assert document["payloadNote"].startswith("payload not read: audit store (Redis) at redis://127.0.0.1:")
    [notice] = audit_cloud.dlq_messages()
    assert notice["payloadNote"] == document["payloadNote"]


def test_a_payload_already_gone_from_redis_is_noted(audit_cloud: AuditCloud) -> None:
    salvage(failure_event())
    document = audit_cloud.object_json(FAILURE_KEY)
    assert document["payload"] is None and "no longer in Redis" in document["payloadNote"]


def test_a_payload_that_no_longer_matches_its_checksum_is_kept_and_flagged(audit_cloud: AuditCloud) -> None:
    event = failure_event()
    audit_cloud.redis.set(event["message"]["storage"]["redisKey"], b"changed")
    salvage(event)
    document = audit_cloud.object_json(FAILURE_KEY)
    assert base64.b64decode(document["payload"]) == b"changed"
    assert "does NOT match" in document["payloadNote"]


def test_an_error_merged_into_the_message_is_accepted_too(audit_cloud: AuditCloud) -> None:
    # GIVEN a Catch that put the error beside the message's fields (ResultPath "$.error")
    event = failure_event()
    merged = {**event["message"], "error": event["error"]}
    # WHEN the failure task runs
    outcome = salvage(merged)
    # THEN the same record is kept
    assert outcome["failureKey"] == FAILURE_KEY
    assert audit_cloud.object_json(FAILURE_KEY)["message"] == event["message"]


def test_when_s3_fails_the_dlq_notice_says_so(
    audit_cloud: AuditCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the failures bucket cannot be written
    monkeypatch.setenv("ARCHIVE_BUCKET", "regionflow-audit-missing")
    ingest_failure.dependencies.cache_clear()
    # WHEN the failure task runs
    outcome = salvage(failure_event())
    # THEN the notice still reaches the DLQ, saying the object was not stored and why
    assert outcome["storedInS3"] is False and outcome["queued"] is True
    [notice] = audit_cloud.dlq_messages()
    assert notice["failureObjectStored"] is False
    assert "NoSuchBucket" in notice["salvageProblems"][0]


def test_when_both_s3_and_the_dlq_fail_the_task_raises(
    audit_cloud: AuditCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN neither the bucket nor the queue exists
    monkeypatch.setenv("ARCHIVE_BUCKET", "regionflow-audit-missing")
    monkeypatch.setenv("DLQ_URL", audit_cloud.dlq_url + "-missing")
    ingest_failure.dependencies.cache_clear()
    # WHEN the failure task runs
    # THEN it raises naming the message and both failures: nothing is swallowed
    with pytest.raises(
        SalvageFailedError, match=r"0f9a2b4c-6d8e-4f10-a2b3-c4d5e6f7a8b9 could not be salvaged"
    ) as raised:
        salvage(failure_event())
    assert "NoSuchBucket" in str(raised.value) and "sending the notice" in str(raised.value)
