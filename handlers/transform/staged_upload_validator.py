"""S3 (a large upload's file, posted straight to incoming/<uploadId>.xml) -> POST /upload's checks -> on to
the transform, or into quarantine.

The checks are POST /upload's own, with the same limits (xml_validation.validate_xml: size, encoding,
DOCTYPE/entities, well-formedness, depth and attributes; then the rule is a loaded, valid rule set),
run on the file S3 holds. A file that passes is stored normalised as uploads/<uploadId>.xml, exactly as
POST /upload stores it, so it flows on the same way (the buffer, the worker, done or failed); its row
moves from awaiting_upload to pending first, since the worker needs a pending row. A file that fails
gets its row rejected with the reason, is kept as quarantine/<uploadId>.xml (never deleted) and the
rejection is announced on the transform topic, as done and failed uploads are. Either way incoming/
is emptied.

A file put straight into incoming/ by anyone else (seed 001's `aws s3 cp ... --recursive`: no status row
names it) is registered first: a row of its own (upload id: dropped_upload_id of its version), its rule
from its folder (incoming/<ruleId>/<name>) or its `rule-id` metadata, `awaiting_upload` like a large
upload's. Then the same checks, the same move on to uploads/<uploadId>.xml or rejection, the same SNS
message; its JSON goes to results/incoming/<ruleId>/<name>.json. The file itself stays where it was put,
accepted or not: it is the sender's, and nothing is silently ignored (a file naming no rule, or two, is
rejected saying so).

Every step is idempotent and conditional on the row, so a retry (S3 delivers at least once; Lambda
retries a failed asynchronous invocation twice) finishes whatever a failed attempt left, and changes
nothing once done. An invocation that keeps failing (S3 or DynamoDB unavailable) goes to the function's
dead-letter queue, whose consumer (dead_letters.py) marks the upload failed, saying where its file is.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.http_request import RequestRejectedError
from handlers.transform.contract import (
    DROPPED_RULE_METADATA,
    STAGED_CONTENT_TYPE,
    StagedUploadSettings,
    dropped_output_key,
    dropped_rule_folder,
    dropped_upload_id,
    input_key,
    quarantine_key,
    staged_upload_id_of,
)
from handlers.transform.notifications import announce
from handlers.transform.rule_store import RuleStore
from handlers.transform.s3_events import ObjectRef, s3_objects_in
from handlers.transform.upload_request import check_rule
from handlers.transform.upload_status import (
    STATUS_AWAITING_UPLOAD,
    STATUS_PENDING,
    STATUS_REJECTED,
    UploadStatus,
    UploadStatusTable,
)
from handlers.transform.xml_validation import XmlRejected, validate_xml

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

logger = Logger(service="transform-staged-upload")
tracer = Tracer(service="transform-staged-upload")
metrics = Metrics(namespace="regionflow", service="transform-staged-upload")


class StagedFileMissingError(Exception):
    """The file of an upload awaiting its check is not in incoming/: retried, then dead-lettered."""


@dataclass(frozen=True)
class StagedUploadDependencies:
    s3: S3Client
    sns: SNSClient
    statuses: UploadStatusTable
    rules: RuleStore
    settings: StagedUploadSettings


@functools.cache
def dependencies() -> StagedUploadDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = StagedUploadSettings.from_environment(os.environ)
    dynamodb = boto3.resource("dynamodb")
    return StagedUploadDependencies(
        s3=boto3.client("s3"),
        sns=boto3.client("sns"),
        statuses=UploadStatusTable(dynamodb.Table(settings.status_table)),
        rules=RuleStore(
            settings.rules_table, dynamodb_resource=dynamodb, cache_seconds=settings.rule_cache_seconds
        ),
        settings=settings,
    )


def validate_staged_upload(ref: ObjectRef, deps: StagedUploadDependencies) -> str:
    """Check one file of incoming/ and route it. Returns 'accepted', 'rejected', 'skipped' (its upload has
    moved on already) or 'gone' (a dropped file deleted before it was read); raises on failure."""
    upload_id = staged_upload_id_of(ref.key)
    status = deps.statuses.get(upload_id) if upload_id is not None else None
    if status is None or status.source_key is not None:
        # POST /uploads writes the row before it hands out the URL: a file without one was dropped here.
        status = _dropped_file_status(ref, deps)
        if status is None:
            return "gone"
    if status.status == STATUS_AWAITING_UPLOAD:
        return _check(status, ref, deps)
    return _resume(status, ref, deps)


def _dropped_file_status(ref: ObjectRef, deps: StagedUploadDependencies) -> UploadStatus | None:
    """The row of a file dropped into incoming/, registered on its first event (rejected at once when it
    names no rule, or two); None when the file is gone already."""
    upload_id = dropped_upload_id(ref.bucket, ref.key, ref.write_id)
    if (status := deps.statuses.get(upload_id)) is not None:
        return status
    try:
        head = (
            deps.s3.head_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
            if ref.version_id
            else deps.s3.head_object(Bucket=ref.bucket, Key=ref.key)
        )
        metadata = head.get("Metadata", {})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            logger.warning("dropped file deleted before it was read", extra={"key": ref.key})
            return None
        raise
    folder, tagged = dropped_rule_folder(ref.key), metadata.get(DROPPED_RULE_METADATA)
    problem = _dropped_rule_problem(folder, tagged)
    now = datetime.now(UTC)
    try:
        deps.statuses.create_awaiting_upload(
            upload_id=upload_id,
            rule_id=folder or tagged or "",
            file_name=ref.key.rsplit("/", 1)[-1],
            staged_key=ref.key,
            now=now,
            # Not a person signed in to the pool: the status API shows it to nobody; the table and the
            # topic tell operators.
            owner=f"s3:{ref.writer or 'unknown'}",
            dropped_output_key=dropped_output_key(ref.key),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        logger.info("dropped file registered by another delivery", extra={"key": ref.key})
    else:
        metrics.add_metric(name="DroppedFilesRegistered", unit=MetricUnit.Count, value=1)
        logger.info("dropped file registered", extra={"key": ref.key, "uploadId": upload_id})
        if problem is not None:
            deps.statuses.mark_rejected(upload_id, reason=problem, now=now)
    return deps.statuses.get(upload_id)


def _dropped_rule_problem(folder: str | None, tagged: str | None) -> str | None:
    if folder is None and not tagged:
        return (
            "the file names no rule: put it under incoming/<ruleId>/, or give it the metadata "
            f"{DROPPED_RULE_METADATA}=<ruleId> (aws s3 cp --metadata {DROPPED_RULE_METADATA}=<ruleId>); "
            "GET /rules lists the rules"
        )
    if folder is not None and tagged and tagged != folder:
        return (
            f"the file names two rules: {folder!r} by its folder and {tagged!r} by its "
            f"{DROPPED_RULE_METADATA} metadata; name one and put it again"
        )
    return None


def _check(status: UploadStatus, ref: ObjectRef, deps: StagedUploadDependencies) -> str:
    settings = deps.settings
    try:
        document = _checked_document(status, ref, deps)
    except (XmlRejected, RequestRejectedError) as rejection:
        logger.info(
            "staged upload rejected",
            extra={"uploadId": status.upload_id, "code": rejection.code, "reason": rejection.message},
        )
        if deps.statuses.mark_rejected(status.upload_id, reason=rejection.message, now=datetime.now(UTC)):
            metrics.add_metric(name="StagedUploadsRejected", unit=MetricUnit.Count, value=1)
        return _resume(deps.statuses.get(status.upload_id) or status, ref, deps)
    accepted = deps.statuses.mark_staged_accepted(
        status.upload_id,
        input_key=input_key(status.upload_id),
        size_bytes=len(document),
        now=datetime.now(UTC),
    )
    if not accepted:
        # Another delivery of the same event won the race: finish whatever it may have left.
        return _resume(deps.statuses.get(status.upload_id) or status, ref, deps)
    metrics.add_metric(name="StagedUploadsAccepted", unit=MetricUnit.Count, value=1)
    _store_for_transform(status, document, ref, deps.s3, input_bucket=settings.input_bucket)
    return "accepted"


def _checked_document(status: UploadStatus, ref: ObjectRef, deps: StagedUploadDependencies) -> bytes:
    """The normalised document, or XmlRejected / RequestRejectedError saying why the file is refused."""
    body = _read_staged(deps.s3, ref, status, max_bytes=deps.settings.max_upload_bytes)
    document = validate_xml(
        body, max_bytes=deps.settings.max_upload_bytes, max_depth=deps.settings.max_xml_depth
    )
    check_rule(deps.rules, status.rule_id, logger=logger)
    return document


def _resume(status: UploadStatus, ref: ObjectRef, deps: StagedUploadDependencies) -> str:
    """Finish what an earlier attempt began for an upload past its check, or nothing when it is done."""
    if status.status == STATUS_PENDING and _not_moved_on(status, ref, deps.s3):
        # Accepted, but the move to uploads/ did not finish: the same checks give the same document.
        body = _read_staged(deps.s3, ref, status, max_bytes=deps.settings.max_upload_bytes)
        document = validate_xml(
            body, max_bytes=deps.settings.max_upload_bytes, max_depth=deps.settings.max_xml_depth
        )
        _store_for_transform(status, document, ref, deps.s3, input_bucket=deps.settings.input_bucket)
        return "accepted"
    if status.status == STATUS_REJECTED:
        if status.source_key is None and _exists(deps.s3, ref):
            _quarantine(status, ref, deps.s3)
        if status.notified_at is None:
            announce(status, sns=deps.sns, topic_arn=deps.settings.topic_arn, statuses=deps.statuses)
        return "rejected"
    return "skipped"


def _read_staged(s3: S3Client, ref: ObjectRef, status: UploadStatus, *, max_bytes: int) -> bytes:
    """The staged file's bytes; one larger than max_bytes is refused before it is read. A dropped file's
    are those of the version its event named: a later put under its key is an upload of its own."""
    try:
        if status.source_key is not None and ref.version_id:
            response = s3.get_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
        else:
            response = s3.get_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise StagedFileMissingError(f"the staged file {ref.key} is not in the input bucket") from error
        raise
    with response["Body"] as stream:
        size = int(response["ContentLength"])
        if size > max_bytes:
            # The presigned POST's policy bounds the size already; this holds even if it did not.
            raise XmlRejected(
                413,
                "payload_too_large",
                f"the file is {size} bytes, over the limit of {max_bytes} bytes; split the document",
            )
        return stream.read()


def _not_moved_on(status: UploadStatus, ref: ObjectRef, s3: S3Client) -> bool:
    """An accepted file not yet stored as uploads/<uploadId>.xml: a staged file is removed once it is, a
    dropped one stays."""
    if status.source_key is None:
        return _exists(s3, ref)
    return not _exists(s3, ObjectRef(bucket=ref.bucket, key=input_key(status.upload_id)))


def _exists(s3: S3Client, ref: ObjectRef) -> bool:
    try:
        s3.head_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return False
        raise
    return True


def _store_for_transform(
    status: UploadStatus, document: bytes, ref: ObjectRef, s3: S3Client, *, input_bucket: str
) -> None:
    """uploads/<uploadId>.xml as POST /upload writes it (its event starts the transform), then the staged
    file removed (a dropped file stays)."""
    s3.put_object(
        Bucket=input_bucket,
        Key=input_key(status.upload_id),
        Body=document,
        ContentType=STAGED_CONTENT_TYPE,
        ServerSideEncryption="AES256",
        Metadata=_metadata(status),
    )
    if status.source_key is None:
        s3.delete_object(Bucket=ref.bucket, Key=ref.key)
    logger.info("staged upload accepted", extra={"uploadId": status.upload_id, "sizeBytes": len(document)})


def _quarantine(status: UploadStatus, ref: ObjectRef, s3: S3Client) -> None:
    """The refused file kept as quarantine/<uploadId>.xml, as it was posted, then removed from incoming/."""
    s3.copy_object(
        Bucket=ref.bucket,
        Key=quarantine_key(status.upload_id),
        CopySource={"Bucket": ref.bucket, "Key": ref.key},
        MetadataDirective="REPLACE",
        ContentType=STAGED_CONTENT_TYPE,
        ServerSideEncryption="AES256",
        Metadata=_metadata(status),
    )
    s3.delete_object(Bucket=ref.bucket, Key=ref.key)
    logger.info("staged upload quarantined", extra={"uploadId": status.upload_id})


def _metadata(status: UploadStatus) -> dict[str, str]:
    # S3 user metadata must be ASCII, hence the percent-encoded file name (as POST /upload writes it).
    return {"upload-id": status.upload_id, "rule-id": status.rule_id, "file-name": quote(status.file_name)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    outcomes = {}
    for ref in s3_objects_in(event):
        outcomes[ref.key] = validate_staged_upload(ref, deps)
        logger.info("staged file handled", extra={"key": ref.key, "outcome": outcomes[ref.key]})
    return {"outcomes": outcomes}
