"""The batch-state global table: one item per input file name, the batch now being processed for it.

Item (key `fileKey`, the input object's key such as `input/sales.csv`):
    fileKey, versionId, fileId, bucket, region (the region processing it), status, executionName,
    startedAt, updatedAt (ISO-8601 UTC with milliseconds and Z), and etag when the S3 event carried one
    (the object's ETag without quotes: our local emulator's replicas get new version ids but keep it)
Written here by the trigger (status PROCESSING). The main workflow's own DynamoDB UpdateItem then sets
    on success: status=COMPLETED, outputKey, rows, invalidRows, missingFinancials, completedAt, updatedAt
    on failure: status=FAILED, reason, updatedAt
Reconciliation after a failover (handlers/batch/reconcile.py) finds unfinished files through the
`status-index` GSI (status, updatedAt) and marks the one it re-copies:
    reconciledAt, reconciledBy (the region re-copying it), reconciledVersionId (the version it copies)
Those attribute names are the contract between this module, the workflow and the reconciliation; the key,
the index and the statuses are declared in handlers/batch/contract.py.

One object version is one batch: re-uploading (or re-copying, as reconciliation does) the same name
makes a new version and so a new batch, which replaces the item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from handlers.batch import contract
from handlers.batch.contract import BATCH_STATE_KEY, NO_VERSION, STATUS_PROCESSING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_deserializer = TypeDeserializer()


def unquoted_etag(etag: str) -> str:
    """S3 events carry the ETag bare, the S3 API quoted ("9dd4..."): items store and compare it bare."""
    return etag.strip('"')


def timestamp(moment: datetime) -> str:
    """2024-06-01T10:00:02.123Z"""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Claim:
    """What claim_batch found.

    started: this call recorded a new batch (no item for the key, or another version): start its execution.
    processing_here: the batch is PROCESSING in the caller's region. When `started` is False this means a
        previous attempt claimed it; that attempt may have crashed before StartExecution, so the caller
        must make sure the execution exists (the deterministic name makes that safe).
    existing: the stored item when `started` is False.
    """

    file_id: str
    execution_name: str
    started: bool
    processing_here: bool
    existing: Mapping[str, Any] | None = None

    @property
    def needs_execution(self) -> bool:
        return self.started or self.processing_here


def item_from_condition_failure(table: Table, error: ClientError, key: str) -> dict[str, Any]:
    """The item that made a conditional write on `key` fail (asked for with
    ReturnValuesOnConditionCheckFailure=ALL_OLD); {} if there is none."""
    # botocore's error response type does not declare DynamoDB's "Item": check what it holds.
    low_level = error.response.get("Item")
    if isinstance(low_level, Mapping):
        # The Table resource does not deserialize error responses: the item is in {"S": ...} form.
        return {name: _deserializer.deserialize(value) for name, value in low_level.items()}
    # Emulators without ReturnValuesOnConditionCheckFailure: a consistent read sees the item that won.
    return dict(table.get_item(Key={BATCH_STATE_KEY: key}, ConsistentRead=True).get("Item") or {})


def claim_batch(
    table: Table,
    *,
    key: str,
    version_id: str | None,
    bucket: str,
    region: str,
    now: datetime,
    etag: str | None = None,
) -> Claim:
    """Record `key`@`version_id` as PROCESSING in `region`, unless that very version is already recorded.

    `table` is a boto3 DynamoDB Table resource; `etag` is stored (quotes stripped) when given. Raises on
    any DynamoDB error other than the condition.
    """
    version = version_id or NO_VERSION
    file_id = contract.file_id(key, version_id)
    name = contract.execution_name(file_id)
    stamp = timestamp(now)
    item = {
        BATCH_STATE_KEY: key,
        "versionId": version,
        "fileId": file_id,
        "bucket": bucket,
        "region": region,
        "status": STATUS_PROCESSING,
        "executionName": name,
        "startedAt": stamp,
        "updatedAt": stamp,
    }
    if etag:
        item["etag"] = unquoted_etag(etag)
    try:
        table.put_item(
            Item=item,
            ConditionExpression=f"attribute_not_exists({BATCH_STATE_KEY}) OR versionId <> :version",
            ExpressionAttributeValues={":version": version},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = item_from_condition_failure(table, error, key)
        return Claim(
            file_id=file_id,
            execution_name=name,
            started=False,
            processing_here=(
                existing.get("versionId") == version
                and existing.get("status") == STATUS_PROCESSING
                and existing.get("region") == region
            ),
            existing=existing,
        )
    return Claim(file_id=file_id, execution_name=name, started=True, processing_here=True)
