"""After a failover: make the new active region process every file the old region did not finish.

Run by the failover runbook in the region that has just become active. It reads the unfinished batches
(PROCESSING and FAILED) from the batch-state table's `status-index` GSI and, for each one claimed by
another region, looks for that file in this region's bucket: the replica of the claimed version, by
version id (S3 replication keeps it) or else by ETag (our local emulator's replicas get new version ids).
Found, it copies that version in place: the new version raises the ObjectCreated event on which this
region's trigger claims and starts a new batch, which replaces the item.

Each run processes a file at most once. Before copying, a conditional UpdateItem marks the item
(reconciledAt, reconciledBy, reconciledVersionId) so a second or concurrent run leaves it alone; a failed
copy removes the mark again. A file not replicated yet is reported missing and left unmarked, so a later
run picks it up. A mark older than the Lambda timeout whose copy never landed (the run died in between)
is taken over, so a crash does not lose the file either.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from handlers.batch import contract
from handlers.batch.batch_state import item_from_condition_failure, timestamp, unquoted_etag
from handlers.batch.contract import (
    STALE_MARK_SECONDS,
    ReconcileIncompleteError,
    ReconcileMarkStuckError,
    ReconcileSettings,
)
from handlers.environment import runtime_region

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectVersionTypeDef

UNFINISHED_STATUSES = (contract.STATUS_PROCESSING, contract.STATUS_FAILED)
# Lambda's maximum timeout: a mark this old belongs to no invocation that is still running.

logger = Logger(service="batch-reconcile")
tracer = Tracer(service="batch-reconcile")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


@dataclass(frozen=True)
class ReconcileDependencies:
    s3: S3Client
    state_table: Table  # the batch-state table
    bucket: str  # this region's batch bucket
    region: str  # the region this function runs in: the one taking the files over


@dataclass
class ReconcileSummary:
    """What one run did, by input key. skipped_here counts the unfinished items this region claimed."""

    region: str
    reconciled: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    already_reconciled: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    marks_left: list[str] = field(default_factory=list)  # failed, and the mark could not be removed
    skipped_here: int = 0

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "region": self.region,
            "reconciled": self.reconciled,
            "missing": self.missing,
            "alreadyReconciled": self.already_reconciled,
            "superseded": self.superseded,
            "failed": self.failed,
            "skippedHere": self.skipped_here,
        }
        if self.marks_left:
            result["marksLeft"] = self.marks_left
        return result


@functools.cache
def dependencies() -> ReconcileDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = ReconcileSettings.from_environment(os.environ)
    region = runtime_region(os.environ)
    return ReconcileDependencies(
        s3=boto3.client("s3", region_name=region),
        state_table=boto3.resource("dynamodb", region_name=region).Table(settings.batch_state_table),
        bucket=settings.bucket,
        region=region,
    )


def unfinished_batches(table: Table, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
    """Every PROCESSING and FAILED item, page by page through the `status-index` GSI (never a Scan)."""
    for status in UNFINISHED_STATUSES:
        query: dict[str, Any] = {
            "IndexName": contract.STATUS_INDEX,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": contract.STATUS_INDEX_KEY},
            "ExpressionAttributeValues": {":status": status},
        }
        if page_size is not None:
            query["Limit"] = page_size
        while True:
            page = table.query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def versions_of(s3: S3Client, *, bucket: str, key: str) -> list[ObjectVersionTypeDef]:
    """The object versions (not delete markers) of exactly `key`, newest first."""
    return [
        version
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for version in page.get("Versions", [])
        # Prefix also lists input/a.csv.bak for input/a.csv.
        if version["Key"] == key
    ]


def find_replica(
    versions: Sequence[Mapping[str, Any]], *, version_id: str | None, etag: str | None
) -> Mapping[str, Any] | None:
    """The version with `version_id`, or else the newest with `etag`; None if neither is there."""
    # An unversioned source's "null" names no particular version in another (versioned) bucket.
    if version_id and version_id != contract.NO_VERSION:
        for version in versions:
            if version.get("VersionId") == version_id:
                return version
    if etag:
        for version in versions:
            if unquoted_etag(str(version.get("ETag", ""))) == unquoted_etag(etag):
                return version
    return None


def _mark(
    deps: ReconcileDependencies,
    item: Mapping[str, Any],
    *,
    source_version_id: str,
    stamp: str,
    previous_mark: str | None,
) -> dict[str, Any] | None:
    """Mark `item` as being re-copied by this run; None if marked, else the item that refused it."""
    key = item[contract.BATCH_STATE_KEY]
    # A fresh item must not carry anyone's mark; a stale one must still carry the mark we judged stale.
    mark_condition = (
        "attribute_not_exists(reconciledAt)" if previous_mark is None else "reconciledAt = :previous"
    )
    values: dict[str, Any] = {
        ":at": stamp,
        ":region": deps.region,
        ":source": source_version_id,
        ":version": item["versionId"],
        ":processing": contract.STATUS_PROCESSING,
        ":failed": contract.STATUS_FAILED,
    }
    if previous_mark is not None:
        values[":previous"] = previous_mark
    try:
        deps.state_table.update_item(
            Key={contract.BATCH_STATE_KEY: key},
            UpdateExpression="SET reconciledAt = :at, reconciledBy = :region, reconciledVersionId = :source",
            # Same batch as the one read, still unfinished: a new upload or a late completion wins.
            ConditionExpression=(
                f"versionId = :version AND #status IN (:processing, :failed) AND {mark_condition}"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return item_from_condition_failure(deps.state_table, error, key)
    return None


def _unmark(deps: ReconcileDependencies, key: str, *, stamp: str) -> bool:
    """Remove this run's mark so a retry copies the file again; False when it could not. A failure here is
    logged, not raised (the other files still get their copies): the mark goes stale after
    STALE_MARK_SECONDS and a run after that takes the file over (the handler says so with its error)."""
    try:
        deps.state_table.update_item(
            Key={contract.BATCH_STATE_KEY: key},
            UpdateExpression="REMOVE reconciledAt, reconciledBy, reconciledVersionId",
            ConditionExpression="reconciledAt = :at AND reconciledBy = :region",
            ExpressionAttributeValues={":at": stamp, ":region": deps.region},
        )
    except (ClientError, BotoCoreError):
        logger.exception(
            f"could not remove the reconciliation mark of {key}; a run after {STALE_MARK_SECONDS} s "
            "takes the file over",
            extra={"key": key},
        )
        return False
    return True


def _is_stale(mark: str, now: datetime, stale_mark_seconds: float) -> bool:
    return now - datetime.fromisoformat(mark) >= timedelta(seconds=stale_mark_seconds)


def reconcile_item(
    item: Mapping[str, Any],
    deps: ReconcileDependencies,
    summary: ReconcileSummary,
    *,
    now: datetime,
    stale_mark_seconds: float = STALE_MARK_SECONDS,
) -> None:
    """Re-copy one unfinished file of another region in place in this region's bucket (see module doc)."""
    key = str(item[contract.BATCH_STATE_KEY])
    version_id = item.get("versionId")
    owner = item.get("region")
    context = {"key": key, "versionId": version_id, "processingRegion": owner, "status": item.get("status")}
    if owner == deps.region:
        # Claimed here: this region's workflow has it (or failed it); a copy would process it twice.
        summary.skipped_here += 1
        return
    previous_mark = item.get("reconciledAt")
    if previous_mark is not None and not _is_stale(previous_mark, now, stale_mark_seconds):
        logger.info("already being reconciled by another run", extra={**context, "mark": previous_mark})
        summary.already_reconciled.append(key)
        return
    versions = versions_of(deps.s3, bucket=deps.bucket, key=key)
    if previous_mark is not None:
        marked = find_replica(versions, version_id=item.get("reconciledVersionId"), etag=None)
        if marked is not None and not marked.get("IsLatest"):
            # The copy landed (a newer version exists) but the trigger never claimed it: its own retries
            # and DLQ have that event; another copy would start the batch twice.
            logger.warning(
                f"{key} was re-copied at {previous_mark} but the trigger has not claimed the copy; "
                "check the batch trigger's DLQ",
                extra=context,
            )
            summary.already_reconciled.append(key)
            return
        logger.warning(f"taking over the stale reconciliation mark of {key} ({previous_mark})", extra=context)
    source = find_replica(versions, version_id=version_id, etag=item.get("etag"))
    if source is None:
        logger.warning(
            f"{key} version {version_id} (processing in {owner}) is not in {deps.bucket} yet: replication "
            "has not caught up; a later reconciliation run picks it up",
            extra={**context, "etag": item.get("etag")},
        )
        summary.missing.append(key)
        return
    source_version_id = str(source["VersionId"])
    stamp = timestamp(now)
    refused_by = _mark(
        deps, item, source_version_id=source_version_id, stamp=stamp, previous_mark=previous_mark
    )
    if refused_by is not None:
        if refused_by.get("versionId") == version_id and refused_by.get("reconciledAt") is not None:
            logger.info("already being reconciled by another run", extra=context)
            summary.already_reconciled.append(key)
        else:
            logger.info(
                "the batch changed since it was read (a new version or a finished batch): left as it is",
                extra={
                    **context,
                    "nowVersionId": refused_by.get("versionId"),
                    "nowStatus": refused_by.get("status"),
                },
            )
            summary.superseded.append(key)
        return
    try:
        deps.s3.copy_object(
            Bucket=deps.bucket,
            Key=key,
            CopySource={"Bucket": deps.bucket, "Key": key, "VersionId": source_version_id},
            # Changing the encryption attributes is what makes S3 accept a copy onto the same key.
            ServerSideEncryption="AES256",
            MetadataDirective="COPY",
        )
    except (ClientError, BotoCoreError):
        logger.exception(
            f"could not re-copy {key} version {source_version_id} in {deps.bucket}; mark removed, a retry "
            "copies it again",
            extra={**context, "sourceVersionId": source_version_id},
        )
        if not _unmark(deps, key, stamp=stamp):
            summary.marks_left.append(key)
        summary.failed.append(key)
        return
    logger.info(
        "re-copied for this region to process", extra={**context, "sourceVersionId": source_version_id}
    )
    summary.reconciled.append(key)


def reconcile(
    deps: ReconcileDependencies,
    *,
    now: datetime,
    page_size: int | None = None,
    stale_mark_seconds: float = STALE_MARK_SECONDS,
) -> ReconcileSummary:
    """Hand every unfinished file of other regions to this region; a copy failure is in `failed`, not raised.

    DynamoDB and listing errors raise: the run is safe to repeat, whatever it had done before.
    """
    summary = ReconcileSummary(region=deps.region)
    for item in unfinished_batches(deps.state_table, page_size=page_size):
        reconcile_item(item, deps, summary, now=now, stale_mark_seconds=stale_mark_seconds)
    return summary


def run_result(summary: ReconcileSummary) -> dict[str, Any]:
    """The run's result; raises the error on which the runbook runs the reconciliation again (and says
    when a run can help): ReconcileMarkStuckError once the marks left are stale, ReconcileIncompleteError
    at once."""
    result = summary.as_dict()
    if summary.marks_left:
        # A retry now would find these marks fresh and leave the files alone: only one after the marks
        # are stale copies them, and the runbook waits for that on this error.
        raise ReconcileMarkStuckError(
            f"reconciliation in {summary.region} could not re-copy {', '.join(summary.failed)}, and the "
            f"marks of {', '.join(summary.marks_left)} could not be removed: a run after "
            f"{STALE_MARK_SECONDS} s takes them over. Summary: {json.dumps(result)}"
        )
    if summary.failed:
        raise ReconcileIncompleteError(
            f"reconciliation in {summary.region} could not re-copy {', '.join(summary.failed)}; their marks "
            f"were removed, so retrying the reconciliation copies them again. Summary: {json.dumps(result)}"
        )
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reconcile this region; raise after the whole run if any copy failed (the runbook retries)."""
    summary = reconcile(dependencies(), now=datetime.now(UTC))
    metrics.add_metric(name=contract.FILES_RECONCILED, unit=MetricUnit.Count, value=len(summary.reconciled))
    metrics.add_metric(
        name=contract.FILES_MISSING_AT_RECONCILIATION, unit=MetricUnit.Count, value=len(summary.missing)
    )
    logger.info("reconciliation done", extra={"summary": summary.as_dict()})
    return run_result(summary)
