"""Fixtures for the artifact distribution handlers: the system's AWS side in moto, across three regions.

The parent conftest (tests/unit/handlers/conftest.py) has already set the fake AWS environment by the
time this module is imported, so the handler modules imported here never see real credentials.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from handlers.artifacts import (
    build_worker,
    copy_to_bucket,
    regional_sync,
    replication_worker,
    validate_input,
)
from handlers.artifacts.host_log import count_deployments
from samples import dynamodb_tables as tables

from ..conftest import create_trivial_state_machine, load_event

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

HOME_REGION = "eu-west-1"
GLOBAL_BUCKET = "regionflow-artifacts-global"
DESTINATIONS = (
    {"bucket": "regionflow-artifacts-us-east-1", "region": "us-east-1"},
    {"bucket": "regionflow-artifacts-us-west-2", "region": "us-west-2"},
)
HOST_LOG_TABLE = "regionflow-host-deployment-logs"
HOST_LOG_REGION = HOME_REGION
SYNC_REGION = "us-west-2"


@dataclass
class ArtifactCloud:
    """The artifact distribution system's AWS side, in moto."""

    s3: Any
    stepfunctions: Any
    dynamodb: Any
    state_machine_arn: str

    def versions(self, bucket: str, key: str) -> list[dict[str, Any]]:
        listing = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        return [v for v in listing.get("Versions", []) if v["Key"] == key]

    def executions(self) -> list[dict[str, Any]]:
        return list(self.stepfunctions.list_executions(stateMachineArn=self.state_machine_arn)["executions"])

    def execution_input(self, execution_arn: str) -> dict[str, Any]:
        return dict(json.loads(self.stepfunctions.describe_execution(executionArn=execution_arn)["input"]))

    def hosts_with_build(self, build_id: str) -> int:
        """COUNT through the GSI, following pages: the query the seed's verification step runs."""
        return count_deployments(self.dynamodb, HOST_LOG_TABLE, build_id)


def create_host_log_table(dynamodb: Any) -> None:
    """The host deployment log table as the component declares it: (host_id, build_id) + GSI by build."""
    dynamodb.create_table(**tables.host_log_table(HOST_LOG_TABLE))


def _create_bucket(region: str, name: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        # the stubs type LocationConstraint as a Literal of region names; a destination's region is a str
        location = cast("BucketLocationConstraintType", region)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": location})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


_MODULES_WITH_CACHED_CLIENTS = (build_worker, replication_worker, regional_sync)


def _clear_cached_clients() -> None:
    for module in _MODULES_WITH_CACHED_CLIENTS:
        module.dependencies.cache_clear()
    validate_input.s3_client.cache_clear()
    copy_to_bucket.s3_client.cache_clear()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArtifactCloud]:
    """Buckets (global + two regional, versioned), a state machine, the host log table, and the
    environment each function gets from the component; cached clients are rebuilt under moto."""
    with mock_aws():
        _create_bucket(HOME_REGION, GLOBAL_BUCKET)
        for destination in DESTINATIONS:
            _create_bucket(destination["region"], destination["bucket"])
        state_machine_arn = create_trivial_state_machine(HOME_REGION, "regionflow-file-distribution")
        stepfunctions = boto3.client("stepfunctions", region_name=HOME_REGION)
        dynamodb = boto3.client("dynamodb", region_name=HOST_LOG_REGION)
        create_host_log_table(dynamodb)
        env = {
            "GLOBAL_BUCKET": GLOBAL_BUCKET,
            "STATE_MACHINE_ARN": state_machine_arn,
            "DESTINATION_BUCKETS": json.dumps(list(DESTINATIONS)),
            "HOST_LOG_TABLE": HOST_LOG_TABLE,
            "HOST_LOG_REGION": HOST_LOG_REGION,
            "AWS_REGION": SYNC_REGION,
            "HOSTS_PER_REGION": "300",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_cached_clients()
        yield ArtifactCloud(
            s3=boto3.client("s3", region_name=HOME_REGION),
            stepfunctions=stepfunctions,
            dynamodb=dynamodb,
            state_machine_arn=state_machine_arn,
        )
        _clear_cached_clients()


def build_request_record(
    body: str | dict[str, Any], *, message_id: str, build_id: str | None = None
) -> dict[str, Any]:
    """One SQS record as POST /builds produces it (tests/events/artifacts_sqs_build_request.json)."""
    record = copy.deepcopy(load_event("artifacts_sqs_build_request.json")["Records"][0])
    record["messageId"] = message_id
    record["body"] = body if isinstance(body, str) else json.dumps(body)
    if build_id is None:
        record["messageAttributes"] = {}
    else:
        record["messageAttributes"]["buildId"]["stringValue"] = build_id
    return record


def object_created_record(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    """One S3 ObjectCreated record as S3 sends it to Lambda: the key URL-encoded with '+' for spaces."""
    record = copy.deepcopy(load_event("artifacts_s3_object_created.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    if version_id is None:
        record["s3"]["object"].pop("versionId", None)
    else:
        record["s3"]["object"]["versionId"] = version_id
    return record


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
