"""Global bucket ObjectCreated -> one file-distribution execution per new object version.

Every object the notification announces is distributed: its key filter (config
artifactDistributionKeyPrefix / ...Suffix) decides which, builds and files copied in alike.

The execution name is a hash of bucket/key/version, so a duplicate S3 event (S3 delivers at least
once) starts nothing: Step Functions refuses the name with ExecutionAlreadyExists, or, while the
first execution still runs with the same input, returns that execution. Any other failure raises:
Lambda's asynchronous retries and the function's DLQ keep the event.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.artifacts.contract import BUILD_KEY_SUFFIX, ReplicationWorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

MAX_EXECUTION_NAME_CHARS = 80  # Step Functions' limit
HASH_HEX_CHARS = 16
_NOT_NAME_CHAR = re.compile(r"[^0-9A-Za-z_-]+")

logger = Logger(service="artifact-replication-worker")
tracer = Tracer(service="artifact-replication-worker")
metrics = Metrics(namespace="regionflow", service="artifact-replication-worker")


@dataclass(frozen=True)
class ObjectVersion:
    bucket: str
    key: str
    version_id: str | None


@dataclass(frozen=True)
class ReplicationDependencies:
    stepfunctions: SFNClient
    state_machine_arn: str
    destinations: tuple[dict[str, str], ...]


@functools.cache
def dependencies() -> ReplicationDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = ReplicationWorkerSettings.from_environment(os.environ)
    return ReplicationDependencies(
        stepfunctions=boto3.client("stepfunctions"),
        state_machine_arn=settings.state_machine_arn,
        destinations=settings.destination_buckets,
    )


def execution_name(bucket: str, key: str, version_id: str | None) -> str:
    """Deterministic, <= 80 characters of [0-9A-Za-z_-]: readable stem + hash of the exact version."""
    digest = hashlib.sha256(f"{bucket}/{key}/{version_id or ''}".encode()).hexdigest()[:HASH_HEX_CHARS]
    file_name = key.rsplit("/", 1)[-1]
    stem = _NOT_NAME_CHAR.sub("-", file_name.removesuffix(BUILD_KEY_SUFFIX)).strip("-") or "object"
    room = MAX_EXECUTION_NAME_CHARS - len(digest) - 1
    return f"{stem[:room].rstrip('-')}-{digest}"


def created_objects(event: Mapping[str, Any]) -> Iterator[ObjectVersion]:
    """The object versions an S3 notification announces; none for s3:TestEvent."""
    if event.get("Event") == "s3:TestEvent":
        return
    for record in S3Event(dict(event)).records:
        if not record.event_name.startswith("ObjectCreated:"):
            logger.warning("ignoring non-create event", extra={"eventName": record.event_name})
            continue
        obj = record.s3.get_object
        # Keys arrive URL-encoded with '+' for spaces.
        yield ObjectVersion(
            bucket=record.s3.bucket.name, key=unquote_plus(obj.key), version_id=obj.version_id
        )


def distribution_input(obj: ObjectVersion, destinations: tuple[dict[str, str], ...]) -> dict[str, Any]:
    return {
        "sourceBucket": obj.bucket,
        "sourceKey": obj.key,
        "versionId": obj.version_id,
        "destinations": [dict(destination) for destination in destinations],
    }


def start_distributions(
    event: Mapping[str, Any],
    *,
    stepfunctions: SFNClient,
    state_machine_arn: str,
    destinations: tuple[dict[str, str], ...],
) -> dict[str, list[str]]:
    """Start one execution per created object; returns {"started": [...], "duplicates": [...]}."""
    started: list[str] = []
    duplicates: list[str] = []
    for obj in created_objects(event):
        name = execution_name(obj.bucket, obj.key, obj.version_id)
        try:
            stepfunctions.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                input=json.dumps(distribution_input(obj, destinations)),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            duplicates.append(name)
            metrics.add_metric(name="DuplicateObjectEvents", unit=MetricUnit.Count, value=1)
            logger.info("duplicate event: distribution already started", extra={"execution": name})
            continue
        started.append(name)
        metrics.add_metric(name="DistributionsStarted", unit=MetricUnit.Count, value=1)
        logger.info("distribution started", extra={"execution": name, "key": obj.key})
    return {"started": started, "duplicates": duplicates}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    deps = dependencies()
    return start_distributions(
        event,
        stepfunctions=deps.stepfunctions,
        state_machine_arn=deps.state_machine_arn,
        destinations=deps.destinations,
    )
