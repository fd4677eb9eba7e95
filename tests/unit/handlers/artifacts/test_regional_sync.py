"""Regional sync: one log item per (host, build), counted through the GSI; retries are bounded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.artifacts import regional_sync
from handlers.artifacts.contract import HOSTS_PER_REGION_CEILING, RegionalSyncSettings
from handlers.artifacts.regional_sync import (
    BATCH_WRITE_MAX_ITEMS,
    MAX_DELAY_SECONDS,
    HostLogWriteIncompleteError,
    host_records,
    write_host_records,
)
from handlers.environment import SettingError

from ..conftest import FakeLambdaContext
from .conftest import (
    DESTINATIONS,
    HOST_LOG_TABLE,
    SYNC_REGION,
    ArtifactCloud,
    object_created_record,
    s3_event,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGIONAL_BUCKET = DESTINATIONS[1]["bucket"]  # the us-west-2 bucket: SYNC_REGION
NOW = datetime(2024, 6, 1, 10, 0, 5, tzinfo=UTC)


def arrival(key: str = "build-b42.zip") -> dict[str, Any]:
    return s3_event(object_created_record(REGIONAL_BUCKET, key, "v1"))


def test_a_build_arriving_in_a_region_is_deployed_to_every_host_once(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN HOSTS_PER_REGION=300 and a build copied into the us-west-2 bucket
    # WHEN regional sync handles the bucket's event
    result = regional_sync.lambda_handler(arrival(), lambda_context)
    # THEN COUNT by build (its key, as the seed's scan asks) through the GSI equals the number of hosts
    assert result == {"region": SYNC_REGION, "builds": ["build-b42.zip"], "hostsPerBuild": 300}
    assert cloud.hosts_with_build("build-b42.zip") == 300
    # AND each item records the host, its region, its peer in the fan-out-4 tree and the artifact
    item = cloud.dynamodb.get_item(
        TableName=HOST_LOG_TABLE,
        Key={"host_id": {"S": "us-west-2-host-00005"}, "build_id": {"S": "build-b42.zip"}},
    )["Item"]
    assert {name: value["S"] for name, value in item.items()} | {"deployedAt": "-"} == {
        "host_id": "us-west-2-host-00005",
        "build_id": "build-b42.zip",
        "region": SYNC_REGION,
        "status": "DEPLOYED",
        "deployedAt": "-",
        "sourceBucket": REGIONAL_BUCKET,
        "peer": "us-west-2-host-00001",
    }


def test_a_redelivered_event_keeps_the_host_count(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a build already rolled out
    regional_sync.lambda_handler(arrival(), lambda_context)
    # WHEN S3 delivers the same event again
    regional_sync.lambda_handler(arrival(), lambda_context)
    # THEN the same items were overwritten: the count did not double
    assert cloud.hosts_with_build("build-b42.zip") == 300


def test_two_builds_are_counted_separately(cloud: ArtifactCloud, lambda_context: FakeLambdaContext) -> None:
    regional_sync.lambda_handler(arrival("build-b1.zip"), lambda_context)
    regional_sync.lambda_handler(arrival("build-b2.zip"), lambda_context)
    assert (cloud.hosts_with_build("build-b1.zip"), cloud.hosts_with_build("build-b2.zip")) == (300, 300)


def test_the_default_fleet_of_5000_hosts_is_fully_recorded(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the seed's fleet size
    monkeypatch.setenv("HOSTS_PER_REGION", "5000")
    regional_sync.dependencies.cache_clear()
    # WHEN a build arrives
    regional_sync.lambda_handler(arrival(), lambda_context)
    # THEN all 5000 hosts are logged for it
    assert cloud.hosts_with_build("build-b42.zip") == 5000


def test_any_object_the_bucket_announces_is_rolled_out_under_its_own_key(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an event announcing a build and a file a person copied in under a folder, with a space
    event = s3_event(
        object_created_record(REGIONAL_BUCKET, "build-b42.zip", "v1"),
        object_created_record(REGIONAL_BUCKET, "releases/test file.zip", "v1"),
    )
    # WHEN regional sync handles it
    result = regional_sync.lambda_handler(event, lambda_context)
    # THEN both are deployed to every host, each counted by its decoded key
    assert result["builds"] == ["build-b42.zip", "releases/test file.zip"]
    assert cloud.hosts_with_build("releases/test file.zip") == 300
    assert cloud.hosts_with_build("build-b42.zip") == 300


def test_hosts_form_a_fan_out_4_tree_rooted_at_the_bucket() -> None:
    # GIVEN/WHEN the records for 21 hosts
    items = host_records(region="r-1", bucket="bk", key="build-b.zip", hosts=21, deployed_at=NOW)
    peers = {item["host_id"]["S"]: item["peer"]["S"] for item in items}
    # THEN host 0 got it from the bucket, hosts 1-4 from host 0, hosts 5-8 from host 1, ... 17-20 from 4
    assert peers["r-1-host-00000"] == "s3://bk/build-b.zip"
    assert {peers[f"r-1-host-{n:05d}"] for n in range(1, 5)} == {"r-1-host-00000"}
    assert {peers[f"r-1-host-{n:05d}"] for n in range(5, 9)} == {"r-1-host-00001"}
    assert peers["r-1-host-00020"] == "r-1-host-00004"


class ThrottlingDynamoDB:
    """A fake client: the first `throttled_calls` BatchWriteItem calls leave `leave` items unprocessed
    (with `spare_retries`, only first-time full batches count, so concurrent retries always succeed)."""

    def __init__(self, *, throttled_calls: int, leave: int = 7, spare_retries: bool = False) -> None:
        self.throttled_calls = throttled_calls
        self.leave = leave
        self.spare_retries = spare_retries
        self.calls: list[int] = []
        self.throttled = 0
        self.written: dict[str, Any] = {}
        self.lock = threading.Lock()

    def batch_write_item(self, *, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        [(table, requests)] = RequestItems.items()
        assert len(requests) <= BATCH_WRITE_MAX_ITEMS
        with self.lock:
            self.calls.append(len(requests))
            eligible = not self.spare_retries or len(requests) == BATCH_WRITE_MAX_ITEMS
            throttle = eligible and self.throttled < self.throttled_calls
            self.throttled += throttle
        if throttle:
            kept, unprocessed = requests[: -self.leave], requests[-self.leave :]
        else:
            kept, unprocessed = requests, []
        for request in kept:
            self.written[request["PutRequest"]["Item"]["host_id"]["S"]] = request
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}


def items(count: int) -> Sequence[dict[str, Any]]:
    return host_records(region="r-1", bucket="bk", key="build-b.zip", hosts=count, deployed_at=NOW)


def test_unprocessed_items_are_retried_with_bounded_jittered_backoff_until_written() -> None:
    # GIVEN a table that throttles the first call (7 of 25 items unprocessed), then accepts everything
    client = ThrottlingDynamoDB(throttled_calls=1)
    delays: list[float] = []
    # WHEN 25 host records are written
    # a test double: implements only the calls the code under test makes
    report = write_host_records(
        cast("DynamoDBClient", client), HOST_LOG_TABLE, items(25), max_attempts=5, sleep=delays.append
    )
    # THEN the 7 were resent once after one backoff pause, and every item is written
    assert client.calls == [25, 7]
    assert len(client.written) == 25
    assert (report.items, report.requests, report.retried_items) == (25, 2, 7)
    assert len(delays) == 1 and 0 <= delays[0] <= MAX_DELAY_SECONDS


def test_writing_gives_up_after_max_attempts_and_names_what_was_left() -> None:
    # GIVEN a table that never stops throttling 7 items of every request
    client = ThrottlingDynamoDB(throttled_calls=10_000)
    delays: list[float] = []
    # WHEN/THEN the writer gives up after 4 attempts, saying how many of how many items were left
    with pytest.raises(
        HostLogWriteIncompleteError, match=f"7 of 25 host records .* {HOST_LOG_TABLE} after 4 attempts"
    ):
        write_host_records(
            cast("DynamoDBClient", client), HOST_LOG_TABLE, items(25), max_attempts=4, sleep=delays.append
        )
    # AND it made exactly 4 requests with a capped pause between each
    assert len(client.calls) == 4 and len(delays) == 3
    assert all(0 <= delay <= MAX_DELAY_SECONDS for delay in delays)


def test_backoff_ceilings_grow_exponentially_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN jitter pinned to its ceiling
    monkeypatch.setattr(regional_sync.random, "uniform", lambda low, high: high)
    # WHEN/THEN each pause doubles until the cap
    ceilings = [regional_sync._backoff_seconds(attempt) for attempt in range(8)]
    assert ceilings[:3] == [0.05, 0.1, 0.2]
    assert ceilings[-1] == MAX_DELAY_SECONDS and ceilings == sorted(ceilings)


def test_requests_in_flight_write_every_item_in_batches_of_25() -> None:
    # GIVEN 1000 items and four requests in flight
    client = ThrottlingDynamoDB(throttled_calls=3, spare_retries=True)
    # WHEN written
    report = write_host_records(
        cast("DynamoDBClient", client),
        HOST_LOG_TABLE,
        items(1000),
        max_attempts=3,
        sleep=lambda _: None,
        max_in_flight=4,
    )
    # THEN all are written in 40 full batches plus the 3 retries
    assert len(client.written) == 1000
    assert (report.requests, report.retried_items) == (43, 21)


# ---- the fan-out cap ----------------------------------------------------------------------------------


def test_a_fan_out_above_the_stacks_cap_is_refused_before_any_host_is_written(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a function whose HOSTS_PER_REGION was raised past the cap the stack deployed with
    monkeypatch.setenv("MAX_HOSTS_PER_REGION", "200")
    regional_sync.dependencies.cache_clear()
    # WHEN a build arrives
    with pytest.raises(SettingError, match="HOSTS_PER_REGION=300 is above MAX_HOSTS_PER_REGION=200"):
        regional_sync.lambda_handler(arrival(), lambda_context)
    # THEN the function refuses it (Lambda's retries, then the alarmed DLQ) and writes no host record
    assert cloud.hosts_with_build("build-b42.zip") == 0


def test_a_fan_out_at_the_cap_is_written_in_full(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN HOSTS_PER_REGION equal to the cap
    monkeypatch.setenv("MAX_HOSTS_PER_REGION", "300")
    regional_sync.dependencies.cache_clear()
    # WHEN a build arrives THEN every host is recorded
    regional_sync.lambda_handler(arrival(), lambda_context)
    assert cloud.hosts_with_build("build-b42.zip") == 300


@pytest.mark.parametrize("cap", ["0", str(HOSTS_PER_REGION_CEILING + 1)])
def test_the_cap_itself_must_be_within_the_contracts_ceiling(cap: str) -> None:
    environment = {"HOST_LOG_TABLE": HOST_LOG_TABLE, "HOSTS_PER_REGION": "1", "MAX_HOSTS_PER_REGION": cap}
    with pytest.raises(
        SettingError, match=f"MAX_HOSTS_PER_REGION must be from 1 to {HOSTS_PER_REGION_CEILING}"
    ):
        RegionalSyncSettings.from_environment(environment)
