"""Step Functions task "Validate input": checks a distribution request before anything is copied.

Every problem raises InvalidDistributionInput (the workflow Catches that error type by name) with a
message that names the problem; S3 failures other than "not found" raise as they are, so the
workflow's retry block can retry them.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.artifacts.contract import (
    EVERY_KEY,
    DistributedKeys,
    ValidateInputSettings,
    object_key_problem,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef, HeadObjectRequestTypeDef

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ap-southeast-7 ...
_REGION_NAME = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# The seed's input names destination buckets alone ({"sourceBucket", "sourceKey", "destinationBuckets"});
# ours pairs each with its region. Either is accepted; the seed's is normalised to ours.
SEED_DESTINATIONS_FIELD = "destinationBuckets"

logger = Logger(service="artifact-validate-input")
tracer = Tracer(service="artifact-validate-input")


class InvalidDistributionInput(Exception):  # noqa: N818 - the errorType the workflow Catches
    """The distribution request cannot be carried out; the message says why."""


@functools.cache
def s3_client() -> S3Client:
    """Built on first use (not at import) so tests can import the module under moto."""
    return boto3.client("s3")


@functools.cache
def settings() -> ValidateInputSettings:
    return ValidateInputSettings.from_environment(os.environ)


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name (AWS's general-purpose bucket rules), or None."""
    if not _BUCKET_NAME.fullmatch(name):
        return (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending alphanumeric"
        )
    if ".." in name:
        return "must not contain '..'"
    if name.startswith(_RESERVED_BUCKET_PREFIXES) or name.endswith(_RESERVED_BUCKET_SUFFIXES):
        return "uses a prefix or suffix AWS reserves"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return "must not be formatted as an IP address"


def _text(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidDistributionInput(f"{field} is missing or not a non-empty string (got {value!r})")
    return value


def _destinations(raw: object, source_bucket: str) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise InvalidDistributionInput('destinations must be a non-empty list of {"bucket", "region"}')
    destinations: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidDistributionInput(
                f'destinations[{index}] must be {{"bucket", "region"}}, got {entry!r}'
            )
        bucket, region = entry.get("bucket"), entry.get("region")
        if not isinstance(bucket, str) or (problem := bucket_name_problem(bucket)) is not None:
            reason = "is missing" if not isinstance(bucket, str) else problem
            raise InvalidDistributionInput(f"destinations[{index}].bucket {bucket!r} {reason}")
        if not isinstance(region, str) or not _REGION_NAME.fullmatch(region):
            raise InvalidDistributionInput(
                f"destinations[{index}].region {region!r} is not an AWS region name like 'us-west-2'"
            )
        if bucket in seen:
            raise InvalidDistributionInput(f"destination bucket {bucket!r} is listed more than once")
        # A copy into the source bucket would be a new object version there: a new S3 event and
        # a new distribution, forever.
        if bucket == source_bucket:
            raise InvalidDistributionInput(f"destination bucket {bucket!r} is the source bucket")
        seen.add(bucket)
        destinations.append({"bucket": bucket, "region": region})
    return destinations


def bucket_region(s3: S3Client, bucket: str) -> str:
    """The region S3 says `bucket` is in; InvalidDistributionInput when it does not exist or cannot be
    asked (the function may ask about this system's buckets only)."""
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("NoSuchBucket", "404"):
            raise InvalidDistributionInput(f"destination bucket {bucket!r} does not exist") from error
        if code in ("AccessDenied", "403"):
            raise InvalidDistributionInput(
                f"destination bucket {bucket!r} is not one of this system's regional buckets"
            ) from error
        raise
    # S3 answers no constraint for us-east-1, and "EU" for the oldest eu-west-1 buckets.
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location) or "us-east-1"


def _named_destinations(names: object, s3: S3Client) -> list[dict[str, str]]:
    """The seed's destinationBuckets (names alone), each with the region S3 says it is in."""
    if not isinstance(names, list) or not names:
        raise InvalidDistributionInput("destinationBuckets must be a non-empty list of bucket names")
    entries = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or (problem := bucket_name_problem(name)) is not None:
            reason = "is not a string" if not isinstance(name, str) else problem
            raise InvalidDistributionInput(f"destinationBuckets[{index}] {name!r} {reason}")
        entries.append({"bucket": name, "region": bucket_region(s3, name)})
    return entries


def validate_distribution(
    payload: Mapping[str, Any], *, s3: S3Client, keys: DistributedKeys = EVERY_KEY
) -> dict[str, Any]:
    """The normalised input plus sizeBytes, etag and versionId of the source object; raises if unusable."""
    if not isinstance(payload, Mapping):
        raise InvalidDistributionInput(f"input must be a JSON object, got {type(payload).__name__}")
    source_bucket = _text(payload, "sourceBucket")
    source_key = _text(payload, "sourceKey")
    if problem := object_key_problem(source_key):
        raise InvalidDistributionInput(f"sourceKey {problem}")
    if not keys.admits(source_key):
        raise InvalidDistributionInput(
            f"sourceKey {source_key!r} is not distributed by this system: it distributes {keys.describe()} "
            "(config artifactDistributionKeyPrefix / artifactDistributionKeySuffix)"
        )
    version_id = payload.get("versionId")
    if version_id is not None and (not isinstance(version_id, str) or not version_id):
        raise InvalidDistributionInput(f"versionId must be a non-empty string or null, got {version_id!r}")
    listed, named = payload.get("destinations"), payload.get(SEED_DESTINATIONS_FIELD)
    if listed is not None and named is not None:
        raise InvalidDistributionInput(
            f"give destinations or {SEED_DESTINATIONS_FIELD}, not both: both name where the build goes"
        )
    head = _head_source(s3, source_bucket, source_key, version_id)
    destinations = _destinations(listed if named is None else _named_destinations(named, s3), source_bucket)
    kept = {field: value for field, value in payload.items() if field != SEED_DESTINATIONS_FIELD}
    return {
        **kept,  # whatever else the workflow passes along (execution context) is kept
        "sourceBucket": source_bucket,
        "sourceKey": source_key,
        "versionId": head.get("VersionId") or version_id,
        "destinations": destinations,
        "sizeBytes": int(head["ContentLength"]),
        "etag": str(head.get("ETag", "")).strip('"'),
    }


def _head_source(s3: S3Client, bucket: str, key: str, version_id: str | None) -> HeadObjectOutputTypeDef:
    request: HeadObjectRequestTypeDef = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        return s3.head_object(**request)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"):
            version = f" version {version_id}" if version_id else ""
            raise InvalidDistributionInput(
                f"source object s3://{bucket}/{key}{version} does not exist"
            ) from error
        # A malformed version id is answered with 400 on HEAD (no body, so no error code).
        if code in ("400", "InvalidArgument") and version_id:
            raise InvalidDistributionInput(
                f"versionId {version_id!r} is not a version of s3://{bucket}/{key}"
            ) from error
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = validate_distribution(event, s3=s3_client(), keys=settings())
    except InvalidDistributionInput as error:
        logger.warning("invalid distribution input", extra={"reason": str(error)})
        raise
    logger.info(
        "distribution input valid", extra={"key": result["sourceKey"], "sizeBytes": result["sizeBytes"]}
    )
    return result
