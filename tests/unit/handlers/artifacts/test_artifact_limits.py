"""The artifact distribution's limits at their edges: one under, at, and one over each.

Build requests (commit 4-64 hex characters, build id 64, labels 256), keys (S3's 1,024 bytes), execution
names (Step Functions' 80 characters), host-log writes (BatchWriteItem's 25 items, the fan-out cap and its
ceiling) and what a distribution reports (error text 500 characters, SNS subjects 100).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.artifacts.build_keys import sanitise_build_id
from handlers.artifacts.build_worker import InvalidBuildRequest, parse_build_request
from handlers.artifacts.contract import HOSTS_PER_REGION_CEILING, RegionalSyncSettings, object_key_problem
from handlers.artifacts.process_results import ascii_subject, error_text
from handlers.artifacts.regional_sync import host_records, write_host_records
from handlers.artifacts.replication_worker import execution_name
from handlers.environment import SettingError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)


def build_request(**payload: Any) -> Any:
    return parse_build_request(
        json.dumps({"commit": "abc1234", **payload}), build_id_attribute=None, message_id="m-1"
    )


# ---- build requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(3, False), (4, True), (63, True), (64, True), (65, False)],
    ids=["short", "shortest", "under", "at", "over"],
)
def test_a_commit_is_4_to_64_hex_characters(length: int, accepted: bool) -> None:
    # GIVEN a commit of each length at either end of 4-64
    commit = "a" * length
    # WHEN the request is parsed THEN within the range it is the build's commit; outside, refused saying so
    if accepted:
        assert build_request(commit=commit).commit == commit
    else:
        with pytest.raises(InvalidBuildRequest, match="commit must be 4 to 64 lowercase hex characters"):
            build_request(commit=commit)


@EDGES
def test_a_build_id_is_kept_whole_up_to_64_characters_and_cut_there(offset: int, accepted: bool) -> None:
    # GIVEN a raw id of 63, 64 or 65 allowed characters
    raw = "".join("abcdefghij"[n % 10] for n in range(64 + offset))
    # WHEN it is sanitised THEN it is whole up to 64 characters, its first 64 beyond
    assert sanitise_build_id(raw) == (raw if accepted else raw[:64])


@EDGES
@pytest.mark.parametrize("field", ["branch", "requestedBy"])
def test_a_label_is_kept_whole_up_to_256_characters_and_cut_there(
    field: str, offset: int, accepted: bool
) -> None:
    # GIVEN a branch or requester of 255, 256 or 257 characters
    value = "".join("label-"[n % 6] for n in range(256 + offset))
    # WHEN the request is parsed THEN the label is whole up to 256, its first 256 beyond
    request = build_request(**{field: value})
    kept = request.branch if field == "branch" else request.requested_by
    assert kept == (value if accepted else value[:256])


# ---- keys and names -----------------------------------------------------------------------------------


@EDGES
def test_an_object_key_may_be_up_to_1024_bytes_of_utf8(offset: int, accepted: bool) -> None:
    # GIVEN a key of 1,023, 1,024 or 1,025 bytes, in two-byte characters and one ASCII one (bytes, not
    # characters: its 513 characters or so are far under 1,024)
    size = 1024 + offset
    key = "é" * (size // 2) + "k" * (size % 2)
    assert len(key.encode()) == size
    # WHEN it is checked THEN up to 1,024 bytes it is a key; one byte more is named as too long
    assert object_key_problem(key) == (None if accepted else "is longer than S3's 1024 bytes of UTF-8")


@EDGES
def test_an_execution_name_keeps_a_stem_of_up_to_63_characters_and_is_at_most_80(
    offset: int, accepted: bool
) -> None:
    # GIVEN a key whose stem (its file name less .zip) is 62, 63 or 64 characters: 63 is what 80 leaves
    # beside a 16-character hash and its dash
    stem = "".join("abcdefgh"[n % 8] for n in range(63 + offset))
    # WHEN the execution is named
    name = execution_name("bucket", f"builds/{stem}.zip", "v1")
    # THEN the stem is whole up to 63 characters, its first 63 beyond, and the name never passes 80
    kept, digest = name.rsplit("-", 1)
    assert kept == (stem if accepted else stem[:63])
    assert len(digest) == 16 and len(name) == min(80, len(stem) + 17)


# ---- host-log writes ----------------------------------------------------------------------------------


class RecordingDynamoDB:
    """A fake client that takes every BatchWriteItem whole and records each request's size."""

    def __init__(self) -> None:
        self.requests: list[int] = []

    def batch_write_item(self, *, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        [(_, requests)] = RequestItems.items()
        self.requests.append(len(requests))
        return {"UnprocessedItems": {}}


@pytest.mark.parametrize(
    ("hosts", "requests"),
    [(24, [24]), (25, [25]), (26, [25, 1]), (50, [25, 25]), (51, [25, 25, 1])],
    ids=["under", "at", "over", "twice", "twice-over"],
)
def test_host_records_are_written_25_to_a_request(hosts: int, requests: list[int]) -> None:
    # GIVEN records of 24, 25, 26, 50 or 51 hosts
    client = RecordingDynamoDB()
    now = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    records = host_records(region="r-1", bucket="bk", key="build-b.zip", hosts=hosts, deployed_at=now)
    # WHEN they are written THEN in requests of BatchWriteItem's 25 items, the last one with the rest
    report = write_host_records(cast("DynamoDBClient", client), "log", records, sleep=lambda _: None)
    assert client.requests == requests
    assert report.requests == len(requests)


def sync_settings(hosts: int, cap: int) -> RegionalSyncSettings:
    return RegionalSyncSettings.from_environment(
        {"HOST_LOG_TABLE": "log", "HOSTS_PER_REGION": str(hosts), "MAX_HOSTS_PER_REGION": str(cap)}
    )


@EDGES
def test_the_fan_out_may_be_up_to_the_stacks_cap(offset: int, accepted: bool) -> None:
    # GIVEN a cap of 300 hosts and a fan-out of 299, 300 or 301
    hosts = 300 + offset
    # WHEN the settings are read THEN up to the cap they hold; one more is refused naming both
    if accepted:
        assert sync_settings(hosts, 300).hosts_per_region == hosts
    else:
        with pytest.raises(SettingError, match="HOSTS_PER_REGION=301 is above MAX_HOSTS_PER_REGION=300"):
            sync_settings(hosts, 300)


@pytest.mark.parametrize(
    ("cap", "accepted"),
    [
        (0, False),
        (1, True),
        (HOSTS_PER_REGION_CEILING - 1, True),
        (HOSTS_PER_REGION_CEILING, True),
        (HOSTS_PER_REGION_CEILING + 1, False),
    ],
    ids=["zero", "one", "under", "at", "over"],
)
def test_the_cap_may_be_from_1_to_the_ceiling_of_50000(cap: int, accepted: bool) -> None:
    # GIVEN a cap at either end of 1-50,000 (and a fan-out of one host)
    assert HOSTS_PER_REGION_CEILING == 50_000
    # WHEN the settings are read THEN within the range they hold; outside, refused naming the range
    if accepted:
        assert sync_settings(1, cap).max_hosts_per_region == cap
    else:
        with pytest.raises(SettingError, match=f"MAX_HOSTS_PER_REGION must be from 1 to 50000, got {cap}"):
            sync_settings(1, cap)


@pytest.mark.parametrize(("hosts", "accepted"), [(0, False), (1, True)], ids=["zero", "one"])
def test_the_fan_out_is_at_least_one_host(hosts: int, accepted: bool) -> None:
    # GIVEN a fan-out of no host or one WHEN the settings are read THEN one holds and none is refused
    if accepted:
        assert sync_settings(hosts, 5).hosts_per_region == 1
    else:
        with pytest.raises(SettingError, match="HOSTS_PER_REGION must be at least 1, got 0"):
            sync_settings(hosts, 5)


# ---- what a distribution reports ----------------------------------------------------------------------


@EDGES
def test_an_error_is_reported_whole_up_to_500_characters_and_cut_there(offset: int, accepted: bool) -> None:
    # GIVEN a copy's error whose "<type>: <message>" is 499, 500 or 501 characters
    cause = "".join("cause-"[n % 6] for n in range(500 + offset - len("SlowDown: ")))
    text = f"SlowDown: {cause}"
    # WHEN it is put in words THEN whole up to 500 characters, its first 500 beyond
    assert error_text({"Error": "SlowDown", "Cause": cause}) == (text if accepted else text[:500])


@EDGES
def test_an_sns_subject_is_kept_whole_up_to_100_characters_and_cut_there(offset: int, accepted: bool) -> None:
    # GIVEN a subject of 99, 100 or 101 characters
    subject = "".join("subject "[n % 8] for n in range(100 + offset))
    # WHEN it is made fit for SNS THEN it is whole up to 100 characters, its first 100 beyond
    assert ascii_subject(subject) == (subject if accepted else subject[:100])
