"""The active-region signal on ARC: read from the routing controls, flipped in one update, through the
cluster's endpoints in rotation.

moto has no route53-recovery-cluster (ARC's data plane), so these tests use real boto3 clients answering
from botocore Stubbers (switch_fixtures.StubbedCluster): requests are still checked against the service
model, and an endpoint can fail with a service error or refuse connections as a down endpoint does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from handlers.active_region.signal import (
    ActiveRegionUnknownError,
    RoutingControlActiveRegion,
    RoutingControlClusterUnavailableError,
    RoutingControlRefusedError,
    RoutingControlSwitch,
    arc_client,
    from_environment,
    random_start,
    switch_from_environment,
)
from handlers.active_region.switch import activate

from .switch_fixtures import (  # noqa: F401
    CLUSTER_ENDPOINTS,
    PRIMARY,
    REGIONS,
    ROUTING_CONTROLS,
    SECONDARY,
    StubbedCluster,
    arc_cluster_fixture,
    url,
)

GET = "get_routing_control_state"
UPDATE = "update_routing_control_states"
PRIMARY_ACTIVE = {PRIMARY: "On", SECONDARY: "Off"}
SECONDARY_ACTIVE = {PRIMARY: "Off", SECONDARY: "On"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reader(
    cluster: StubbedCluster, *, cache_seconds: float = 0, clock: FakeClock | None = None, start: int = 0
) -> RoutingControlActiveRegion:
    return RoutingControlActiveRegion(
        routing_controls=ROUTING_CONTROLS,
        cluster_endpoints=CLUSTER_ENDPOINTS,
        cache_seconds=cache_seconds,
        client_factory=cluster.factory,
        clock=clock or FakeClock(),
        start_index=lambda _: start,
    )


def switch(cluster: StubbedCluster, *, start: int = 0) -> RoutingControlSwitch:
    return RoutingControlSwitch(
        routing_controls=ROUTING_CONTROLS,
        cluster_endpoints=CLUSTER_ENDPOINTS,
        client_factory=cluster.factory,
        start_index=lambda _: start,
    )


@pytest.fixture
def arc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The switch functions' environment on ARC (the record's stay set: the component passes both)."""
    monkeypatch.setenv("ACTIVE_REGION_ZONE_ID", "Z0123456789EXAMPLE")
    monkeypatch.setenv("ACTIVE_REGION_RECORD_NAME", "active-region.regionflow.internal")
    monkeypatch.setenv("ACTIVE_REGION_ROUTING_CONTROLS", json.dumps(ROUTING_CONTROLS))
    monkeypatch.setenv("ACTIVE_REGION_CLUSTER_ENDPOINTS", json.dumps(CLUSTER_ENDPOINTS))
    monkeypatch.setenv("ACTIVE_REGION_REGIONS", json.dumps(list(REGIONS)))
    monkeypatch.setenv("ACTIVE_REGION_CACHE_SECONDS", "60")


# Reading


@pytest.mark.parametrize(("states", "active"), [(PRIMARY_ACTIVE, PRIMARY), (SECONDARY_ACTIVE, SECONDARY)])
def test_the_active_region_is_the_one_whose_routing_control_is_on(
    arc_cluster: StubbedCluster, states: dict[str, str], active: str
) -> None:
    # GIVEN exactly one region's routing control is On
    arc_cluster.answer_states(0, states)
    # WHEN / THEN that region is active, read from each region's control
    assert reader(arc_cluster).active_region() == active
    arc_cluster.assert_all_answered()


def test_no_routing_control_on_is_an_unknown_region_naming_the_states_and_the_fix(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN every routing control is Off (the safety rule was overridden or deleted)
    arc_cluster.answer_states(0, {PRIMARY: "Off", SECONDARY: "Off"})
    # WHEN / THEN no region is active, and the message says what was read and how to set it
    with pytest.raises(ActiveRegionUnknownError) as raised:
        reader(arc_cluster).active_region()
    message = str(raised.value)
    assert f"no routing control is On ({PRIMARY}: Off, {SECONDARY}: Off)" in message
    assert "safety rule" in message and "update-routing-control-states" in message
    assert ROUTING_CONTROLS[PRIMARY] in message and url(0) in message


def test_two_routing_controls_on_is_ambiguous_naming_the_states_and_the_fix(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN both regions' routing controls are On
    arc_cluster.answer_states(0, {PRIMARY: "On", SECONDARY: "On"})
    # WHEN / THEN neither is taken as active
    with pytest.raises(ActiveRegionUnknownError) as raised:
        reader(arc_cluster).active_region()
    message = str(raised.value)
    assert f"2 routing controls are On ({PRIMARY}: On, {SECONDARY}: On), exactly one must be" in message
    assert "update-routing-control-states" in message


def test_reads_within_the_cache_time_cost_no_request_and_a_flip_is_seen_after_it(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN a reader that has just read PRIMARY
    clock = FakeClock()
    source = reader(arc_cluster, cache_seconds=60, clock=clock)
    arc_cluster.answer_states(0, PRIMARY_ACTIVE)
    assert source.active_region() == PRIMARY
    # WHEN the routing controls flip and reads continue within the cache time
    arc_cluster.answer_states(0, SECONDARY_ACTIVE)
    clock.now += 59.9
    answers = {source.active_region() for _ in range(50)}
    # THEN they answer the cached region without asking the cluster
    assert answers == {PRIMARY} and len(arc_cluster.asked) == 2
    # AND once the cache time has passed the next read sees the flip
    clock.now += 0.1
    assert source.active_region() == SECONDARY and len(arc_cluster.asked) == 4
    arc_cluster.assert_all_answered()


# Endpoint rotation


def test_a_failing_endpoint_is_skipped_for_the_next_one(arc_cluster: StubbedCluster) -> None:
    # GIVEN the first endpoint is in maintenance
    arc_cluster.fail(0, GET)
    arc_cluster.answer_states(1, PRIMARY_ACTIVE)
    # WHEN the active region is read
    # THEN the next endpoint answers it
    assert reader(arc_cluster).active_region() == PRIMARY
    assert arc_cluster.asked == [url(0), url(1), url(1)]
    arc_cluster.assert_all_answered()


def test_an_unreachable_endpoint_is_skipped_for_the_next_one(arc_cluster: StubbedCluster) -> None:
    # GIVEN the first endpoint refuses connections
    arc_cluster.refuse_connections(0)
    arc_cluster.answer_states(1, SECONDARY_ACTIVE)
    # WHEN / THEN the next endpoint answers
    assert reader(arc_cluster).active_region() == SECONDARY
    assert arc_cluster.asked == [url(0), url(1), url(1)]


def test_the_endpoint_that_answered_is_asked_first_next_time(arc_cluster: StubbedCluster) -> None:
    # GIVEN a read that found the first endpoint failing and the second answering
    source = reader(arc_cluster)
    arc_cluster.fail(0, GET)
    arc_cluster.answer_states(1, PRIMARY_ACTIVE)
    assert source.active_region() == PRIMARY
    # WHEN the signal is read again (uncached)
    arc_cluster.answer_states(1, SECONDARY_ACTIVE)
    assert source.active_region() == SECONDARY
    # THEN the failing endpoint was not asked again
    assert arc_cluster.asked == [url(0), url(1), url(1), url(1), url(1)]
    arc_cluster.assert_all_answered()


def test_the_rotation_starts_where_start_index_says_and_wraps_around(arc_cluster: StubbedCluster) -> None:
    # GIVEN the rotation starts at the last endpoint, which fails
    counts: list[int] = []

    def start_at_last(count: int) -> int:
        counts.append(count)
        return count - 1

    source = RoutingControlActiveRegion(
        routing_controls=ROUTING_CONTROLS,
        cluster_endpoints=CLUSTER_ENDPOINTS,
        cache_seconds=0,
        client_factory=arc_cluster.factory,
        start_index=start_at_last,
    )
    arc_cluster.fail(4, GET, code="ThrottlingException", status=429)
    arc_cluster.answer_states(0, PRIMARY_ACTIVE)
    # WHEN / THEN the first endpoint is tried next, and the start was chosen among all five
    assert source.active_region() == PRIMARY
    assert arc_cluster.asked[:2] == [url(4), url(0)] and counts == [5]


def test_the_random_start_reaches_every_endpoint() -> None:
    # 400 draws miss one of 5 endpoints with probability 5 * 0.8**400, about 1e-38.
    assert {random_start(5) for _ in range(400)} == set(range(5))


def test_when_every_endpoint_fails_the_error_names_each_endpoint_tried(arc_cluster: StubbedCluster) -> None:
    # GIVEN no endpoint answers: some fail, one refuses connections
    for index in range(4):
        arc_cluster.fail(index, GET, message=f"endpoint {index} in maintenance")
    arc_cluster.refuse_connections(4)
    # WHEN / THEN the read fails once all five were tried, naming each and what it said
    with pytest.raises(RoutingControlClusterUnavailableError) as raised:
        reader(arc_cluster).active_region()
    message = str(raised.value)
    assert all(endpoint["Endpoint"] in message for endpoint in CLUSTER_ENDPOINTS)
    assert "endpoint 3 in maintenance" in message and "Could not connect" in message
    assert "ACTIVE_REGION_CLUSTER_ENDPOINTS" in message
    assert arc_cluster.asked == [url(index) for index in range(5)]
    arc_cluster.assert_all_answered()


def test_a_refusal_is_raised_at_once_not_asked_of_every_endpoint(arc_cluster: StubbedCluster) -> None:
    # GIVEN the cluster answers that this function may not read the routing control
    arc_cluster.fail(0, GET, code="AccessDeniedException", message="not authorized", status=403)
    # WHEN / THEN that answer is raised as it is: every other endpoint would give it too
    with pytest.raises(RoutingControlRefusedError, match="AccessDeniedException: not authorized"):
        reader(arc_cluster).active_region()
    assert arc_cluster.asked == [url(0)]


def test_each_endpoint_client_is_built_once_for_that_endpoint_in_its_region(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN reads that go to two endpoints
    arc_cluster.fail(0, GET)
    arc_cluster.answer_states(1, PRIMARY_ACTIVE)
    arc_cluster.answer_states(1, PRIMARY_ACTIVE)
    source = reader(arc_cluster)
    source.active_region()
    source.active_region()
    # THEN each endpoint's client was built once, for that endpoint and its region
    assert arc_cluster.created == [(url(0), "us-east-1"), (url(1), "ap-southeast-2")]


def test_the_default_client_calls_its_endpoint_in_its_region_once_per_request() -> None:
    # WHEN the production factory builds a client for an endpoint
    client = arc_client(url(1), "ap-southeast-2")
    # THEN it signs for the endpoint's region and makes one attempt: the rotation is the retry
    assert client.meta.endpoint_url == url(1) and client.meta.region_name == "ap-southeast-2"
    # botocore-stubs declare Config's options as __init__ parameters only, not as the attributes they become
    config: Any = client.meta.config
    assert config.retries["total_max_attempts"] == 1
    # AND an unreachable endpoint costs seconds, not botocore's 60 s: short enough that five endpoints
    # are tried well within the function's time, long enough for a TLS handshake across regions (a value
    # in milliseconds read as seconds, or a fraction of a second, would give up on a healthy endpoint)
    assert 1 <= config.connect_timeout <= 5
    assert 1 <= config.read_timeout <= 10


# Switching


def test_the_switch_turns_the_target_on_and_every_other_region_off_in_one_update(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN PRIMARY is active
    # WHEN SECONDARY is activated
    arc_cluster.accept_update(0, SECONDARY)
    switch(arc_cluster).activate(SECONDARY)
    # THEN one UpdateRoutingControlStates carried both changes (the Stubber checked its entries)
    assert arc_cluster.asked == [url(0)]
    arc_cluster.assert_all_answered()


def test_the_switch_moves_to_the_next_endpoint_when_one_fails(arc_cluster: StubbedCluster) -> None:
    # GIVEN the endpoint the rotation starts at is in maintenance
    arc_cluster.fail(2, UPDATE)
    arc_cluster.accept_update(3, PRIMARY)
    # WHEN / THEN the update goes to the next one
    switch(arc_cluster, start=2).activate(PRIMARY)
    assert arc_cluster.asked == [url(2), url(3)]
    arc_cluster.assert_all_answered()


def test_a_safety_rule_refusal_is_raised_at_once_with_arcs_reason(arc_cluster: StubbedCluster) -> None:
    # GIVEN the cluster refuses the change: it would break the safety rule
    reason = "Cannot update routing control states: safety rule at-least-one-on is not satisfied"
    arc_cluster.fail(0, UPDATE, code="ValidationException", message=reason, status=400)
    # WHEN / THEN the refusal is raised with ARC's reason, and no other endpoint is asked
    with pytest.raises(RoutingControlRefusedError, match=re.escape(reason)):
        switch(arc_cluster).activate(SECONDARY)
    assert arc_cluster.asked == [url(0)]


def test_the_switch_fails_naming_the_endpoints_when_none_answers(arc_cluster: StubbedCluster) -> None:
    # GIVEN every endpoint fails the update
    for index in range(5):
        arc_cluster.fail(index, UPDATE, code="InternalServerException", status=500)
    # WHEN / THEN the switch fails once all were tried, naming them and the change it was making
    with pytest.raises(RoutingControlClusterUnavailableError) as raised:
        switch(arc_cluster).activate(SECONDARY)
    assert all(endpoint["Endpoint"] in str(raised.value) for endpoint in CLUSTER_ENDPOINTS)
    assert "turn us-west-2's routing control On" in str(raised.value)


def test_the_switch_refuses_a_region_without_a_routing_control(arc_cluster: StubbedCluster) -> None:
    # WHEN / THEN a region without a routing control is refused, naming the known ones, before any request
    with pytest.raises(ValueError, match=f"must be one of {PRIMARY}, {SECONDARY}"):
        switch(arc_cluster).activate("eu-central-1")
    assert arc_cluster.asked == []


def test_activating_through_arc_writes_once_and_reads_the_target_back(arc_cluster: StubbedCluster) -> None:
    # GIVEN PRIMARY is active; the cluster will accept the flip and then report it
    arc_cluster.answer_states(0, PRIMARY_ACTIVE)
    arc_cluster.accept_update(0, SECONDARY)
    arc_cluster.answer_states(0, SECONDARY_ACTIVE)
    # WHEN the runbook activates SECONDARY
    result = activate(switch(arc_cluster), reader(arc_cluster), SECONDARY)
    # THEN it was a flip from PRIMARY, confirmed by reading the routing controls back
    assert result == {"previousRegion": PRIMARY, "activeRegion": SECONDARY}
    arc_cluster.assert_all_answered()


# Configuration


@pytest.mark.usefixtures("arc_env")
def test_from_environment_reads_the_routing_controls_through_any_endpoint(
    arc_cluster: StubbedCluster,
) -> None:
    # GIVEN the ARC settings; every endpoint could answer, the rotation starts at a random one
    for index in range(5):
        arc_cluster.answer_states(index, SECONDARY_ACTIVE)
    # WHEN the reader is built from the environment
    source = from_environment(arc_client_factory=arc_cluster.factory)
    # THEN it reads the routing controls, both through the one endpoint it started at
    assert isinstance(source, RoutingControlActiveRegion) and source.regions == REGIONS
    assert source.active_region() == SECONDARY
    assert len(arc_cluster.asked) == 2 and len(set(arc_cluster.asked)) == 1


@pytest.mark.usefixtures("arc_env")
def test_switch_from_environment_flips_the_routing_controls(arc_cluster: StubbedCluster) -> None:
    # GIVEN the ARC settings, WHEN the switch is built from them, THEN it flips the configured controls
    built = switch_from_environment(arc_client_factory=arc_cluster.factory)
    assert isinstance(built, RoutingControlSwitch) and built.regions == REGIONS
    assert built.routing_controls == ROUTING_CONTROLS


@pytest.mark.usefixtures("arc_env")
def test_switch_from_environment_refuses_regions_that_differ_from_the_routing_controls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN ACTIVE_REGION_REGIONS names a region without a routing control
    monkeypatch.setenv("ACTIVE_REGION_REGIONS", json.dumps([PRIMARY, "eu-central-1"]))
    # WHEN / THEN the switch is not built, and the message names both lists
    with pytest.raises(ValueError, match="ACTIVE_REGION_REGIONS names") as raised:
        switch_from_environment()
    assert "eu-central-1" in str(raised.value) and SECONDARY in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ACTIVE_REGION_ROUTING_CONTROLS", "{not json", "is not JSON"),
        ("ACTIVE_REGION_ROUTING_CONTROLS", "{}", "non-empty JSON dict"),
        ("ACTIVE_REGION_ROUTING_CONTROLS", '{"not-a-region": "arn:x"}', "not region names"),
        ("ACTIVE_REGION_CLUSTER_ENDPOINTS", '{"Endpoint": "https://x/v1"}', "expected a JSON list"),
        (
            "ACTIVE_REGION_CLUSTER_ENDPOINTS",
            '[{"Endpoint": "https://x/v1"}]',
            "needs an 'Endpoint' and a 'Region'",
        ),
    ],
)
@pytest.mark.usefixtures("arc_env")
def test_malformed_routing_control_settings_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    # GIVEN one of the ARC settings is malformed
    monkeypatch.setenv(variable, value)
    # WHEN / THEN neither the reader nor the switch is built, and the message names the variable
    for build in (from_environment, switch_from_environment):
        with pytest.raises(ValueError, match=problem) as raised:
            build()
        assert variable in str(raised.value)
