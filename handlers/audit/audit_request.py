"""The POST /audit request body: size limit, JSON (and its nesting), schema, and the payload bytes it
stands for.

Every check here runs before anything is written, so a rejected request leaves nothing behind.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.validation import SchemaValidationError

from handlers.http_request import RequestRejectedError, json_depth, parse_json_body
from handlers.json_schema import CompiledSchema

# Metadata travels in the workflow's state (256 KB for all of it) and in one DynamoDB item (400 KB):
# large content belongs in the payload.
MAX_METADATA_BYTES = 32 * 1024
# The metadata map is one attribute of the metadata row, and DynamoDB nests attributes 32 levels deep at
# most: deeper metadata would be accepted here and fail in the workflow. Half that is more than any
# producer's metadata needs; deep structures belong in the (opaque) payload.
MAX_METADATA_DEPTH = 16
MAX_IDEMPOTENCY_KEY_CHARS = 255

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["payload", "metadata"],
    "properties": {
        "payload": {"not": {"type": "null"}},
        "metadata": {
            "type": "object",
            "required": ["sourceSystem", "messageType", "producerTimestamp"],
            "properties": {
                "sourceSystem": {"type": "string", "minLength": 1, "maxLength": 256},
                "messageType": {"type": "string", "minLength": 1, "maxLength": 256},
                # RFC 3339: an audit timestamp without a zone is ambiguous.
                "producerTimestamp": {"type": "string", "format": "date-time"},
            },
        },
    },
}
REQUEST_SCHEMA_CHECK = CompiledSchema(REQUEST_SCHEMA)
REQUEST_SHAPE = (
    '{"payload": <base64 string or any JSON>, "metadata": {"sourceSystem": "...", "messageType": "...", '
    '"producerTimestamp": "2024-06-01T10:00:00Z"}}'
)


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON escapes can smuggle in lone surrogates, which no UTF-8 byte sequence represents.
        raise RequestRejectedError(
            400, "invalid_text", f"{what} is not valid Unicode text ({error})"
        ) from error


def parse_request(body: bytes) -> dict[str, Any]:
    """The request document, validated against REQUEST_SCHEMA; 400 names the first problem (including
    JSON nested deeper than MAX_JSON_DEPTH, refused before it is parsed)."""
    document = parse_json_body(body, expected=REQUEST_SHAPE)
    try:
        REQUEST_SCHEMA_CHECK.validate(document)
    except SchemaValidationError as error:
        problem = str(error.validation_message or error).replace("data", "body", 1)
        raise RequestRejectedError(
            400, "invalid_request", f"{problem}; send {REQUEST_SHAPE} (extra metadata keys are allowed)"
        ) from error
    metadata_json = json.dumps(document["metadata"], separators=(",", ":"), ensure_ascii=False)
    metadata_bytes = len(_utf8(metadata_json, "metadata"))
    if metadata_bytes > MAX_METADATA_BYTES:
        raise RequestRejectedError(
            400,
            "metadata_too_large",
            f"metadata is {metadata_bytes} bytes as JSON; keep it under {MAX_METADATA_BYTES} bytes and put "
            "large content in the payload",
        )
    depth = json_depth(metadata_json)
    if depth > MAX_METADATA_DEPTH:
        raise RequestRejectedError(
            400,
            "metadata_too_deep",
            f"metadata nests {depth} levels of objects and arrays; keep it within {MAX_METADATA_DEPTH} and "
            "put deeper structures in the payload",
        )
    return dict(document)


def payload_bytes(payload: Any) -> bytes:
    """A string payload's UTF-8 bytes (base64 stays as sent: the payload is opaque); else compact JSON."""
    if isinstance(payload, str):
        return _utf8(payload, "the payload")
    return _utf8(json.dumps(payload, separators=(",", ":"), ensure_ascii=False), "the payload")


def check_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_CHARS or not value.isprintable() or not value.isascii():
        raise RequestRejectedError(
            400,
            "invalid_idempotency_key",
            f"the Idempotency-Key header must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters "
            "(a UUID is a good choice)",
        )
    return value
