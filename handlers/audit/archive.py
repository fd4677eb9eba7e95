"""Workflow task: copy a message's payload from Redis to its archive object in S3, checksum verified.

Event: the internal message. A retry writes the same bytes to the same key (a new version in a
versioned bucket), so it is safe; Redis keeps the payload until the aggregate step releases it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.audit import redis_store
from handlers.audit.message import validate_message
from handlers.audit.redis_store import PayloadStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(service="audit-archive")
tracer = Tracer(service="audit-archive")
metrics = Metrics(namespace="regionflow", service="audit-archive")


class ChecksumMismatchError(Exception):
    """The bytes in Redis are not the bytes the ingest API accepted."""


@dataclass(frozen=True)
class ArchiveDependencies:
    store: PayloadStore
    s3: S3Client


@functools.cache
def dependencies() -> ArchiveDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    return ArchiveDependencies(store=redis_store.from_environment(), s3=boto3.client("s3"))


@tracer.capture_method
def archive_payload(event: Mapping[str, Any], *, store: PayloadStore, s3: S3Client) -> dict[str, Any]:
    """{"persistedInS3": True, "bucket", "key", "versionId" (versioned buckets), "sizeBytes"}.

    Raises PayloadNotFoundError, ChecksumMismatchError, InvalidMessageError, RedisUnavailableError.
    """
    message = validate_message(event)
    message_id = message["messageId"]
    redis_key = message["storage"]["redisKey"]
    target = message["storage"]["s3"]
    payload = store.require(redis_key, message_id=message_id)
    digest = hashlib.sha256(payload).digest()
    if digest.hex() != message["checksum"]:
        raise ChecksumMismatchError(
            f"payload of message {message_id} at Redis key {redis_key!r} has sha256 {digest.hex()} "
            f"({len(payload)} bytes) but the message says {message['checksum']} ({message['sizeBytes']} "
            "bytes); it was changed after ingest: nothing was archived"
        )
    response = s3.put_object(
        Bucket=target["bucket"],
        Key=target["key"],
        Body=payload,
        ContentType="application/octet-stream",
        ServerSideEncryption="AES256",
        # S3 verifies the upload against this, so a corrupted transfer fails instead of being archived.
        ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
        Metadata={"message-id": message_id, "checksum-sha256": message["checksum"]},
    )
    result: dict[str, Any] = {
        "persistedInS3": True,
        "bucket": target["bucket"],
        "key": target["key"],
        "sizeBytes": len(payload),
    }
    if response.get("VersionId"):
        result["versionId"] = response["VersionId"]
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    result = archive_payload(event, store=deps.store, s3=deps.s3)
    logger.info("payload archived", extra={"messageId": event.get("messageId"), **result})
    metrics.add_metric(name="AuditArchived", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="AuditArchivedBytes", unit=MetricUnit.Bytes, value=result["sizeBytes"])
    return result
