"""S3 bucket replication on top of a real emulator: what S3 copies, when, and what it never copies.

S3 replicates as the configuration's role: these tests give it one that S3 may assume and that may
replicate between any buckets (test_replication_role.py is about roles that may not).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.core.emulator import Emulator
from localcloud.services.s3 import replication as s3_replication
from localcloud.services.s3.replication import (
    COMPLETED,
    IDLE_POLL_INTERVAL,
    PENDING,
    REPLICA,
    ReplicationConfig,
    S3Replicator,
)
from tests.unit.localcloud.conftest import role_with

EAST, WEST = "us-east-1", "us-west-2"
ASSUME_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
# What AWS's replication setup guide grants the role, here on every bucket.
SOURCE_BUCKET_ACTIONS = ("s3:GetReplicationConfiguration", "s3:ListBucket")
SOURCE_OBJECT_ACTIONS = (
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
)
DESTINATION_OBJECT_ACTIONS = ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags")
REPLICATION_ACTIONS = (*SOURCE_BUCKET_ACTIONS, *SOURCE_OBJECT_ACTIONS, *DESTINATION_OBJECT_ACTIONS)


def replication_permissions(*, without: str | None = None) -> list[dict[str, Any]]:
    """The role's statements: every replication action (but `without`), on every bucket and object."""
    statements = []
    for actions, resource in (
        (SOURCE_BUCKET_ACTIONS, "arn:aws:s3:::*"),
        (SOURCE_OBJECT_ACTIONS + DESTINATION_OBJECT_ACTIONS, "arn:aws:s3:::*/*"),
    ):
        granted = [action for action in actions if action != without]
        statements.append({"Effect": "Allow", "Action": granted, "Resource": resource})
    return statements


@pytest.fixture(scope="module")
def role(emulator: Emulator) -> str:
    """A replication role S3 may assume, allowed to replicate between any buckets."""
    return role_with(emulator, replication_permissions(), trust=ASSUME_S3)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_bucket(emulator: Emulator, region: str) -> str:
    name = _name("bucket")
    s3 = emulator.client("s3", region)
    location = {} if region == EAST else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def rule(
    destination: str, *, prefix: str = "", status: str = "Enabled", markers: str = "Disabled"
) -> dict[str, Any]:
    return {
        "ID": _name("rule"),
        "Priority": 1,
        "Status": status,
        "Filter": {"Prefix": prefix},
        "Destination": {"Bucket": f"arn:aws:s3:::{destination}"},
        "DeleteMarkerReplication": {"Status": markers},
    }


@pytest.fixture
def replicate(emulator: Emulator, role: str) -> Iterator[Callable[..., S3Replicator]]:
    """Put replication rules on buckets and record them, as the provisioner does; start a replicator (or,
    with start=False, only take its baseline: the test then drives its passes with poll_once)."""
    started: list[S3Replicator] = []

    def _replicate(
        *pairs: tuple[str, str, dict[str, Any]], lag_seconds: float = 0.0, start: bool = True
    ) -> S3Replicator:
        configs = []
        for bucket, region, bucket_rule in pairs:
            emulator.client("s3", region).put_bucket_replication(
                Bucket=bucket, ReplicationConfiguration={"Role": role, "Rules": [bucket_rule]}
            )
            configs.append(
                ReplicationConfig(bucket=bucket, region=region, role_arn=role, rules=(bucket_rule,))
            )
        replicator = S3Replicator(emulator.client, configs, lag_seconds=lag_seconds)
        started.append(replicator)
        if start:
            replicator.start()
        else:
            replicator.before_start()
        return replicator

    yield _replicate
    for replicator in started:
        replicator.stop()


def keys_and_versions(emulator: Emulator, bucket: str, region: str) -> dict[str, int]:
    listing = emulator.client("s3", region).list_object_versions(Bucket=bucket)
    counts: dict[str, int] = {}
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        counts[entry["Key"]] = counts.get(entry["Key"], 0) + 1
    return counts


def test_object_is_copied_to_the_other_region_with_its_bytes_and_metadata_once_the_lag_has_passed(
    emulator: Emulator, replicate: Callable[..., S3Replicator], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a replicator with a 0.4 s lag whose passes the test runs, on a clock the test moves
    clock = SimpleNamespace(now=1_000.0)
    monkeypatch.setattr(
        s3_replication, "time", SimpleNamespace(monotonic=lambda: clock.now, sleep=time.sleep)
    )
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate((source, EAST, rule(destination)), lag_seconds=0.4, start=False)
    # AND an object written at 1,000 s
    put = emulator.client("s3", EAST).put_object(
        Bucket=source,
        Key="reports/a.json",
        Body=b'{"n": 1}',
        ContentType="application/json",
        Metadata={"owner": "ops"},
    )
    west = emulator.client("s3", WEST)

    def copied() -> bool:
        try:
            west.head_object(Bucket=destination, Key="reports/a.json")
        except ClientError:
            return False
        return True

    # WHEN passes run when it is written and a millisecond before the lag has passed
    for now in (1_000.0, 1_000.399):
        clock.now = now
        replicator.poll_once()
        # THEN the lag holds the copy back: the version is pending
        assert not copied()
        assert replicator.replication_status(source, "reports/a.json", put["VersionId"]) == PENDING
    # WHEN a pass runs once the lag has passed
    clock.now = 1_000.0 + 0.4
    replicator.poll_once()
    # THEN the object is in the other region with its bytes, content type, metadata and encryption
    replica = west.get_object(Bucket=destination, Key="reports/a.json")
    assert replica["Body"].read() == b'{"n": 1}'
    assert replica["ContentType"] == "application/json"
    assert replica["Metadata"] == {"owner": "ops"}
    assert replica["ServerSideEncryption"] == "AES256"
    assert replicator.replication_status(source, "reports/a.json", put["VersionId"]) == COMPLETED
    assert replicator.replication_status(destination, "reports/a.json", replica["VersionId"]) == REPLICA


def test_prefix_filter_is_honoured(emulator: Emulator, replicate: Callable[..., S3Replicator]) -> None:
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate((source, EAST, rule(destination, prefix="in/")))
    s3 = emulator.client("s3", EAST)
    s3.put_object(Bucket=source, Key="in/a.txt", Body=b"a")
    s3.put_object(Bucket=source, Key="out/b.txt", Body=b"b")
    replicator.wait_replicated(timeout=5)
    assert keys_and_versions(emulator, destination, WEST) == {"in/a.txt": 1}


def test_two_way_replication_does_not_loop(
    emulator: Emulator, replicate: Callable[..., S3Replicator]
) -> None:
    east, west = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate((east, EAST, rule(west)), (west, WEST, rule(east)))
    emulator.client("s3", EAST).put_object(Bucket=east, Key="from-east.txt", Body=b"e")
    emulator.client("s3", WEST).put_object(Bucket=west, Key="from-west.txt", Body=b"w")
    replicator.wait_replicated(timeout=5)
    replicator.wait_replicated(timeout=5)  # further passes: a loop would add versions now
    expected = {"from-east.txt": 1, "from-west.txt": 1}
    assert keys_and_versions(emulator, east, EAST) == expected
    assert keys_and_versions(emulator, west, WEST) == expected


def test_a_disabled_rule_copies_nothing(emulator: Emulator, replicate: Callable[..., S3Replicator]) -> None:
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate((source, EAST, rule(destination, status="Disabled")))
    emulator.client("s3", EAST).put_object(Bucket=source, Key="a.txt", Body=b"a")
    replicator.wait_replicated(timeout=5)
    assert keys_and_versions(emulator, destination, WEST) == {}
    assert replicator.replication_status(source, "a.txt") is None


def test_delete_markers_replicate_only_when_the_rule_says_so(emulator: Emulator, role: str) -> None:
    source = make_bucket(emulator, EAST)
    with_markers, without_markers = make_bucket(emulator, WEST), make_bucket(emulator, WEST)
    rules = [rule(with_markers, markers="Enabled"), rule(without_markers)]
    rules[1]["Priority"] = 2
    s3 = emulator.client("s3", EAST)
    s3.put_bucket_replication(Bucket=source, ReplicationConfiguration={"Role": role, "Rules": rules})
    config = ReplicationConfig(bucket=source, region=EAST, role_arn=role, rules=tuple(rules))
    replicator = S3Replicator(emulator.client, [config])
    replicator.start()
    try:
        s3.put_object(Bucket=source, Key="gone.txt", Body=b"x")
        replicator.wait_replicated(timeout=5)
        s3.delete_object(Bucket=source, Key="gone.txt")
        replicator.wait_replicated(timeout=5)
    finally:
        replicator.stop()
    west = emulator.client("s3", WEST)
    assert west.list_object_versions(Bucket=with_markers)["DeleteMarkers"][0]["IsLatest"]
    assert "DeleteMarkers" not in west.list_object_versions(Bucket=without_markers)
    assert keys_and_versions(emulator, without_markers, WEST) == {"gone.txt": 1}


def test_an_idle_replicator_looks_less_and_less_often_and_a_write_to_its_bucket_wakes_it(
    emulator: Emulator, role: str
) -> None:
    # GIVEN a replicator over one source bucket, not yet running its thread (its passes driven here)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    bucket_rule = rule(destination)
    emulator.client("s3", EAST).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [bucket_rule]}
    )
    config = ReplicationConfig(bucket=source, region=EAST, role_arn=role, rules=(bucket_rule,))
    replicator = S3Replicator(emulator.client, [config])
    replicator.before_start()
    woken: list[bool] = []
    replicator.wake = lambda: woken.append(True)  # type: ignore[method-assign]
    try:
        # WHEN its passes find nothing THEN each asks to wait longer, up to the idle interval
        waits = [replicator.run_once() for _ in range(8)]
        assert waits == sorted(waits) and waits[0] < waits[-1] == IDLE_POLL_INTERVAL
        # AND a write to another bucket leaves it asleep, a write to its source bucket wakes it
        emulator.client("s3", WEST).put_object(Bucket=destination, Key="unrelated.txt", Body=b"x")
        assert woken == []
        emulator.client("s3", EAST).put_object(Bucket=source, Key="new.txt", Body=b"n")
        assert woken == [True]
        # AND the pass it wakes to copies the object and asks for the next pass soon
        assert replicator.run_once() == replicator.poll_interval
        assert keys_and_versions(emulator, destination, WEST) == {"unrelated.txt": 1, "new.txt": 1}
    finally:
        replicator.stop()
