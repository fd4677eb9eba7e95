"""Fixtures for the multi-region batch handlers: the system's AWS side (one region's half) in moto.

The parent conftest (tests/unit/handlers/conftest.py) has already set the fake AWS environment by the
time this module is imported, so the handler modules imported here never see real credentials.

`batch_cloud` gives, inside mock_aws: the regional bucket (versioned), the batch-state table (as
samples/dynamodb_tables.py declares it), the main state machine (a trivial definition: executions are
recorded, not run), a private hosted zone whose TXT record names ACTIVE_REGION, a verified SES sender,
and the environment the component gives the functions. Handler modules listed in
CACHED_DEPENDENCY_MODULES have their `dependencies()` cache cleared around each test, and the (shared)
Powertools metric set is emptied, so a test sees only the metrics its own handler call emitted.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from handlers.batch import email_link, merge_chunks, split_file, trigger, validate_records
from handlers.json_schema import CompiledSchema
from samples import dynamodb_tables as tables
from tests.unit.handlers.conftest import change_txt_record

from ..conftest import create_trivial_state_machine, load_event

if TYPE_CHECKING:
    from mypy_boto3_route53.literals import VPCRegionType

ACTIVE_REGION: Final = "eu-west-1"
STANDBY_REGION: Final = "us-west-2"
BUCKET = "regionflow-batch-eu-west-1"
STATE_TABLE = "regionflow-batch-state"
ZONE_NAME = "regionflow.internal"
ACTIVE_REGION_RECORD = "active-region.regionflow.internal"
RECORD_TTL_SECONDS = 60
SENDER = "batch@example.com"
RECIPIENTS = ("ops@example.com", "finance@example.com")
RECORDS_PER_CHUNK = 1000
LINK_EXPIRY_SECONDS = 86400
# Modules whose functools.cache'd dependencies() must be rebuilt under each test's moto.
CACHED_DEPENDENCY_MODULES: list[Any] = [trigger, split_file, merge_chunks, email_link]


@dataclass
class BatchCloud:
    """One region's half of the batch system in moto, plus helpers to arrange and inspect it."""

    s3: Any
    dynamodb: Any  # resource
    stepfunctions: Any
    route53: Any
    sesv2: Any
    bucket: str
    region: str
    state_table_name: str
    state_machine_arn: str
    zone_id: str
    record_name: str

    @property
    def state_table(self) -> Any:
        return self.dynamodb.Table(self.state_table_name)

    def put_input(self, key: str, body: bytes | str) -> str:
        """Upload a file; returns its version id."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return str(self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)["VersionId"])

    def text(self, key: str) -> str:
        return str(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8"))

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def set_active_region(self, value: str, *, quoted: bool = True) -> None:
        """UPSERT the active-region TXT record, as the failover runbook does."""
        self._change_record("UPSERT", f'"{value}"' if quoted else value)

    def delete_active_region_record(self) -> None:
        current = self.route53.list_resource_record_sets(
            HostedZoneId=self.zone_id, StartRecordName=self.record_name, StartRecordType="TXT", MaxItems="1"
        )["ResourceRecordSets"][0]
        self._change_record("DELETE", current["ResourceRecords"][0]["Value"])

    def _change_record(self, action: str, value: str) -> None:
        change_txt_record(
            self.route53,
            zone_id=self.zone_id,
            name=self.record_name,
            action=action,
            value=value,
            ttl_seconds=RECORD_TTL_SECONDS,
        )

    def state_items(self) -> list[dict[str, Any]]:
        return list(self.state_table.scan(ConsistentRead=True)["Items"])

    def executions(self) -> list[dict[str, Any]]:
        return list(self.stepfunctions.list_executions(stateMachineArn=self.state_machine_arn)["executions"])

    def execution_input(self, execution_arn: str) -> dict[str, Any]:
        return dict(json.loads(self.stepfunctions.describe_execution(executionArn=execution_arn)["input"]))

    def sent_emails(self) -> list[Any]:
        """moto's record of sent messages (moto.ses.models.Message: source, destinations, subject, body)."""
        return list(ses_backends[DEFAULT_ACCOUNT_ID][self.region].sent_messages)


def _clear_cached_state() -> None:
    for module in CACHED_DEPENDENCY_MODULES:
        module.dependencies.cache_clear()
    # Powertools Metrics instances share one metric set: drop what earlier tests' direct calls added.
    trigger.metrics.clear_metrics()


def _create_private_zone(region: VPCRegionType) -> str:
    zone = boto3.client("route53").create_hosted_zone(
        Name=ZONE_NAME,
        CallerReference="regionflow-batch-tests",
        HostedZoneConfig={"PrivateZone": True, "Comment": "active-region signal"},
        # moto does not check the VPC exists (creating one costs ~0.5 s a test); the API readers never use it.
        VPC={"VPCRegion": region, "VPCId": "vpc-0a1b2c3d4e5f60718"},
    )
    # The API answers "/hostedzone/Z..."; the component (like Pulumi's zone_id) passes the bare id.
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


@pytest.fixture
def batch_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchCloud]:
    """The batch system's AWS side in ACTIVE_REGION, active-region record = ACTIVE_REGION, and the
    functions' environment (AWS_REGION = ACTIVE_REGION, no ACCESS_POINT_ARN)."""
    with mock_aws():
        region: Final = ACTIVE_REGION
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.resource("dynamodb", region_name=region)
        dynamodb.meta.client.create_table(**tables.batch_state_table(STATE_TABLE))
        sesv2 = boto3.client("sesv2", region_name=region)
        sesv2.create_email_identity(EmailIdentity=SENDER)
        cloud = BatchCloud(
            s3=s3,
            dynamodb=dynamodb,
            stepfunctions=boto3.client("stepfunctions", region_name=region),
            route53=boto3.client("route53"),
            sesv2=sesv2,
            bucket=BUCKET,
            region=region,
            state_table_name=STATE_TABLE,
            state_machine_arn=create_trivial_state_machine(region, "regionflow-batch-main"),
            zone_id=_create_private_zone(region),
            record_name=ACTIVE_REGION_RECORD,
        )
        cloud.set_active_region(ACTIVE_REGION)
        env = {
            "AWS_REGION": region,
            "BATCH_STATE_TABLE": STATE_TABLE,
            "STATE_MACHINE_ARN": cloud.state_machine_arn,
            "ACTIVE_REGION_ZONE_ID": cloud.zone_id,
            "ACTIVE_REGION_RECORD_NAME": ACTIVE_REGION_RECORD,
            "ACTIVE_REGION_CACHE_SECONDS": str(RECORD_TTL_SECONDS),
            "RECORDS_PER_CHUNK": str(RECORDS_PER_CHUNK),
            "SENDER_EMAIL": SENDER,
            "RECIPIENT_EMAILS": json.dumps(list(RECIPIENTS)),
            "LINK_EXPIRY_SECONDS": str(LINK_EXPIRY_SECONDS),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("ACCESS_POINT_ARN", raising=False)
        _clear_cached_state()
        yield cloud
        _clear_cached_state()


def object_created_record(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    """One S3 ObjectCreated record as S3 sends it to Lambda (tests/events/batch_s3_object_created.json):
    the key URL-encoded with '+' for spaces."""
    record = copy.deepcopy(load_event("batch_s3_object_created.json")["Records"][0])
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


class CountingRecordsSchema(CompiledSchema):
    """validate_records' schema check, recording the number of records each call is given."""

    def __init__(self) -> None:
        super().__init__(validate_records.RECORDS_SCHEMA)
        self.calls: list[int] = []

    def validate(self, document: Any) -> None:
        self.calls.append(len(document))
        super().validate(document)


@pytest.fixture
def counting_records_schema(monkeypatch: pytest.MonkeyPatch) -> CountingRecordsSchema:
    counting = CountingRecordsSchema()
    monkeypatch.setattr(validate_records, "RECORDS_SCHEMA_CHECK", counting)
    return counting
