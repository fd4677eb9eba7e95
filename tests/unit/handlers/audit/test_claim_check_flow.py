"""The claim-check end to end through the handlers (the workflow's steps called in its order): a 5 MB
payload in, a byte-identical archive, a metadata row, both flags true, Redis released; and the failure
path keeping the same bytes when archiving fails."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from handlers.audit import aggregate, archive, ingest_failure, metadata

from ..conftest import FakeLambdaContext
from .conftest import ARCHIVE_BUCKET, REGION, AuditCloud, audit_post, audit_request, post

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def five_mb_payload() -> str:
    """A 5 MiB base64 string, as a producer sends binary content (3.75 MiB of random bytes)."""
    payload = base64.b64encode(os.urandom(FIVE_MB * 3 // 4)).decode("ascii")
    assert len(payload) == FIVE_MB
    return payload


def accepted_message(cloud: AuditCloud, payload: str) -> dict[str, Any]:
    status, reply, _ = post(audit_post(audit_request(payload)))
    assert status == 202
    message = cloud.only_execution_input()
    assert message["messageId"] == reply["messageId"]
    return message


def test_a_5_mb_payload_is_archived_byte_identical_and_released_from_redis(
    audit_cloud: AuditCloud, five_mb_payload: str
) -> None:
    # GIVEN a 5 MB payload accepted by the API
    message = accepted_message(audit_cloud, five_mb_payload)
    expected = five_mb_payload.encode("ascii")
    assert message["sizeBytes"] == FIVE_MB and message["checksum"] == hashlib.sha256(expected).hexdigest()
    assert audit_cloud.redis.strlen(message["storage"]["redisKey"]) == FIVE_MB
    # WHEN the workflow's steps run: archive and metadata (the Parallel), then aggregate
    context = FakeLambdaContext()
    results = [archive.lambda_handler(message, context), metadata.lambda_handler(message, context)]
    final = aggregate.lambda_handler({"message": message, "results": results}, context)
    # THEN the archived object is byte-identical to the payload, encrypted
    key = message["storage"]["s3"]["key"]
    assert audit_cloud.object_bytes(key) == expected
    head = audit_cloud.s3.head_object(Bucket=ARCHIVE_BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == FIVE_MB
    # AND the metadata row has the security context and checksum
    [row] = audit_cloud.metadata_rows()
    assert row["checksum"] == message["checksum"] and row["securityContext"] == message["securityContext"]
    # AND the final state says both copies are safe, with the archive's version
    assert final["persistedInS3"] is True and final["metadataPersisted"] is True
    assert final["storage"]["s3"] == {"bucket": ARCHIVE_BUCKET, "key": key, "versionId": head["VersionId"]}
    # AND the Redis copy is gone
    assert audit_cloud.redis.exists(message["storage"]["redisKey"]) == 0


def test_when_archiving_fails_the_failure_path_keeps_the_same_bytes(
    audit_cloud: AuditCloud, five_mb_payload: str
) -> None:
    # GIVEN an accepted 5 MB message, and S3 refusing the archive write
    message = accepted_message(audit_cloud, five_mb_payload)
    refusing_s3 = boto3.client("s3", region_name=REGION)
    stubber = Stubber(refusing_s3)
    stubber.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
    context = FakeLambdaContext()
    with stubber, pytest.raises(ClientError, match="AccessDenied") as refused:
        archive.archive_payload(message, store=archive.dependencies().store, s3=refusing_s3)
    error = {"Error": "ClientError", "Cause": str(refused.value)}
    assert audit_cloud.keys("archive/") == []
    # WHEN the workflow's Catch hands the message and error to the failure path
    outcome = ingest_failure.lambda_handler({"message": message, "error": error}, context)
    # THEN the failures object holds the payload byte for byte, and the DLQ points at it
    document = audit_cloud.object_json(outcome["failureKey"])
    assert base64.b64decode(document["payload"]) == five_mb_payload.encode("ascii")
    assert document["error"] == error
    [notice] = audit_cloud.dlq_messages()
    assert notice["failureKey"] == outcome["failureKey"] and notice["messageId"] == message["messageId"]
