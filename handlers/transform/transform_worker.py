"""SQS -> transform: each message holds an S3 notification for an uploaded XML document.

A record that fails is reported in batchItemFailures and retried by SQS; after maxReceiveCount it
lands in the DLQ. The input object is never deleted, so nothing is lost whatever happens. Permanent
failures (bad rule, bad document, missing metadata) mark the upload failed at once; transient ones
only on the final attempt. Status transitions are conditional, so SNS hears of each outcome once.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.transform.contract import INPUT_PREFIX, INPUT_SUFFIX, WorkerSettings, output_key
from handlers.transform.rule_store import RuleNotFound, RuleStore
from handlers.transform.rules import InvalidRuleSet, RuleApplicationError
from handlers.transform.transform import MalformedDocumentError, transform_document
from handlers.transform.upload_status import STATUS_DONE, STATUS_FAILED, UploadStatusTable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

MAX_SNS_SUBJECT_CHARS = 100
_UPLOAD_KEY = re.compile(rf"{re.escape(INPUT_PREFIX)}(?P<id>[0-9a-f-]{{36}}){re.escape(INPUT_SUFFIX)}")

logger = Logger(service="transform-worker")
tracer = Tracer(service="transform-worker")
metrics = Metrics(namespace="regionflow", service="transform-worker")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class InputUnusableError(Exception):
    """The input object is missing or lacks the metadata the upload API writes."""


class UploadAlreadyFailedError(Exception):
    """A redelivery of an upload already marked failed: keep failing it so it reaches the DLQ."""


class StatusRowMissingError(Exception):
    """No status row (yet): the upload API writes it before the object, so this is retried."""


PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    RuleNotFound,
    InvalidRuleSet,
    RuleApplicationError,
    MalformedDocumentError,
    InputUnusableError,
    UploadAlreadyFailedError,
)


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str


@dataclass(frozen=True)
class WorkerDependencies:
    s3: S3Client
    sns: SNSClient
    statuses: UploadStatusTable
    rules: RuleStore
    settings: WorkerSettings


@functools.cache
def dependencies() -> WorkerDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = WorkerSettings.from_environment(os.environ)
    dynamodb = boto3.resource("dynamodb")
    return WorkerDependencies(
        s3=boto3.client("s3"),
        sns=boto3.client("sns"),
        statuses=UploadStatusTable(dynamodb.Table(settings.status_table)),
        rules=RuleStore(
            settings.rules_table, dynamodb_resource=dynamodb, cache_seconds=settings.rule_cache_seconds
        ),
        settings=settings,
    )


def s3_objects_in(notification: Mapping[str, Any]) -> Iterator[ObjectRef]:
    """The objects an S3 notification names; none for the s3:TestEvent S3 sends on configuration."""
    if notification.get("Event") == "s3:TestEvent":
        return
    for record in S3Event(dict(notification)).records:
        # Keys arrive URL-encoded with '+' for spaces.
        yield ObjectRef(bucket=record.s3.bucket.name, key=unquote_plus(record.s3.get_object.key))


def transform_object(
    ref: ObjectRef,
    *,
    s3: S3Client,
    sns: SNSClient,
    statuses: UploadStatusTable,
    rules: RuleStore,
    settings: WorkerSettings,
    receive_count: int = 1,
) -> str:
    """Transform one uploaded object; returns 'done' or 'skipped' (already done), raises on failure."""
    key_match = _UPLOAD_KEY.fullmatch(ref.key)
    upload_id: str | None = key_match.group("id") if key_match else None
    try:
        if upload_id is not None and _already_done(statuses, upload_id):
            return "skipped"
        document, upload_id, rule_id = _read_upload(s3, ref, upload_id)
        status = statuses.get(upload_id)
        if status is None:
            raise StatusRowMissingError(f"no status row for upload {upload_id} in table {statuses.name} yet")
        if status.status == STATUS_DONE:
            return "skipped"
        if status.status == STATUS_FAILED:
            raise UploadAlreadyFailedError(f"upload {upload_id} already failed: {status.reason}")
        output = transform_document(document, rules.get(rule_id))
        result_key = output_key(upload_id)
        s3.put_object(
            Bucket=settings.output_bucket,
            Key=result_key,
            Body=output,
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
        if statuses.mark_done(upload_id, output_key=result_key, now=datetime.now(UTC)):
            _notify(sns, settings.topic_arn, statuses, upload_id)
            metrics.add_metric(name="TransformsSucceeded", unit=MetricUnit.Count, value=1)
        logger.info("transformed", extra={"uploadId": upload_id, "outputKey": result_key})
        return "done"
    except PERMANENT_ERRORS as error:
        logger.warning(
            "permanent failure", extra={"uploadId": upload_id, "key": ref.key, "reason": str(error)}
        )
        _fail(sns, settings.topic_arn, statuses, upload_id, str(error))
        raise
    except Exception as error:
        final = receive_count >= settings.max_receive_count
        logger.exception("transient failure", extra={"uploadId": upload_id, "final": final})
        if final:
            reason = f"gave up after {receive_count} attempts: {type(error).__name__}: {error}"
            _fail(sns, settings.topic_arn, statuses, upload_id, reason)
        raise


def _already_done(statuses: UploadStatusTable, upload_id: str) -> bool:
    status = statuses.get(upload_id)
    return status is not None and status.status == STATUS_DONE


def _read_upload(s3: S3Client, ref: ObjectRef, upload_id: str | None) -> tuple[bytes, str, str]:
    try:
        response = s3.get_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise InputUnusableError(f"input object s3://{ref.bucket}/{ref.key} does not exist") from error
        raise
    metadata = response.get("Metadata", {})
    missing = [name for name in ("upload-id", "rule-id") if not metadata.get(name)]
    if missing:
        raise InputUnusableError(
            f"input object s3://{ref.bucket}/{ref.key} has no {' or '.join(missing)} metadata; "
            "upload documents through POST /upload"
        )
    if upload_id is not None and metadata["upload-id"] != upload_id:
        raise InputUnusableError(
            f"input object s3://{ref.bucket}/{ref.key} carries upload-id {metadata['upload-id']!r}, "
            "which does not match its key"
        )
    return response["Body"].read(), metadata["upload-id"], metadata["rule-id"]


def _fail(
    sns: SNSClient, topic_arn: str, statuses: UploadStatusTable, upload_id: str | None, reason: str
) -> None:
    if upload_id is None:
        return
    if statuses.mark_failed(upload_id, reason=reason, now=datetime.now(UTC)):
        _notify(sns, topic_arn, statuses, upload_id)
        metrics.add_metric(name="TransformsFailed", unit=MetricUnit.Count, value=1)


def notification_subject(status: str, file_name: str) -> str:
    """SNS subjects must be ASCII without control characters and at most 100 characters."""
    safe_name = "".join(char if " " <= char <= "~" else "?" for char in file_name)
    return f"regionflow transform {status}: {safe_name}"[:MAX_SNS_SUBJECT_CHARS]


def _notify(sns: SNSClient, topic_arn: str, statuses: UploadStatusTable, upload_id: str) -> None:
    # Read back the row this call just finalised: its content is the single source of the message.
    status = statuses.get(upload_id)
    if status is None:
        return
    message: dict[str, Any] = {
        "uploadId": status.upload_id,
        "status": status.status,
        "ruleId": status.rule_id,
        "fileName": status.file_name,
    }
    if status.status == STATUS_DONE:
        message["outputKey"] = status.output_key
    else:
        message["reason"] = status.reason
    sns.publish(
        TopicArn=topic_arn,
        Subject=notification_subject(status.status, status.file_name),
        Message=json.dumps(message, ensure_ascii=False),
        MessageAttributes={"status": {"DataType": "String", "StringValue": status.status}},
    )


def handle_record(record: SQSRecord, deps: WorkerDependencies) -> None:
    receive_count = int(record.attributes.approximate_receive_count)
    for ref in s3_objects_in(record.json_body):
        transform_object(
            ref,
            s3=deps.s3,
            sns=deps.sns,
            statuses=deps.statuses,
            rules=deps.rules,
            settings=deps.settings,
            receive_count=receive_count,
        )


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
