"""Regional bucket ObjectCreated (input/*.csv) -> in the active region only, claim the batch and start it.

Both regions' buckets replicate into each other, so every file raises this event in both regions; the
active-region record decides which one processes it. The claim in the batch-state table and the execution
name are both derived from the object version, so a duplicate S3 event (S3 delivers at least once) starts
nothing new, and a redelivered event after a crash between the claim and StartExecution finishes the job.
Any other failure raises: Lambda's asynchronous retries and the function's DLQ keep the event.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.active_region import signal as active_region
from handlers.active_region.signal import ActiveRegionSource
from handlers.batch import contract
from handlers.batch.batch_state import claim_batch
from handlers.batch.contract import TriggerSettings
from handlers.environment import runtime_region

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_stepfunctions import SFNClient

logger = Logger(service="batch-trigger")
tracer = Tracer(service="batch-trigger")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


@dataclass(frozen=True)
class TriggerDependencies:
    stepfunctions: SFNClient
    state_table: Table  # the batch-state table
    active_region: ActiveRegionSource
    state_machine_arn: str
    region: str  # the region this function runs in


@dataclass
class TriggerSummary:
    started: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"started": self.started, "duplicates": self.duplicates, "ignored": self.ignored}


@functools.cache
def dependencies() -> TriggerDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto; warm
    invocations keep the active-region cache."""
    settings = TriggerSettings.from_environment(os.environ)
    return TriggerDependencies(
        stepfunctions=boto3.client("stepfunctions"),
        state_table=boto3.resource("dynamodb").Table(settings.batch_state_table),
        active_region=active_region.from_environment(),
        state_machine_arn=settings.state_machine_arn,
        region=runtime_region(os.environ),
    )


def is_batch_input(key: str) -> bool:
    return key.startswith(contract.INPUT_PREFIX) and key.endswith(contract.INPUT_SUFFIX)


def _start_execution(deps: TriggerDependencies, name: str, workflow_input: dict[str, Any]) -> bool:
    """True if Step Functions accepted the start; False if the execution already exists and has ended.

    For a name whose execution is still running with the same input, Step Functions returns that
    execution instead of an error: nothing new runs either way.
    """
    try:
        deps.stepfunctions.start_execution(
            stateMachineArn=deps.state_machine_arn, name=name, input=json.dumps(workflow_input)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return False
    return True


def handle_record(
    record: S3EventRecord, deps: TriggerDependencies, summary: TriggerSummary, *, now: datetime
) -> None:
    bucket = record.s3.bucket.name
    # Keys arrive URL-encoded with '+' for spaces.
    key = unquote_plus(record.s3.get_object.key)
    version_id = record.s3.get_object.version_id
    if not record.event_name.startswith("ObjectCreated:") or not is_batch_input(key):
        logger.warning(
            "ignored, not a new batch input file",
            extra={"key": key, "eventName": record.event_name, "expected": "input/*.csv ObjectCreated"},
        )
        summary.ignored.append(key)
        return
    active = deps.active_region.active_region()
    if active != deps.region:
        logger.info(
            f"ignored, region {deps.region} is not active (active: {active})",
            extra={"key": key, "versionId": version_id},
        )
        metrics.add_metric(name=contract.FILES_IGNORED_INACTIVE, unit=MetricUnit.Count, value=1)
        summary.ignored.append(key)
        return
    claim = claim_batch(
        deps.state_table,
        key=key,
        version_id=version_id,
        bucket=bucket,
        region=deps.region,
        now=now,
        # Powertools answers "" when the record has no eTag; reconciliation matches replicas by it.
        etag=record.s3.get_object.etag or None,
    )
    context = {
        "key": key,
        "versionId": version_id,
        "fileId": claim.file_id,
        "execution": claim.execution_name,
    }
    if not claim.needs_execution:
        existing = claim.existing or {}
        logger.info(
            "duplicate event: batch already recorded",
            extra={**context, "status": existing.get("status"), "region": existing.get("region")},
        )
        summary.duplicates.append(key)
        return
    workflow_input = {"bucket": bucket, "key": key, "versionId": version_id, "fileId": claim.file_id}
    if not _start_execution(deps, claim.execution_name, workflow_input):
        logger.info("duplicate event: execution already exists", extra=context)
        summary.duplicates.append(key)
        return
    if claim.started:
        logger.info("batch started", extra=context)
    else:
        logger.info("batch already PROCESSING here: its execution is started or running", extra=context)
    summary.started.append(key)


def handle_records(
    records: Iterable[S3EventRecord], deps: TriggerDependencies, *, now: datetime | None = None
) -> dict[str, list[str]]:
    """Claim and start each new input file (active region only); {"started", "duplicates", "ignored"} keys."""
    summary = TriggerSummary()
    for record in records:
        handle_record(record, deps, summary, now=now or datetime.now(UTC))
    return summary.as_dict()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    if event.get("Event") == "s3:TestEvent":
        return TriggerSummary().as_dict()
    return handle_records(S3Event(event).records, dependencies())
