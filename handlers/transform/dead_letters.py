"""SQS (the buffer's DLQ, the staged-upload validator's DLQ) -> settle: every upload whose message was
dead-lettered ends failed and announced.

A message reaches the buffer's DLQ after the buffer queue's last receive. The worker marks the upload
failed on that receive when it fails with an exception, but not when it crashes (timeout, out of memory):
the row would stay pending forever. The validator's DLQ gets the S3 event of a large upload whose check
failed on every attempt Lambda made (S3 or DynamoDB unavailable, a crash): its row would stay
awaiting_upload (or pending, if the file was accepted but not moved on). This consumer marks such an
upload failed, saying where its file is kept, and sends the SNS message of any dead-lettered upload whose
message never went out. Both steps are conditional on the row, so a dead letter of an upload already
finished and announced changes nothing.

A record that fails here (DynamoDB or SNS unavailable) is reported in batchItemFailures and delivered
again by the DLQ; everything else is acknowledged, which deletes the dead letter: its upload's row now
holds the outcome, and the input object is kept.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.transform.contract import (
    STAGING_PREFIX,
    DeadLetterSettings,
    dropped_upload_id,
    staged_upload_id_of,
    upload_id_of,
)
from handlers.transform.notifications import announce
from handlers.transform.s3_events import ObjectRef, s3_objects_in
from handlers.transform.upload_status import UploadStatus, UploadStatusTable

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = Logger(service="transform-dead-letters")
tracer = Tracer(service="transform-dead-letters")
metrics = Metrics(namespace="regionflow", service="transform-dead-letters")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class DeadLetterDependencies:
    sns: SNSClient
    statuses: UploadStatusTable
    topic_arn: str


@functools.cache
def dependencies() -> DeadLetterDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = DeadLetterSettings.from_environment(os.environ)
    return DeadLetterDependencies(
        sns=boto3.client("sns"),
        statuses=UploadStatusTable(boto3.resource("dynamodb").Table(settings.status_table)),
        topic_arn=settings.topic_arn,
    )


def dead_letter_reason(ref: ObjectRef) -> str:
    if ref.key.startswith(STAGING_PREFIX):
        return (
            "the check of this file (a large upload, or a file put into incoming/) never finished: every "
            "attempt failed, crashed or timed out; "
            f"the XML is kept as {ref.key} in the pipeline's input bucket: upload it again later"
        )
    return (
        "the transform worker never finished this upload: its message reached the dead-letter queue after "
        f"the last attempt, which crashed, timed out or ran out of memory; the XML is kept as {ref.key} in "
        "the pipeline's input bucket: upload it again, split into smaller documents if it is large"
    )


def settle_dead_letter(ref: ObjectRef, *, statuses: UploadStatusTable, sns: SNSClient, topic_arn: str) -> str:
    """Settle one dead-lettered upload: 'failed' (marked failed and announced now), 'announced' (its
    outcome was there, its SNS message is sent now), 'settled' (nothing was left to do) or 'unknown' (the
    key names no upload with a status row: nothing to settle)."""
    upload_id, status = _upload_of(ref, statuses)
    if upload_id is None or status is None:
        logger.warning("dead letter names no upload with a status row", extra={"key": ref.key})
        return "unknown"
    marked = False
    if not status.is_final:
        marked = statuses.mark_failed(upload_id, reason=dead_letter_reason(ref), now=datetime.now(UTC))
        if marked:
            metrics.add_metric(name="DeadLettersFailed", unit=MetricUnit.Count, value=1)
        # Read back whichever outcome is stored now: this call's, or a worker's that won the race.
        status = statuses.get(upload_id) or status
    if status.notified_at is not None:
        return "settled"
    announce(status, sns=sns, topic_arn=topic_arn, statuses=statuses)
    return "failed" if marked else "announced"


def _upload_of(ref: ObjectRef, statuses: UploadStatusTable) -> tuple[str | None, UploadStatus | None]:
    """The upload a dead-lettered event names: by its key, or for a file dropped into incoming/ by its
    version (a dropped file whose check never began has no row: nothing to settle)."""
    upload_id = upload_id_of(ref.key) or staged_upload_id_of(ref.key)
    status = statuses.get(upload_id) if upload_id is not None else None
    if (status is None or status.source_key is not None) and ref.key.startswith(STAGING_PREFIX):
        upload_id = dropped_upload_id(ref.bucket, ref.key, ref.write_id)
        status = statuses.get(upload_id)
    return upload_id, status


def handle_record(record: SQSRecord, deps: DeadLetterDependencies) -> None:
    for ref in s3_objects_in(record.json_body):
        outcome = settle_dead_letter(ref, statuses=deps.statuses, sns=deps.sns, topic_arn=deps.topic_arn)
        logger.info("dead letter settled", extra={"key": ref.key, "outcome": outcome, "body": record.body})


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    handle_record(record, dependencies())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
