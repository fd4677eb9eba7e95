"""Fixtures for the reconciliation after a failover: both regions' side of a failover, in moto.

Imported explicitly by test_reconcile.py (`from .reconcile_fixtures import failover_cloud_fixture`),
so they never clash with this directory's conftest, whose regions differ.

`failover_cloud` gives, inside mock_aws: the failed region's batch bucket (where the files were uploaded
and claimed before the failover), the newly active region's versioned batch bucket (where reconciliation
looks for their replicas and re-copies them), the batch-state table in the active region (as
samples/dynamodb_tables.py declares it), and the reconcile function's environment. moto cannot
replicate, so `replicate` writes the bytes into the active region's bucket as our local emulator's
replicator does: same ETag, a new version id. A replica that keeps its version id (as in AWS) is arranged
by claiming the version uploaded into the active region's bucket directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws

from handlers.batch import reconcile
from handlers.batch.batch_state import claim_batch, unquoted_etag
from handlers.batch.contract import STATUS_PROCESSING
from handlers.batch.reconcile import ReconcileDependencies
from samples import dynamodb_tables as tables

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

FAILED_REGION = "us-east-1"  # active before the failover: claimed the batches, did not finish them
ACTIVE_REGION = "us-west-2"  # active after it: reconciles
BUCKET = "regionflow-batch-us-west-2"
FAILED_REGION_BUCKET = "regionflow-batch-us-east-1"
STATE_TABLE = "regionflow-batch-state"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CLAIMED_AT = NOW - timedelta(hours=1)


@dataclass(frozen=True)
class Upload:
    version_id: str
    etag: str  # bare, as S3 events and the state items spell it


@dataclass
class FailoverCloud:
    """Both regions' buckets and the active region's state table, plus helpers to arrange and inspect."""

    s3: Any  # client in ACTIVE_REGION
    failed_region_s3: Any
    dynamodb: Any  # resource in ACTIVE_REGION
    bucket: str
    failed_region_bucket: str
    region: str
    state_table_name: str

    @property
    def state_table(self) -> Any:
        return self.dynamodb.Table(self.state_table_name)

    @property
    def deps(self) -> ReconcileDependencies:
        return ReconcileDependencies(
            s3=self.s3, state_table=self.state_table, bucket=self.bucket, region=self.region
        )

    def put(self, key: str, body: str, *, s3: Any = None, bucket: str | None = None) -> Upload:
        """Upload to the active region's bucket (or the given one)."""
        response = (s3 or self.s3).put_object(
            Bucket=bucket or self.bucket, Key=key, Body=body.encode("utf-8")
        )
        return Upload(version_id=str(response["VersionId"]), etag=unquoted_etag(response["ETag"]))

    def claim(
        self,
        key: str,
        upload: Upload,
        *,
        region: str = FAILED_REGION,
        status: str = STATUS_PROCESSING,
        with_etag: bool = True,
        now: datetime = CLAIMED_AT,
    ) -> None:
        """Record the batch as the trigger in `region` does, then set the workflow's status."""
        claim_batch(
            self.state_table,
            key=key,
            version_id=upload.version_id,
            bucket=self.failed_region_bucket if region == FAILED_REGION else self.bucket,
            region=region,
            now=now,
            etag=upload.etag if with_etag else None,
        )
        if status != STATUS_PROCESSING:
            self.set_status(key, status)

    def upload_in_failed_region(self, key: str, body: str, **claim: Any) -> Upload:
        """A file uploaded in the failed region and claimed there (PROCESSING unless `status` says)."""
        upload = self.put(key, body, s3=self.failed_region_s3, bucket=self.failed_region_bucket)
        self.claim(key, upload, **claim)
        return upload

    def replicate(self, key: str, upload: Upload) -> str:
        """Copy the failed region's version into the active region's bucket; returns the replica's id."""
        body = self.failed_region_s3.get_object(
            Bucket=self.failed_region_bucket, Key=key, VersionId=upload.version_id
        )["Body"].read()
        return self.put(key, body.decode("utf-8")).version_id

    def set_status(self, key: str, status: str) -> None:
        self.state_table.update_item(
            Key={"fileKey": key},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status},
        )

    def item(self, key: str) -> dict[str, Any]:
        return dict(self.state_table.get_item(Key={"fileKey": key}, ConsistentRead=True)["Item"])

    def versions(self, key: str) -> list[dict[str, Any]]:
        """The active region's bucket's versions of exactly `key`, newest first."""
        listing = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key)
        return [v for v in listing.get("Versions", []) if v["Key"] == key]

    def text(self, key: str, version_id: str | None = None) -> str:
        extra = {"VersionId": version_id} if version_id else {}
        body = self.s3.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        return str(body.decode("utf-8"))


def _clear_cached_state() -> None:
    reconcile.dependencies.cache_clear()
    # Powertools Metrics instances share one metric set: drop what earlier tests added.
    reconcile.metrics.clear_metrics()


@pytest.fixture(name="failover_cloud")
def failover_cloud_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FailoverCloud]:
    """Both buckets (versioned), the state table in ACTIVE_REGION, and the reconcile function's
    environment there (Lambda sets AWS_REGION and AWS_DEFAULT_REGION alike)."""
    with mock_aws():
        clients: dict[str, Any] = {}
        for region, bucket in ((ACTIVE_REGION, BUCKET), (FAILED_REGION, FAILED_REGION_BUCKET)):
            s3 = boto3.client("s3", region_name=region)
            if region == "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
                s3.create_bucket(Bucket=bucket)
            else:
                # the stubs type LocationConstraint as a Literal of region names; this loop's region is a str
                location = cast("BucketLocationConstraintType", region)
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            clients[region] = s3
        dynamodb = boto3.resource("dynamodb", region_name=ACTIVE_REGION)
        dynamodb.meta.client.create_table(**tables.batch_state_table(STATE_TABLE))
        env = {
            "AWS_REGION": ACTIVE_REGION,
            "AWS_DEFAULT_REGION": ACTIVE_REGION,
            "BATCH_STATE_TABLE": STATE_TABLE,
            "BUCKET": BUCKET,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_cached_state()
        yield FailoverCloud(
            s3=clients[ACTIVE_REGION],
            failed_region_s3=clients[FAILED_REGION],
            dynamodb=dynamodb,
            bucket=BUCKET,
            failed_region_bucket=FAILED_REGION_BUCKET,
            region=ACTIVE_REGION,
            state_table_name=STATE_TABLE,
        )
        _clear_cached_state()


def emf_lines(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric documents Powertools printed."""
    return [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]
