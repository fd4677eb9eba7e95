"""Fixtures for the active-region signal's readers and switches: the record in moto, ARC's cluster stubbed.

Imported explicitly by the tests that use them (`from .switch_fixtures import signal_zone_fixture`), so
they never clash with this directory's conftest. The parent conftest (tests/unit/handlers/conftest.py)
has set the fake AWS environment before any of these modules is imported.

moto has no route53-recovery-cluster, so `StubbedCluster` gives one real boto3 client per cluster endpoint,
built by the production `arc_client`, each answering from a botocore Stubber (which also checks every
request against the service model). An endpoint can instead refuse connections, as a down endpoint does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from handlers.active_region import switch
from handlers.active_region.signal import arc_client
from tests.unit.handlers.conftest import change_txt_record

PRIMARY: Final = "eu-west-1"
SECONDARY: Final = "us-west-2"
REGIONS = (PRIMARY, SECONDARY)
ZONE_NAME = "regionflow.internal"
RECORD_NAME = "active-region.regionflow.internal"
RECORD_TTL_SECONDS = 60

ROUTING_CONTROLS = {
    region: f"arn:aws:route53-recovery-control::123456789012:controlpanel/0a1b2c/routingcontrol/{region}"
    for region in REGIONS
}
# As DescribeCluster lists them: five endpoints, each to be called in its own region.
CLUSTER_ENDPOINTS = [
    {"Endpoint": f"https://{host}.route53-recovery-cluster.{region}.amazonaws.com/v1", "Region": region}
    for host, region in (
        ("host-aaaaaa", "us-east-1"),
        ("host-bbbbbb", "ap-southeast-2"),
        ("host-cccccc", "eu-west-1"),
        ("host-dddddd", "us-west-2"),
        ("host-eeeeee", "ap-northeast-1"),
    )
]


def url(index: int) -> str:
    return CLUSTER_ENDPOINTS[index]["Endpoint"]


def update_entries(target: str) -> list[dict[str, str]]:
    return [
        {"RoutingControlArn": arn, "RoutingControlState": "On" if region == target else "Off"}
        for region, arn in ROUTING_CONTROLS.items()
    ]


class StubbedCluster:
    """An ARC cluster's endpoints: real clients answering from Stubbers, noting which endpoint was asked."""

    def __init__(self) -> None:
        self.clients = {e["Endpoint"]: arc_client(e["Endpoint"], e["Region"]) for e in CLUSTER_ENDPOINTS}
        self.stubbers = {endpoint: Stubber(client) for endpoint, client in self.clients.items()}
        self.asked: list[str] = []  # endpoint URLs, one per request, in order
        self.created: list[tuple[str, str]] = []  # (endpoint_url, region) per client the factory built
        for endpoint, client in self.clients.items():
            client.meta.events.register("provide-client-params.*.*", self._recorder(endpoint))
        for stubber in self.stubbers.values():
            stubber.activate()

    def _recorder(self, endpoint: str) -> Any:
        def record(**_: Any) -> None:
            self.asked.append(endpoint)

        return record

    def factory(self, endpoint_url: str, region: str) -> Any:
        self.created.append((endpoint_url, region))
        return self.clients[endpoint_url]

    def answer_states(self, index: int, states: Mapping[str, str]) -> None:
        """Endpoint `index` answers one GetRoutingControlState per region, in ROUTING_CONTROLS order."""
        for region, state in states.items():
            arn = ROUTING_CONTROLS[region]
            self.stubbers[url(index)].add_response(
                "get_routing_control_state",
                {"RoutingControlArn": arn, "RoutingControlState": state, "RoutingControlName": region},
                expected_params={"RoutingControlArn": arn},
            )

    def accept_update(self, index: int, target: str) -> None:
        """Endpoint `index` accepts exactly one update: `target` On, every other region Off."""
        self.stubbers[url(index)].add_response(
            "update_routing_control_states",
            {},
            expected_params={"UpdateRoutingControlStateEntries": update_entries(target)},
        )

    def fail(
        self,
        index: int,
        operation: str,
        *,
        code: str = "EndpointTemporarilyUnavailableException",
        message: str = "endpoint in maintenance",
        status: int = 503,
    ) -> None:
        self.stubbers[url(index)].add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def refuse_connections(self, index: int) -> None:
        """Endpoint `index` is down: every request fails to connect (and never leaves the process)."""
        self.stubbers[url(index)].deactivate()

        def refuse(request: Any, **_: Any) -> None:
            raise EndpointConnectionError(endpoint_url=request.url)

        self.clients[url(index)].meta.events.register("before-send.*.*", refuse)

    def assert_all_answered(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture(name="arc_cluster")
def arc_cluster_fixture() -> Iterator[StubbedCluster]:
    cluster = StubbedCluster()
    yield cluster
    for stubber in cluster.stubbers.values():
        stubber.deactivate()


@dataclass
class SignalZone:
    """The private hosted zone holding the active-region record, in moto, with helpers to arrange it."""

    route53: Any
    zone_id: str
    record_name: str

    def set_active_region(self, value: str) -> None:
        self._change("UPSERT", f'"{value}"')

    def delete_record(self) -> None:
        self._change("DELETE", self.record()["ResourceRecords"][0]["Value"])

    def record(self) -> dict[str, Any]:
        found = self.route53.list_resource_record_sets(
            HostedZoneId=self.zone_id, StartRecordName=self.record_name, StartRecordType="TXT", MaxItems="1"
        )["ResourceRecordSets"][0]
        assert found["Name"] == f"{self.record_name}.", f"no record {self.record_name} in the zone"
        return dict(found)

    def values(self) -> list[str]:
        return [value["Value"] for value in self.record()["ResourceRecords"]]

    def _change(self, action: str, value: str) -> None:
        change_txt_record(
            self.route53,
            zone_id=self.zone_id,
            name=self.record_name,
            action=action,
            value=value,
            ttl_seconds=RECORD_TTL_SECONDS,
        )


@pytest.fixture(name="signal_zone")
def signal_zone_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[SignalZone]:
    """The record naming PRIMARY, and the switch functions' environment on the record backend, running in
    SECONDARY (the region a failover would activate)."""
    with mock_aws():
        route53 = boto3.client("route53")
        zone = route53.create_hosted_zone(
            Name=ZONE_NAME,
            CallerReference="regionflow-failover-switch-tests",
            HostedZoneConfig={"PrivateZone": True, "Comment": "active-region signal"},
            # moto does not check the VPC exists; the API readers and writers never use it.
            VPC={"VPCRegion": PRIMARY, "VPCId": "vpc-0a1b2c3d4e5f60718"},
        )
        # The API answers "/hostedzone/Z..."; the component (like Pulumi's zone_id) passes the bare id.
        cloud = SignalZone(
            route53=route53,
            zone_id=str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1],
            record_name=RECORD_NAME,
        )
        cloud.set_active_region(PRIMARY)
        env = {
            "AWS_REGION": SECONDARY,
            "ACTIVE_REGION_ZONE_ID": cloud.zone_id,
            "ACTIVE_REGION_RECORD_NAME": RECORD_NAME,
            "ACTIVE_REGION_CACHE_SECONDS": str(RECORD_TTL_SECONDS),
            "ACTIVE_REGION_REGIONS": json.dumps(list(REGIONS)),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for name in ("ACTIVE_REGION_ROUTING_CONTROLS", "ACTIVE_REGION_CLUSTER_ENDPOINTS"):
            monkeypatch.delenv(name, raising=False)
        switch.dependencies.cache_clear()
        yield cloud
        switch.dependencies.cache_clear()
