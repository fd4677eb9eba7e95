"""Active-region signal: read from the Route 53 TXT record, cached for at most the TTL, loud when unset.

(The ARC routing-control backend and the runbook's switch: tests/unit/handlers/active_region/.)
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.active_region.signal import (
    ActiveRegionUnknownError,
    Route53ActiveRegion,
    RoutingControlActiveRegion,
    from_environment,
    is_active,
)

from .conftest import (
    ACTIVE_REGION,
    ACTIVE_REGION_RECORD,
    RECORD_TTL_SECONDS,
    STANDBY_REGION,
    BatchCloud,
)

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingRoute53:
    """The real (moto) client, counting ListResourceRecordSets calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def list_resource_record_sets(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self._client.list_resource_record_sets(**kwargs)


class StubRoute53:
    """Answers every listing with the given record sets."""

    def __init__(self, *record_sets: dict[str, Any]) -> None:
        self.record_sets = list(record_sets)

    def list_resource_record_sets(self, **_: Any) -> Any:
        return {"ResourceRecordSets": self.record_sets, "IsTruncated": False, "MaxItems": "1"}


def reader(
    client: Any, *, clock: FakeClock | None = None, name: str = ACTIVE_REGION_RECORD
) -> Route53ActiveRegion:
    return Route53ActiveRegion(
        client,
        zone_id="Z0123456789EXAMPLE",
        record_name=name,
        cache_seconds=RECORD_TTL_SECONDS,
        clock=clock or FakeClock(),
    )


def txt_record(name: str, *values: str) -> dict[str, Any]:
    return {"Name": name, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": v} for v in values]}


def test_the_active_region_is_the_txt_record_without_its_quotes(batch_cloud: BatchCloud) -> None:
    # GIVEN the record holds "eu-west-1" (quoted, as Route 53 stores TXT values)
    source = Route53ActiveRegion(
        batch_cloud.route53, zone_id=batch_cloud.zone_id, record_name=ACTIVE_REGION_RECORD, cache_seconds=60
    )
    # WHEN / THEN the reader answers the bare region name
    assert source.active_region() == ACTIVE_REGION
    assert is_active(source, ACTIVE_REGION) and not is_active(source, STANDBY_REGION)


def test_a_flip_is_seen_only_after_the_ttl_and_reads_within_it_cost_no_api_call(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN a reader that has just read the record
    clock = FakeClock()
    route53 = CountingRoute53(batch_cloud.route53)
    # a test double: implements only the calls the code under test makes
    source = Route53ActiveRegion(
        cast("Route53Client", route53),
        zone_id=batch_cloud.zone_id,
        record_name=ACTIVE_REGION_RECORD,
        cache_seconds=60,
        clock=clock,
    )
    assert source.active_region() == ACTIVE_REGION
    # WHEN the runbook flips the record and reads continue within the TTL
    batch_cloud.set_active_region(STANDBY_REGION)
    clock.now += 59.9
    answers_within_ttl = {source.active_region() for _ in range(100)}
    # THEN they answer the cached region with no further API call (Route 53 allows 5 requests/s/account)
    assert answers_within_ttl == {ACTIVE_REGION} and route53.calls == 1
    # AND once the TTL has passed the next read sees the flip
    clock.now += 0.1
    assert source.active_region() == STANDBY_REGION and route53.calls == 2


def test_a_missing_record_fails_naming_the_zone_the_record_and_how_to_set_it(batch_cloud: BatchCloud) -> None:
    # GIVEN the zone has no active-region record
    batch_cloud.delete_active_region_record()
    source = from_environment(batch_cloud.route53)
    # WHEN / THEN reading it raises a message an operator can act on
    with pytest.raises(ActiveRegionUnknownError) as raised:
        source.active_region()
    message = str(raised.value)
    assert f"{ACTIVE_REGION_RECORD}." in message and batch_cloud.zone_id in message
    assert "UPSERT" in message and "TXT" in message


def test_a_failed_read_is_not_cached(batch_cloud: BatchCloud) -> None:
    # GIVEN a read that failed because the record was missing
    batch_cloud.delete_active_region_record()
    clock = FakeClock()
    source = Route53ActiveRegion(
        batch_cloud.route53,
        zone_id=batch_cloud.zone_id,
        record_name=ACTIVE_REGION_RECORD,
        cache_seconds=60,
        clock=clock,
    )
    with pytest.raises(ActiveRegionUnknownError):
        source.active_region()
    # WHEN the record is set, within what would have been the TTL
    batch_cloud.set_active_region(STANDBY_REGION)
    clock.now += 1
    # THEN the next read sees it
    assert source.active_region() == STANDBY_REGION


def test_the_next_record_in_the_zone_is_not_taken_for_the_missing_one() -> None:
    # GIVEN Route 53 answers a listing from our (missing) name with the next record in its order
    source = reader(StubRoute53(txt_record("active-region-old.regionflow.internal.", '"us-west-2"')))
    # WHEN / THEN that record is not read as ours
    with pytest.raises(ActiveRegionUnknownError, match=re.escape(f"no TXT record {ACTIVE_REGION_RECORD}.")):
        source.active_region()


def test_a_record_of_another_type_is_not_read_as_the_signal() -> None:
    # GIVEN the name exists, but only as a CNAME
    cname = {
        "Name": f"{ACTIVE_REGION_RECORD}.",
        "Type": "CNAME",
        "ResourceRecords": [{"Value": "x.example."}],
    }
    # WHEN / THEN the signal is missing
    with pytest.raises(ActiveRegionUnknownError, match="no TXT record"):
        reader(StubRoute53(cname)).active_region()


def test_record_names_match_whatever_their_trailing_dot_and_case() -> None:
    # GIVEN a record name configured with a trailing dot and capitals, Route 53 answering in lower case
    source = reader(
        StubRoute53(txt_record(f"{ACTIVE_REGION_RECORD}.", '"us-west-2"')),
        name="Active-Region.RegionFlow.internal.",
    )
    # WHEN / THEN it is the same record
    assert source.active_region() == STANDBY_REGION


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (['""'], "is empty"),
        (["   "], "is empty"),
        (['"eu-west-1 please"'], "not a region name"),
        (['"EU-WEST-1"'], "not a region name"),
        (['"eu-west-1" "x"'], "not a region name"),
        (['"eu-west-1"', '"us-west-2"'], "holds 2 values"),
    ],
)
def test_a_value_that_is_not_one_region_name_is_refused(values: list[str], problem: str) -> None:
    # GIVEN the record holds something other than exactly one region name
    source = reader(StubRoute53(txt_record(f"{ACTIVE_REGION_RECORD}.", *values)))
    # WHEN / THEN no region is treated as active, and the message says what is wrong with the record
    with pytest.raises(ActiveRegionUnknownError, match=problem):
        source.active_region()


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "il-central-1"]
)
def test_every_region_name_shape_is_accepted(region: str) -> None:
    assert (
        reader(StubRoute53(txt_record(f"{ACTIVE_REGION_RECORD}.", f'"{region}"'))).active_region() == region
    )


def test_an_unquoted_value_is_accepted() -> None:
    assert (
        reader(StubRoute53(txt_record(ACTIVE_REGION_RECORD, "us-west-2"))).active_region() == STANDBY_REGION
    )


def test_from_environment_uses_the_settings_the_component_passes(batch_cloud: BatchCloud) -> None:
    # GIVEN the function's environment (zone id, record name, TTL)
    # WHEN the reader is built from it
    source = from_environment(batch_cloud.route53)
    # THEN it reads the configured record
    assert isinstance(source, Route53ActiveRegion)
    assert source.zone_id == batch_cloud.zone_id
    assert source.record_name == f"{ACTIVE_REGION_RECORD}."
    assert source.active_region() == ACTIVE_REGION


def test_a_negative_cache_time_is_refused() -> None:
    with pytest.raises(ValueError, match="cache_seconds"):
        Route53ActiveRegion(
            cast("Route53Client", StubRoute53()), zone_id="Z1", record_name="r.example", cache_seconds=-1
        )


def test_a_failover_record_is_not_read_as_the_signal() -> None:
    # GIVEN the name is ARC's failover pair, whose answer depends on health checks the API does not evaluate
    primary = {
        **txt_record(f"{ACTIVE_REGION_RECORD}.", f'"{ACTIVE_REGION}"'),
        "SetIdentifier": "primary",
        "Failover": "PRIMARY",
        "HealthCheckId": "0a1b2c3d-0000-4000-8000-000000000001",
    }
    # WHEN / THEN the record reader refuses it and points at the routing-control settings
    with pytest.raises(ActiveRegionUnknownError, match="is a PRIMARY record") as raised:
        reader(StubRoute53(primary)).active_region()
    assert "ACTIVE_REGION_ROUTING_CONTROLS" in str(raised.value)


def test_from_environment_can_be_told_not_to_cache(batch_cloud: BatchCloud) -> None:
    # GIVEN the environment's TTL of 60 s, overridden as the failover runbook does
    route53 = CountingRoute53(batch_cloud.route53)
    source = from_environment(cast("Route53Client", route53), cache_seconds=0)
    # WHEN the record flips between two reads
    assert source.active_region() == ACTIVE_REGION
    batch_cloud.set_active_region(STANDBY_REGION)
    # THEN the second read sees it
    assert source.active_region() == STANDBY_REGION and route53.calls == 2


def test_from_environment_reads_the_routing_controls_when_they_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the ARC settings (the record's stay set: the component passes both on AWS)
    controls = {
        region: f"arn:aws:route53-recovery-control::123456789012:controlpanel/0a1b/routingcontrol/{region}"
        for region in (ACTIVE_REGION, STANDBY_REGION)
    }
    endpoints = [
        {
            "Endpoint": "https://host-a.route53-recovery-cluster.us-west-2.amazonaws.com/v1",
            "Region": "us-west-2",
        }
    ]
    monkeypatch.setenv("ACTIVE_REGION_ZONE_ID", "Z0123456789EXAMPLE")
    monkeypatch.setenv("ACTIVE_REGION_RECORD_NAME", ACTIVE_REGION_RECORD)
    monkeypatch.setenv("ACTIVE_REGION_ROUTING_CONTROLS", json.dumps(controls))
    monkeypatch.setenv("ACTIVE_REGION_CLUSTER_ENDPOINTS", json.dumps(endpoints))
    # WHEN the reader is built from the environment
    source = from_environment(cast("Route53Client", StubRoute53()))
    # THEN it reads the routing controls, not the record
    assert isinstance(source, RoutingControlActiveRegion)
    assert source.routing_controls == controls and source.regions == (ACTIVE_REGION, STANDBY_REGION)


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ("ACTIVE_REGION_ROUTING_CONTROLS", "ACTIVE_REGION_CLUSTER_ENDPOINTS"),
        ("ACTIVE_REGION_CLUSTER_ENDPOINTS", "ACTIVE_REGION_ROUTING_CONTROLS"),
    ],
)
def test_half_the_routing_control_settings_is_refused_not_read_as_the_record(
    batch_cloud: BatchCloud, monkeypatch: pytest.MonkeyPatch, present: str, missing: str
) -> None:
    # GIVEN one ARC setting without the other (on AWS the record is ARC's failover pair: reading it
    # through the API would answer the PRIMARY's value whatever the routing controls say)
    well_formed = {
        "ACTIVE_REGION_ROUTING_CONTROLS": '{"eu-west-1": "arn:aws:route53-recovery-control::1:x"}',
        "ACTIVE_REGION_CLUSTER_ENDPOINTS": '[{"Endpoint": "https://x/v1", "Region": "us-west-2"}]',
    }
    monkeypatch.setenv(present, well_formed[present])
    monkeypatch.delenv(missing, raising=False)
    # WHEN / THEN no reader is built, and the message names the missing variable
    with pytest.raises(ValueError, match=f"{present} is set but {missing} is not"):
        from_environment(batch_cloud.route53)
