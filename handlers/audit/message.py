"""The internal audit message: what the ingest API hands the workflow, and where each copy of it lives.

The message never carries the payload (Step Functions state is limited to 256 KB): it carries the
payload's checksum and size, and a storage context naming the Redis key that holds the bytes until they
are archived, the S3 object they are archived to, and the DynamoDB row that records them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

from aws_lambda_powertools.utilities.validation import SchemaValidationError

from handlers.audit.contract import ARCHIVE_PREFIX, FAILURES_PREFIX, METADATA_TABLE_KEY
from handlers.audit.redis_store import payload_key
from handlers.json_schema import CompiledSchema


class S3Location(TypedDict):
    bucket: str
    key: str


class DynamoDBLocation(TypedDict):
    table: str
    key: dict[str, str]


class PersistenceFlags(TypedDict):
    persistedInS3: bool
    metadataPersisted: bool


class StorageContext(TypedDict):
    redisKey: str
    s3: S3Location
    dynamodb: DynamoDBLocation
    flags: PersistenceFlags


class InternalMessage(TypedDict):
    messageId: str
    metadata: dict[str, Any]
    checksum: str
    sizeBytes: int
    securityContext: dict[str, Any]
    storage: StorageContext


_LOCATION = {
    "type": "object",
    "required": ["bucket", "key"],
    "properties": {"bucket": {"type": "string", "minLength": 1}, "key": {"type": "string", "minLength": 1}},
}

MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["messageId", "metadata", "checksum", "sizeBytes", "securityContext", "storage"],
    "properties": {
        "messageId": {"type": "string", "minLength": 1},
        "metadata": {
            "type": "object",
            "required": ["sourceSystem", "messageType", "producerTimestamp"],
        },
        "checksum": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "sizeBytes": {"type": "integer", "minimum": 0},
        "securityContext": {
            "type": "object",
            "required": ["receivedAt"],
            "properties": {"receivedAt": {"type": "string", "format": "date-time"}},
        },
        "storage": {
            "type": "object",
            "required": ["redisKey", "s3", "dynamodb"],
            "properties": {
                "redisKey": {"type": "string", "minLength": 1},
                "s3": _LOCATION,
                "dynamodb": {
                    "type": "object",
                    "required": ["table", "key"],
                    "properties": {"table": {"type": "string", "minLength": 1}, "key": {"type": "object"}},
                },
            },
        },
    },
}
MESSAGE_SCHEMA_CHECK = CompiledSchema(MESSAGE_SCHEMA)


class InvalidMessageError(ValueError):
    """A workflow task was given something that is not the ingest API's internal message."""


def validate_message(event: Any, *, what: str = "the event") -> dict[str, Any]:
    """The message, checked against MESSAGE_SCHEMA; InvalidMessageError names the first problem."""
    try:
        MESSAGE_SCHEMA_CHECK.validate(event)
    except SchemaValidationError as error:
        problem = str(error.validation_message or error).replace("data", "message", 1)
        raise InvalidMessageError(
            f"{what} is not an audit message: {problem}; the workflow must pass the ingest API's "
            "internal message (see tests/events/audit_internal_message.json)"
        ) from error
    return dict(event)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_iso_ms(at: datetime) -> str:
    """2024-06-01T10:00:00.123Z: UTC, millisecond precision, as every audit timestamp is written."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _dated_key(prefix: str, message_id: str, received_at: datetime, suffix: str) -> str:
    day = received_at.astimezone(UTC)
    return f"{prefix}{day:%Y/%m/%d}/{message_id}{suffix}"


def archive_key(message_id: str, received_at: datetime) -> str:
    return _dated_key(ARCHIVE_PREFIX, message_id, received_at, ".bin")


def failure_key(message_id: str, received_at: datetime) -> str:
    return _dated_key(FAILURES_PREFIX, message_id, received_at, ".json")


def storage_context(
    message_id: str, received_at: datetime, *, archive_bucket: str, metadata_table: str
) -> StorageContext:
    return {
        "redisKey": payload_key(message_id),
        "s3": {"bucket": archive_bucket, "key": archive_key(message_id, received_at)},
        "dynamodb": {"table": metadata_table, "key": {METADATA_TABLE_KEY: message_id}},
        "flags": {"persistedInS3": False, "metadataPersisted": False},
    }


def build_message(
    *,
    message_id: str,
    metadata: Mapping[str, Any],
    payload: bytes,
    security_context: Mapping[str, Any],
    archive_bucket: str,
    metadata_table: str,
    received_at: datetime,
) -> InternalMessage:
    return {
        "messageId": message_id,
        "metadata": dict(metadata),
        "checksum": sha256_hex(payload),
        "sizeBytes": len(payload),
        "securityContext": dict(security_context),
        "storage": storage_context(
            message_id, received_at, archive_bucket=archive_bucket, metadata_table=metadata_table
        ),
    }


def received_at(message: Mapping[str, Any]) -> datetime:
    return parse_utc(str(message["securityContext"]["receivedAt"]))
