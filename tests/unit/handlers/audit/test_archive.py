"""Archive task: the payload from Redis to S3, byte for byte, encrypted, checksum verified."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from handlers.audit import archive
from handlers.audit.archive import ChecksumMismatchError, archive_payload
from handlers.audit.message import InvalidMessageError
from handlers.audit.redis_store import PayloadNotFoundError

from ..conftest import FakeLambdaContext, load_event
from .conftest import ARCHIVE_BUCKET, AuditCloud

SAMPLE_PAYLOAD = b"eyJldmVudCI6ImxvZ2luIiwidXNlciI6ImFsaWNlIn0="

# A task that raises publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def sample_message(payload: bytes = SAMPLE_PAYLOAD) -> dict[str, Any]:
    """tests/events/audit_internal_message.json, with the checksum and size of `payload`."""
    message = load_event("audit_internal_message.json")
    message["checksum"] = hashlib.sha256(payload).hexdigest()
    message["sizeBytes"] = len(payload)
    return message


def test_the_sample_message_is_archived_byte_identical_with_sse_and_its_checksum(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN the sample message and its payload in Redis
    message = load_event("audit_internal_message.json")
    audit_cloud.redis.set(message["storage"]["redisKey"], SAMPLE_PAYLOAD)
    # WHEN the archive task runs
    result = archive.lambda_handler(message, FakeLambdaContext())
    # THEN the object holds exactly the payload, encrypted, tagged with the message and its checksum
    key = message["storage"]["s3"]["key"]
    assert audit_cloud.object_bytes(key) == SAMPLE_PAYLOAD
    head = audit_cloud.s3.head_object(Bucket=ARCHIVE_BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {"message-id": message["messageId"], "checksum-sha256": message["checksum"]}
    # AND the task reports where, which version and how much
    assert result == {
        "persistedInS3": True,
        "bucket": ARCHIVE_BUCKET,
        "key": key,
        "versionId": head["VersionId"],
        "sizeBytes": len(SAMPLE_PAYLOAD),
    }
    # AND the payload stays in Redis until the aggregate step releases it
    assert audit_cloud.redis.exists(message["storage"]["redisKey"]) == 1


def test_a_retry_overwrites_the_same_key(audit_cloud: AuditCloud) -> None:
    # GIVEN a message archived once
    message = sample_message()
    audit_cloud.redis.set(message["storage"]["redisKey"], SAMPLE_PAYLOAD)
    first = archive_payload(message, store=archive.dependencies().store, s3=audit_cloud.s3)
    # WHEN the task is retried
    second = archive_payload(message, store=archive.dependencies().store, s3=audit_cloud.s3)
    # THEN the same key holds the same bytes (one object, a new version)
    assert first["key"] == second["key"] and audit_cloud.keys() == [first["key"]]
    assert audit_cloud.object_bytes(first["key"]) == SAMPLE_PAYLOAD


def test_a_payload_missing_from_redis_fails_naming_the_key_and_message(audit_cloud: AuditCloud) -> None:
    # GIVEN a message whose payload is not (or no longer) in Redis
    message = sample_message()
    # WHEN the archive task runs
    # THEN it raises PayloadNotFoundError naming both, and writes nothing
    with pytest.raises(PayloadNotFoundError) as raised:
        archive.lambda_handler(message, FakeLambdaContext())
    assert message["messageId"] in str(raised.value) and message["storage"]["redisKey"] in str(raised.value)
    assert audit_cloud.keys() == []


def test_a_payload_that_does_not_match_its_checksum_fails_and_writes_nothing(audit_cloud: AuditCloud) -> None:
    # GIVEN a payload in Redis changed after ingest
    message = sample_message()
    audit_cloud.redis.set(message["storage"]["redisKey"], SAMPLE_PAYLOAD + b"tampered")
    # WHEN the archive task runs
    # THEN it raises ChecksumMismatchError with both checksums, and writes nothing
    with pytest.raises(ChecksumMismatchError) as raised:
        archive.lambda_handler(message, FakeLambdaContext())
    assert message["checksum"] in str(raised.value)
    assert hashlib.sha256(SAMPLE_PAYLOAD + b"tampered").hexdigest() in str(raised.value)
    assert audit_cloud.keys() == []


@pytest.mark.parametrize("missing", ["messageId", "checksum", "storage"])
def test_an_event_that_is_not_an_audit_message_is_refused_clearly(
    audit_cloud: AuditCloud, missing: str
) -> None:
    message = copy.deepcopy(sample_message())
    del message[missing]
    with pytest.raises(InvalidMessageError, match=rf"not an audit message: message must contain .*{missing}"):
        archive.lambda_handler(message, FakeLambdaContext())
