"""Step Functions task "Copy to bucket" (one Map iteration): copy the build into one regional bucket.

The copy is issued by an S3 client in the destination's region: S3 CopyObject is a request to the
destination bucket's endpoint, which pulls the source across regions. Errors raise; the workflow's
Retry (the transient errors named in handlers/artifacts/contract.py COPY_TRANSIENT_ERRORS) and Catch
(record as FAILED) decide what happens next.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

# Failures no retry can fix, raised as CopyRejectedError: the workflow Catches it without retrying. (An
# archived source, InvalidObjectState or ObjectNotInActiveTierError, needs a restore first.)
PERMANENT_S3_CODES = frozenset(
    {
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchVersion",
        "AccessDenied",
        "InvalidRequest",
        "AllAccessDisabled",
        "InvalidObjectState",
        "ObjectNotInActiveTierError",
    }
)
# Forbidden and not found, however worded: an answer without an XML body (a proxy's, or an emulator's)
# leaves botocore only the status as its error code, "403" or "404".
PERMANENT_HTTP_STATUSES = frozenset({403, 404})

logger = Logger(service="artifact-copy-to-bucket")
tracer = Tracer(service="artifact-copy-to-bucket")
metrics = Metrics(namespace="regionflow", service="artifact-copy-to-bucket")


class CopyRejectedError(Exception):
    """S3 refused the copy for a reason a retry cannot change (missing bucket, object, or permission)."""


class InvalidCopyInputError(Exception):
    """The task input lacks a field the workflow should always pass."""


@functools.cache
def s3_client(region: str) -> S3Client:
    """One client per destination region, built on first use and reused by warm invocations."""
    return boto3.client("s3", region_name=region)


def _field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidCopyInputError(f"copy input has no {name} (got {value!r})")
    return value


def copy_to_bucket(
    payload: Mapping[str, Any],
    *,
    client_for_region: Callable[[str], S3Client] = s3_client,
    now: datetime | None = None,
) -> dict[str, str]:
    """Copy sourceBucket/sourceKey@versionId into destination.bucket; raises on failure."""
    source_bucket = _field(payload, "sourceBucket")
    source_key = _field(payload, "sourceKey")
    version_id = payload.get("versionId")
    destination = payload.get("destination")
    if not isinstance(destination, Mapping):
        raise InvalidCopyInputError(
            f'copy input has no destination {{"bucket", "region"}} (got {destination!r})'
        )
    bucket = _field(destination, "bucket")
    region = _field(destination, "region")
    copy_source: CopySourceTypeDef = {"Bucket": source_bucket, "Key": source_key}
    if version_id:
        copy_source["VersionId"] = str(version_id)
    try:
        # A single CopyObject handles objects up to 5 GB; builds are tens of KB, so no multipart copy.
        response = client_for_region(region).copy_object(
            Bucket=bucket,
            Key=source_key,
            CopySource=copy_source,
            ServerSideEncryption="AES256",
            MetadataDirective="COPY",
        )
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in PERMANENT_S3_CODES or status in PERMANENT_HTTP_STATUSES:
            metrics.add_metric(name="CopiesRejected", unit=MetricUnit.Count, value=1)
            raise CopyRejectedError(
                f"copy of s3://{source_bucket}/{source_key} to s3://{bucket} ({region}) was rejected: "
                f"{code}: {details.get('Message', '')}"
            ) from error
        raise
    metrics.add_metric(name="CopiesSucceeded", unit=MetricUnit.Count, value=1)
    copied_at = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "bucket": bucket,
        "region": region,
        "status": "SUCCEEDED",
        "etag": str(response.get("CopyObjectResult", {}).get("ETag", "")).strip('"'),
        "copiedAt": copied_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    result = copy_to_bucket(event)
    logger.info("copied", extra={"bucket": result["bucket"], "region": result["region"]})
    return result
