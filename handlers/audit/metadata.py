"""Workflow task: record a message's metadata row (who, what, when, checksum, where) in DynamoDB.

Event: the internal message. The write is conditional: a retry of the same message (same checksum)
succeeds again, while a different message under an existing id is refused rather than overwriting it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.audit.contract import METADATA_TABLE_KEY, MetadataSettings
from handlers.audit.message import validate_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = Logger(service="audit-metadata")
tracer = Tracer(service="audit-metadata")
metrics = Metrics(namespace="regionflow", service="audit-metadata")

# The queryable copies of the required metadata fields; the whole map is kept beside them.
TOP_LEVEL_METADATA_FIELDS = ("sourceSystem", "messageType", "producerTimestamp")


class MessageIdConflictError(Exception):
    """A row for this message id exists and records a different payload."""


class TableMismatchError(Exception):
    """The message names a metadata table other than the one this function writes to."""


@functools.cache
def metadata_table() -> Table:
    """The boto3 Table built on first use (not at import) so tests can import the module under moto."""
    settings = MetadataSettings.from_environment(os.environ)
    return boto3.resource("dynamodb").Table(settings.metadata_table)


def _dynamodb_value(value: Any) -> Any:
    # boto3 refuses Python floats for DynamoDB numbers; JSON numbers become Decimal exactly as written.
    return json.loads(json.dumps(value), parse_float=Decimal)


def metadata_item(message: Mapping[str, Any]) -> dict[str, Any]:
    storage = message["storage"]
    metadata = message["metadata"]
    item: dict[str, Any] = {
        METADATA_TABLE_KEY: message["messageId"],
        "receivedAt": message["securityContext"]["receivedAt"],
        **{name: metadata[name] for name in TOP_LEVEL_METADATA_FIELDS},
        "metadata": metadata,
        "checksum": message["checksum"],
        "sizeBytes": message["sizeBytes"],
        "securityContext": message["securityContext"],
        "storage": {"redisKey": storage["redisKey"], "s3": storage["s3"]},
    }
    return {name: _dynamodb_value(value) for name, value in item.items()}


@tracer.capture_method
def record_metadata(event: Mapping[str, Any], *, table: Table) -> dict[str, Any]:
    """{"metadataPersisted": True, "table", "key"}; raises MessageIdConflictError, TableMismatchError,
    InvalidMessageError."""
    message = validate_message(event)
    message_id = message["messageId"]
    named_table = message["storage"]["dynamodb"]["table"]
    if named_table != table.name:
        raise TableMismatchError(
            f"message {message_id} names metadata table {named_table!r} but this function writes to "
            f"{table.name!r} (METADATA_TABLE); the ingest API and this function must share one stack's "
            "settings"
        )
    try:
        table.put_item(
            Item=metadata_item(message),
            ConditionExpression=f"attribute_not_exists({METADATA_TABLE_KEY}) OR checksum = :checksum",
            ExpressionAttributeValues={":checksum": message["checksum"]},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raise MessageIdConflictError(
            f"table {table.name} already holds a row for message {message_id} with another checksum "
            f"(this message's is {message['checksum']}); the existing row was kept"
        ) from error
    return {"metadataPersisted": True, "table": table.name, "key": {METADATA_TABLE_KEY: message_id}}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = record_metadata(event, table=metadata_table())
    logger.info("metadata recorded", extra={"messageId": event.get("messageId"), "table": result["table"]})
    metrics.add_metric(name="AuditMetadataRecorded", unit=MetricUnit.Count, value=1)
    return result
