"""RegionalBucketPair: one secure bucket per region, two-way replication, optional RTC and access point."""

from __future__ import annotations

import json

import pytest

from components.regional_bucket_pair import RegionalBucketPair, RegionalBucketPairArgs
from localcloud.core.program import run_inline_program
from localcloud.core.recording import RecordedResource, RecordingMocks

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def build(args: RegionalBucketPairArgs) -> dict[str, RecordedResource]:
    mocks = RecordingMocks()

    def program() -> None:
        RegionalBucketPair("pair", args)

    run_inline_program(mocks, program, stack="test")
    return {resource.name: resource for resource in mocks.resources}


@pytest.fixture(scope="module")
def full_pair() -> dict[str, RecordedResource]:
    return build(
        RegionalBucketPairArgs(
            primary_region="us-east-1",
            secondary_region="us-west-2",
            replication=True,
            replication_time_control=True,
            multi_region_access_point=True,
        )
    )


def test_one_secure_bucket_in_each_region(full_pair: dict[str, RecordedResource]) -> None:
    for side, region in (("primary", "us-east-1"), ("secondary", "us-west-2")):
        assert full_pair[f"pair-{side}-bucket"].region == region
        assert full_pair[f"pair-{side}-versioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
        assert full_pair[f"pair-{side}-public-access"].inputs["restrictPublicBuckets"] is True
        assert full_pair[f"pair-{side}-tls-only"].region == region


def test_replication_runs_both_ways_with_rtc_and_delete_markers(
    full_pair: dict[str, RecordedResource],
) -> None:
    primary_arn = full_pair["pair-primary-bucket"].outputs["arn"]
    secondary_arn = full_pair["pair-secondary-bucket"].outputs["arn"]
    to_secondary, to_primary = full_pair["pair-to-secondary"].inputs, full_pair["pair-to-primary"].inputs
    assert to_secondary["region"] == "us-east-1" and to_primary["region"] == "us-west-2"
    assert to_secondary["rules"][0]["destination"]["bucket"] == secondary_arn
    assert to_primary["rules"][0]["destination"]["bucket"] == primary_arn
    for config in (to_secondary, to_primary):
        [rule] = config["rules"]
        assert rule["deleteMarkerReplication"]["status"] == "Enabled"
        assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert config["role"] == full_pair["pair-replication-role"].outputs["arn"]


def test_replication_role_reaches_only_the_pairs_buckets(full_pair: dict[str, RecordedResource]) -> None:
    arns = {full_pair[f"pair-{side}-bucket"].outputs["arn"] for side in ("primary", "secondary")}
    policy = json.loads(full_pair["pair-replication-policy"].inputs["policy"])
    for statement in policy["Statement"]:
        assert all(resource.removesuffix("/*") in arns for resource in statement["Resource"])


def test_access_point_spans_both_buckets_and_blocks_public_access(
    full_pair: dict[str, RecordedResource],
) -> None:
    details = full_pair["pair-access-point"].inputs["details"]
    assert {r["bucket"] for r in details["regions"]} == {
        full_pair[f"pair-{s}-bucket"].outputs["bucket"] for s in ("primary", "secondary")
    }
    assert all(details["publicAccessBlock"].values())


def test_without_replication_or_access_point_nothing_of_either_is_created() -> None:
    plain = build(
        RegionalBucketPairArgs(
            primary_region="us-east-1",
            secondary_region="us-west-2",
            replication=False,
            multi_region_access_point=False,
        )
    )
    assert not [r for r in plain.values() if r.typ == REPLICATION or "accessPoint" in r.typ]
    assert "pair-primary-bucket" in plain and "pair-secondary-bucket" in plain


def test_a_pair_in_one_region_is_refused() -> None:
    with pytest.raises(
        ValueError, match="pair: a regional pair needs two different regions, got us-east-1 twice"
    ):
        build(RegionalBucketPairArgs(primary_region="us-east-1", secondary_region="us-east-1"))
