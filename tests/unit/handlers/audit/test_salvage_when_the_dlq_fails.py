"""Salvage with the DLQ down: the S3 copy is the message kept, so the answer is given and nothing is lost.

handlers/audit/salvage.py writes the failures object and the DLQ notice whatever happens to the other and
leaves it to the caller to judge a partial salvage. Both callers judge one with the object stored as kept:
the document in failures/ holds everything (body or payload, error, security context), while the notice
is only a pointer to it. A DLQ outage must therefore neither change the client's answer nor fail the
workflow's failure path (whose retry would start the salvage over); it is logged and counted
(AuditSalvageIncomplete) so that the missing notice is alarmed and looked for in failures/.
"""

from __future__ import annotations

import base64
import json

import pytest

from handlers.audit import ingest_api, ingest_failure

from ..conftest import FakeLambdaContext, load_event
from .conftest import ARCHIVE_BUCKET, AuditCloud, audit_post, audit_request, post

FAILURE_KEY = "failures/2024/06/01/0f9a2b4c-6d8e-4f10-a2b3-c4d5e6f7a8b9.json"
PAYLOAD = b"eyJldmVudCI6ImxvZ2luIiwidXNlciI6ImFsaWNlIn0="


def dlq_is_gone(cloud: AuditCloud) -> None:
    """Point both functions at a queue that does not exist: SQS refuses every send, as during an outage
    or after the queue was deleted."""
    cloud.monkeypatch.setenv("DLQ_URL", cloud.dlq_url + "-gone")
    ingest_api.dependencies.cache_clear()
    ingest_failure.dependencies.cache_clear()


def incomplete_salvages(stdout: str) -> list[float]:
    """The AuditSalvageIncomplete data points of the embedded-metric (EMF) blobs Powertools printed."""
    blobs = [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]
    return [value for blob in blobs for value in blob.get("AuditSalvageIncomplete", [])]


def test_a_refused_request_whose_dlq_notice_fails_is_answered_503_and_kept_in_s3(
    audit_cloud: AuditCloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The client's answer does not depend on the notice: 503 (not accepted, retry) with the reference of
    the request kept in failures/. A raise here would reach API Gateway as a bare 500 that names neither
    the problem nor the copy that exists."""
    # GIVEN Redis is unreachable, so the request is refused and salvaged, and the DLQ refuses every send
    audit_cloud.redis_down()
    dlq_is_gone(audit_cloud)
    event = audit_post(audit_request("must not be lost", tenant="acme"))
    # WHEN a record is posted
    status, reply, headers = post(event)
    # THEN the client still gets the 503 naming the store, with Retry-After and the request's reference
    assert (status, reply["error"]) == (503, "unavailable")
    assert reply["message"] == (
        "audit store (Redis) unavailable: the request was not accepted and nothing was started; retry later"
    )
    assert headers.get("Retry-After") == "5"
    # AND the raw request is in S3 under failures/, named by that reference, saying its notice is missing
    [key] = audit_cloud.keys("failures/")
    assert key.endswith(f"/{reply['reference']}.json")
    salvaged = audit_cloud.object_json(key)
    assert base64.b64decode(salvaged["body"]) == event["body"].encode("utf-8")
    assert salvaged["error"]["Error"] == "RedisUnavailableError"
    # AND nothing reached the queue, and nothing was started
    assert audit_cloud.dlq_messages() == [] and audit_cloud.executions() == []
    # AND the partial salvage is logged with what failed, and counted for the alarm
    [logged] = [record for record in caplog.records if record.getMessage() == "request salvage incomplete"]
    # Powertools' extra keys are attributes of the record.
    extra = vars(logged)
    assert (extra["messageId"], extra["storedInS3"], extra["queued"]) == (reply["reference"], True, False)
    assert "sending the notice to" in extra["problems"][0]
    assert incomplete_salvages(capsys.readouterr().out) == [1.0]


def test_a_workflow_failure_whose_dlq_notice_fails_is_kept_in_s3_and_the_task_succeeds(
    audit_cloud: AuditCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """The failure task raises only when nothing at all was written (salvage_or_raise): with the document
    in S3 the message is kept, so the task reports what it managed (queued False) instead of failing the
    execution, and the missing notice is counted."""
    # GIVEN a message whose archive failed, its payload still in Redis, and a DLQ that refuses every send
    event = load_event("audit_ingest_failure_input.json")
    audit_cloud.redis.set(event["message"]["storage"]["redisKey"], PAYLOAD)
    dlq_is_gone(audit_cloud)
    # WHEN the failure task runs
    outcome = ingest_failure.lambda_handler(event, FakeLambdaContext())
    # THEN it reports the salvage: stored in S3, not queued
    assert outcome == {"salvaged": True, "failureKey": FAILURE_KEY, "storedInS3": True, "queued": False}
    # AND S3 holds the message, its error and its payload, encrypted
    document = audit_cloud.object_json(FAILURE_KEY)
    assert document["message"] == event["message"] and document["error"] == event["error"]
    assert base64.b64decode(document["payload"]) == PAYLOAD
    head = audit_cloud.s3.head_object(Bucket=ARCHIVE_BUCKET, Key=FAILURE_KEY)
    assert head["ServerSideEncryption"] == "AES256"
    # AND the missing notice is counted for the alarm
    assert audit_cloud.dlq_messages() == []
    assert incomplete_salvages(capsys.readouterr().out) == [1.0]
