"""SQS -> build worker: "builds" the requested commit and uploads `build-<id>.zip` to the global bucket.

POST /builds puts the client's JSON on the queue with the API Gateway request id as the `buildId`
message attribute. A bad request is a permanent failure: the record is reported in batchItemFailures
every time until the queue's maxReceiveCount moves it to the DLQ, so it is never silently dropped.
The upload happens at most once per build id: a redelivered message must not write a second object
version, because every version starts a distribution.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import zipfile
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

from handlers.artifacts.build_keys import build_key, sanitise_build_id
from handlers.artifacts.contract import BUILD_ID_ATTRIBUTE, COMMIT_PATTERN, BuildWorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ARTIFACT_NAME = "app.bin"
ARTIFACT_SIZE_BYTES = 64 * 1024
# Branch names and user names are echoed into the manifest; bound them so a client cannot bloat it.
MAX_LABEL_CHARS = 256
_COMMIT = re.compile(COMMIT_PATTERN)

logger = Logger(service="artifact-build-worker")
tracer = Tracer(service="artifact-build-worker")
metrics = Metrics(namespace="regionflow", service="artifact-build-worker")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class InvalidBuildRequest(Exception):  # noqa: N818 - name fixed by the artifact contract
    """The message is not a build request we can ever build: retrying cannot help."""


@dataclass(frozen=True)
class BuildRequest:
    build_id: str
    commit: str
    branch: str | None = None
    requested_by: str | None = None


@dataclass(frozen=True)
class BuildResult:
    bucket: str
    key: str
    uploaded: bool  # False: the build already existed (a redelivered message)
    version_id: str | None = None


@dataclass(frozen=True)
class BuildDependencies:
    s3: S3Client
    bucket: str


@functools.cache
def dependencies() -> BuildDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = BuildWorkerSettings.from_environment(os.environ)
    return BuildDependencies(s3=boto3.client("s3"), bucket=settings.global_bucket)


def parse_build_request(body: str, *, build_id_attribute: str | None, message_id: str) -> BuildRequest:
    """Validate the client's JSON; raise InvalidBuildRequest naming what is wrong."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, TypeError) as error:
        raise InvalidBuildRequest(
            f'build request is not JSON ({error}); send {{"commit": "<sha>"}}'
        ) from error
    if not isinstance(payload, dict):
        raise InvalidBuildRequest('build request must be a JSON object like {"commit": "<sha>"}')
    commit = payload.get("commit")
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise InvalidBuildRequest(
            f"build request has no valid commit (got {str(commit)[:80]!r}); "
            "commit must be 4 to 64 lowercase hex characters"
        )
    build_id = sanitise_build_id(build_id_attribute or "") or sanitise_build_id(message_id)
    if not build_id:
        raise InvalidBuildRequest(f"message {message_id!r} carries no usable build id")
    return BuildRequest(
        build_id=build_id,
        commit=commit,
        branch=_label(payload.get("branch")),
        requested_by=_label(payload.get("requestedBy")),
    )


def _label(value: object) -> str | None:
    return value[:MAX_LABEL_CHARS] if isinstance(value, str) and value else None


def artifact_bytes(commit: str) -> bytes:
    """The simulated binary: deterministic per commit, so the same commit always builds the same app.bin."""
    return hashlib.shake_256(f"regionflow-build:{commit}".encode()).digest(ARTIFACT_SIZE_BYTES)


def build_zip(request: BuildRequest, *, built_at: datetime) -> bytes:
    """A real zip: manifest.json (with the binary's sha256) and app.bin."""
    binary = artifact_bytes(request.commit)
    manifest: dict[str, Any] = {
        "commit": request.commit,
        "buildId": request.build_id,
        "builtAt": built_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "artifact": ARTIFACT_NAME,
        "sha256": hashlib.sha256(binary).hexdigest(),
        "sizeBytes": len(binary),
    }
    if request.branch:
        manifest["branch"] = request.branch
    if request.requested_by:
        manifest["requestedBy"] = request.requested_by
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        archive.writestr(ARTIFACT_NAME, binary)
    return buffer.getvalue()


def publish_build(s3: S3Client, bucket: str, request: BuildRequest, *, now: datetime) -> BuildResult:
    """Upload the build unless it exists; raises on any S3 failure so SQS retries the record."""
    key = build_key(request.build_id)
    if _exists(s3, bucket, key):
        metrics.add_metric(name="BuildsAlreadyUploaded", unit=MetricUnit.Count, value=1)
        logger.info("build already uploaded; nothing to do", extra={"key": key})
        return BuildResult(bucket=bucket, key=key, uploaded=False)
    try:
        response = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=build_zip(request, built_at=now),
            ContentType="application/zip",
            ServerSideEncryption="AES256",
            Metadata={"commit": request.commit, "build-id": request.build_id},
            # head_object alone leaves a window for two concurrent deliveries of one message;
            # a conditional write closes it (S3 answers 412 to the loser).
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "PreconditionFailed":
            metrics.add_metric(name="BuildsAlreadyUploaded", unit=MetricUnit.Count, value=1)
            logger.info("build uploaded concurrently by another delivery", extra={"key": key})
            return BuildResult(bucket=bucket, key=key, uploaded=False)
        raise
    metrics.add_metric(name="BuildsUploaded", unit=MetricUnit.Count, value=1)
    logger.info("build uploaded", extra={"key": key, "commit": request.commit})
    return BuildResult(bucket=bucket, key=key, uploaded=True, version_id=response.get("VersionId"))


def _exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def handle_record(record: SQSRecord, deps: BuildDependencies) -> BuildResult:
    # Indexing (not .get) wraps the raw dict in Powertools' SQSMessageAttribute, or gives None.
    attribute = record.message_attributes[BUILD_ID_ATTRIBUTE]
    try:
        request = parse_build_request(
            record.body,
            build_id_attribute=attribute.string_value if attribute else None,
            message_id=record.message_id,
        )
    except InvalidBuildRequest as error:
        metrics.add_metric(name="InvalidBuildRequests", unit=MetricUnit.Count, value=1)
        logger.warning("invalid build request", extra={"messageId": record.message_id, "reason": str(error)})
        raise
    return publish_build(deps.s3, deps.bucket, request, now=datetime.now(UTC))


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
