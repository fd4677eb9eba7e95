"""SQS -> transform: each message holds an S3 notification for an uploaded XML document.

A record that fails is reported in batchItemFailures and retried by SQS; after maxReceiveCount it
lands in the DLQ. The input object is never deleted, so nothing is lost whatever happens. Permanent
failures (bad rule, bad document, missing metadata, and anything raised while the rules are applied)
mark the upload failed at once, and later deliveries fail again without redoing the work; transient
ones only on the final attempt (a crash on that attempt is settled by the DLQ consumer,
handlers/transform/dead_letters.py). Status transitions are conditional, so an outcome is written once;
its SNS message is recorded on the row once sent, and a delivery finding an outcome without it sends it.
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
from botocore.exceptions import ClientError

from handlers.transform.contract import WorkerSettings, output_key, upload_id_of
from handlers.transform.notifications import announce
from handlers.transform.rule_store import RuleNotFound, RuleStore
from handlers.transform.rules import InvalidRuleSet, RuleApplicationError, RuleSet
from handlers.transform.s3_events import ObjectRef, s3_objects_in
from handlers.transform.transform import MalformedDocumentError, transform_document
from handlers.transform.upload_status import STATUS_FAILED, UploadStatus, UploadStatusTable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

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
    """Transform one uploaded object; raises on failure. Returns 'done', or for an upload that already has
    its outcome 'skipped' ('announced' when its missing SNS message was sent now)."""
    upload_id = upload_id_of(ref.key)
    try:
        # The row first: a redelivery of a finished upload neither reads nor transforms the document again.
        status = statuses.get(upload_id) if upload_id is not None else None
        if status is not None and status.is_final:
            return _settle(status, sns=sns, topic_arn=settings.topic_arn, statuses=statuses)
        document, upload_id, rule_id = _read_upload(s3, ref, upload_id)
        if status is None:
            status = statuses.get(upload_id)
            if status is None:
                raise StatusRowMissingError(
                    f"no status row for upload {upload_id} in table {statuses.name} yet"
                )
            if status.is_final:
                return _settle(status, sns=sns, topic_arn=settings.topic_arn, statuses=statuses)
        output = apply_rules(document, rules.get(rule_id))
        # A dropped file's row names its output after it; an upload's is results/<uploadId>.json.
        result_key = status.output_key or output_key(upload_id)
        s3.put_object(
            Bucket=settings.output_bucket,
            Key=result_key,
            Body=output,
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
        if statuses.mark_done(upload_id, output_key=result_key, now=datetime.now(UTC)):
            metrics.add_metric(name="TransformsSucceeded", unit=MetricUnit.Count, value=1)
            _announce(upload_id, sns=sns, topic_arn=settings.topic_arn, statuses=statuses)
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
            # The uploader reads the reason: the error's kind, not its text, which can name our tables,
            # buckets and roles (the text is in the log above).
            reason = (
                f"gave up after {receive_count} attempts: {type(error).__name__}; the XML is kept, "
                "upload it again later"
            )
            _fail(sns, settings.topic_arn, statuses, upload_id, reason)
        raise


def apply_rules(document: bytes, rule_set: RuleSet) -> bytes:
    """transform_document, whose every error is permanent: it reads nothing but its arguments, so a retry
    would raise the same error again (MemoryError aside: more memory may help)."""
    try:
        return transform_document(document, rule_set)
    except (RuleApplicationError, MalformedDocumentError, MemoryError):
        raise
    except Exception as error:
        raise RuleApplicationError(
            f"rule set {rule_set.rule_id!r} cannot be applied ({type(error).__name__}: {error}); "
            "fix the rule set and load it again with scripts/put_rule.py"
        ) from error


def _settle(status: UploadStatus, *, sns: SNSClient, topic_arn: str, statuses: UploadStatusTable) -> str:
    """A delivery of an upload that has its outcome: send the SNS message if it never went out, and keep
    failing a failed upload's message so that it reaches the DLQ."""
    announced = status.notified_at is None
    if announced:
        announce(status, sns=sns, topic_arn=topic_arn, statuses=statuses)
    if status.status == STATUS_FAILED:
        raise UploadAlreadyFailedError(f"upload {status.upload_id} already failed: {status.reason}")
    return "announced" if announced else "skipped"


def _read_upload(s3: S3Client, ref: ObjectRef, upload_id: str | None) -> tuple[bytes, str, str]:
    try:
        response = s3.get_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise InputUnusableError(f"input object {ref.key} does not exist") from error
        raise
    metadata = response.get("Metadata", {})
    missing = [name for name in ("upload-id", "rule-id") if not metadata.get(name)]
    if missing:
        raise InputUnusableError(
            f"input object {ref.key} has no {' or '.join(missing)} metadata; "
            "upload documents through POST /upload"
        )
    if upload_id is not None and metadata["upload-id"] != upload_id:
        raise InputUnusableError(
            f"input object {ref.key} carries upload-id {metadata['upload-id']!r}, "
            "which does not match its key"
        )
    return response["Body"].read(), metadata["upload-id"], metadata["rule-id"]


def _fail(
    sns: SNSClient, topic_arn: str, statuses: UploadStatusTable, upload_id: str | None, reason: str
) -> None:
    if upload_id is None:
        return
    if statuses.mark_failed(upload_id, reason=reason, now=datetime.now(UTC)):
        metrics.add_metric(name="TransformsFailed", unit=MetricUnit.Count, value=1)
        _announce(upload_id, sns=sns, topic_arn=topic_arn, statuses=statuses)


def _announce(upload_id: str, *, sns: SNSClient, topic_arn: str, statuses: UploadStatusTable) -> None:
    # Read back the row this call just finalised: its content is the single source of the message.
    status = statuses.get(upload_id)
    if status is not None:
        announce(status, sns=sns, topic_arn=topic_arn, statuses=statuses)


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
