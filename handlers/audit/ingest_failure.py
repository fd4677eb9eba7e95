"""Workflow failure path: salvage a message the workflow could not store, to S3 (failures/) and the DLQ.

Event: {"message": <internal message>, "error": {"Error", "Cause"}} (the Catch's error output). The
payload is taken from Redis while it is still there; when it is gone or Redis is down the record says so.
The message may be malformed (that can be why the workflow failed), so only its id is needed.
"""

from __future__ import annotations

import base64
import functools
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.audit import redis_store
from handlers.audit.contract import SalvageSettings
from handlers.audit.message import failure_key, parse_utc, sha256_hex
from handlers.audit.redis_store import PayloadStore, RedisUnavailableError
from handlers.audit.salvage import salvage_or_raise

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = Logger(service="audit-ingest-failure")
tracer = Tracer(service="audit-ingest-failure")
metrics = Metrics(namespace="regionflow", service="audit-ingest-failure")


@dataclass(frozen=True)
class FailureDependencies:
    store: PayloadStore
    s3: S3Client
    sqs: SQSClient
    bucket: str
    dlq_url: str


@functools.cache
def dependencies() -> FailureDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = SalvageSettings.from_environment(os.environ)
    return FailureDependencies(
        store=redis_store.open_store(settings),
        s3=boto3.client("s3"),
        sqs=boto3.client("sqs"),
        bucket=settings.archive_bucket,
        dlq_url=settings.dlq_url,
    )


def _when(message: Mapping[str, Any]) -> datetime:
    """The message's receipt time (its failures key is dated like its archive key), else now."""
    try:
        return parse_utc(str(message["securityContext"]["receivedAt"]))
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def _payload(message: Mapping[str, Any], store: PayloadStore) -> tuple[bytes | None, str]:
    """(payload bytes or None, what happened) from the Redis key the message names."""
    storage = message.get("storage")
    redis_key = storage.get("redisKey") if isinstance(storage, Mapping) else None
    if not isinstance(redis_key, str) or not redis_key:
        return None, "the message names no Redis key"
    try:
        payload = store.get(redis_key)
    except RedisUnavailableError as error:
        return None, f"payload not read: {error}"
    if payload is None:
        return None, f"payload no longer in Redis at {redis_key!r} (expired or released)"
    if sha256_hex(payload) != message.get("checksum"):
        return payload, f"payload read from Redis at {redis_key!r}; its sha256 does NOT match the message"
    return payload, f"payload read from Redis at {redis_key!r}; sha256 matches the message"


@tracer.capture_method
def salvage_failed_message(
    event: Mapping[str, Any], *, store: PayloadStore, s3: S3Client, sqs: SQSClient, bucket: str, dlq_url: str
) -> dict[str, Any]:
    """{"salvaged": True, "failureKey", "storedInS3", "queued"}; raises SalvageFailedError when neither
    the failures object nor the DLQ notice could be written."""
    wrapped = event.get("message")
    # A Catch with ResultPath "$.error" on the message itself gives {...message, "error"}: accept both.
    message: Mapping[str, Any] = (
        wrapped if isinstance(wrapped, Mapping) else {k: v for k, v in event.items() if k != "error"}
    )
    message_id = str(message.get("messageId") or f"unidentified-{uuid.uuid4()}")
    payload, payload_note = _payload(message, store)
    key = failure_key(message_id, _when(message))
    document = {
        "source": "workflow",
        "messageId": message_id,
        "message": dict(message),
        "error": event.get("error"),
        "payloadNote": payload_note,
        "payloadEncoding": "base64",
        "payload": None if payload is None else base64.b64encode(payload).decode("ascii"),
    }
    result = salvage_or_raise(document, s3=s3, sqs=sqs, bucket=bucket, key=key, dlq_url=dlq_url)
    if not result.complete:
        logger.error(
            "salvage incomplete",
            extra={"messageId": message_id, "failureKey": key, "problems": list(result.problems)},
        )
        metrics.add_metric(name="AuditSalvageIncomplete", unit=MetricUnit.Count, value=1)
    return {"salvaged": True, "failureKey": key, "storedInS3": result.stored, "queued": result.queued}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    outcome = salvage_failed_message(
        event, store=deps.store, s3=deps.s3, sqs=deps.sqs, bucket=deps.bucket, dlq_url=deps.dlq_url
    )
    logger.warning("audit message salvaged", extra={"error": event.get("error"), **outcome})
    metrics.add_metric(name="AuditSalvaged", unit=MetricUnit.Count, value=1)
    return outcome
