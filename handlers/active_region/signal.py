"""Which region processes batches: the active-region signal, how it is read and how the runbook flips it.

Two backends, chosen by the function's environment (`from_environment`, `switch_from_environment`), whose
variables handlers/active_region/contract.py declares (ActiveRegionSettings):

- Route 53 record (the local stack: our emulator has no ARC). A TXT record in a private hosted zone holds
  the active region's name; `Route53ActiveRegion` reads it and `Route53RecordSwitch` UPSERTs it.
  Environment: ACTIVE_REGION_ZONE_ID, ACTIVE_REGION_RECORD_NAME, ACTIVE_REGION_CACHE_SECONDS (the record's
  TTL) and, for the switch, ACTIVE_REGION_REGIONS (JSON list of the regions it may activate).
- Route 53 Application Recovery Controller (AWS). One routing control per region in a control panel, a
  safety rule that keeps at least one of them On, and the TXT record as a PRIMARY/SECONDARY failover pair
  whose RECOVERY_CONTROL health checks follow the routing controls. `RoutingControlActiveRegion` reads
  the routing control states and `RoutingControlSwitch` turns the target On and every other region Off.
  Environment: ACTIVE_REGION_ROUTING_CONTROLS (JSON object region -> routing control ARN) and
  ACTIVE_REGION_CLUSTER_ENDPOINTS (JSON list of the cluster's endpoints as DescribeCluster returns them,
  [{"Endpoint": "https://....amazonaws.com/v1", "Region": "us-west-2"}, ...]), with
  ACTIVE_REGION_CACHE_SECONDS and, optionally, ACTIVE_REGION_REGIONS (checked against the controls).

Every reader goes through `ActiveRegionSource` and every writer through `ActiveRegionSwitch`, so a test or
a stack without Route 53 can supply the answer another way.

The Lambdas read through an API, not DNS: they are not in the VPCs the private zone is attached to, so
they cannot resolve the name. With the record backend they read the record through the Route 53 API. With
ARC that would be wrong: the API lists both failover records without evaluating their health checks, so
only the routing control states (which the health checks, and so DNS, follow) say which answer resolvers
get. ARC's data plane is also the more available of the two: five regional cluster endpoints, where the
Route 53 API is served from us-east-1 alone.

The Route 53 API is rate limited (5 requests per second per account, shared by every caller) and ARC's
endpoints need not answer one read per S3 event either, so a reader caches the value for at most
ACTIVE_REGION_CACHE_SECONDS, the record's TTL: a flip is seen no later than a DNS resolver would see it,
and a burst of events costs one read per warm Lambda environment and TTL. The runbook reads uncached.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.active_region.contract import ActiveRegionSettings
from handlers.environment import variable_name

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import ChangeBatchTypeDef, ResourceRecordSetTypeDef
    from mypy_boto3_route53_recovery_cluster import Route53RecoveryClusterClient
    from mypy_boto3_route53_recovery_cluster.type_defs import UpdateRoutingControlStateEntryTypeDef

TXT_TYPE: Final = "TXT"
# eu-west-1, us-gov-west-1, ap-southeast-2, il-central-1 ...
REGION_NAME = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
# One TXT value is one or more quoted strings ("a" "b"); escaped quotes stay inside a string.
_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')

# The variables named in this module's messages (handlers/active_region/contract.py declares them).
REGIONS_ENV = variable_name("active_region_regions")
ROUTING_CONTROLS_ENV = variable_name("active_region_routing_controls")
CLUSTER_ENDPOINTS_ENV = variable_name("active_region_cluster_endpoints")

ROUTING_CONTROL_ON: Final = "On"
ROUTING_CONTROL_OFF: Final = "Off"
# One short attempt per endpoint: moving on to the next endpoint is the retry, so an unreachable endpoint
# costs seconds instead of botocore's 60 s connect timeout times its retries.
ARC_CONNECT_TIMEOUT_SECONDS = 2
ARC_READ_TIMEOUT_SECONDS = 5
# Answers every endpoint of a working cluster gives alike (a safety rule refusing the change, a missing
# permission, an unknown routing control): asking the next endpoint would only repeat them.
_DEFINITIVE_ARC_ERRORS = frozenset(
    {"ValidationException", "AccessDeniedException", "ResourceNotFoundException"}
)

# (endpoint_url, region) -> route53-recovery-cluster client. A string: the client type exists for mypy alone.
ArcClientFactory: TypeAlias = "Callable[[str, str], Route53RecoveryClusterClient]"
_Result = TypeVar("_Result")


class ActiveRegionUnknownError(Exception):
    """The signal is missing, empty, ambiguous or not a region name: no region may process batches."""


class RoutingControlClusterUnavailableError(Exception):
    """No endpoint of the ARC cluster answered: the routing control states could not be read or changed."""


class RoutingControlRefusedError(Exception):
    """The ARC cluster answered and refused the request (a safety rule, a permission, an unknown control)."""


class ActiveRegionSource(Protocol):
    def active_region(self) -> str: ...


class ActiveRegionSwitch(Protocol):
    @property
    def regions(self) -> tuple[str, ...]:
        """The regions it may activate."""
        ...

    def activate(self, region: str) -> None: ...


def is_active(source: ActiveRegionSource, region: str) -> bool:
    return source.active_region() == region


def _absolute_name(name: str) -> str:
    """Route 53 answers with lower-case, dot-terminated names."""
    return name.strip().rstrip(".").lower() + "."


def _txt_text(value: str) -> str:
    strings = _TXT_STRING.findall(value)
    if not strings:
        return value.strip()
    # Escapes (\" \\ \nnn) are left as they are: no region name contains one, so validation refuses them.
    return "".join(strings).strip()


def _region_names(regions: Sequence[str], what: str) -> tuple[str, ...]:
    names = tuple(regions)
    if not names:
        raise ValueError(f"{what}: no regions given")
    bad = [name for name in names if not REGION_NAME.fullmatch(name)]
    if bad:
        raise ValueError(f"{what}: {bad} are not region names (like 'eu-west-1')")
    return names


def _require_known(region: str, regions: Sequence[str]) -> None:
    if region not in regions:
        raise ValueError(f"unknown region {region!r}: the active region must be one of {', '.join(regions)}")


def _upsert_record(record_name: str, region: str, ttl_seconds: int) -> ChangeBatchTypeDef:
    """The change batch that makes `region` the active region in the TXT record."""
    record_set: ResourceRecordSetTypeDef = {
        "Name": record_name,
        "Type": TXT_TYPE,
        "TTL": ttl_seconds,
        "ResourceRecords": [{"Value": f'"{region}"'}],
    }
    return {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record_set}]}


class _ReadCache:
    """The last value read, kept for at most `cache_seconds` of `clock`; a failed read is not kept."""

    def __init__(self, cache_seconds: float, clock: Callable[[], float]) -> None:
        if cache_seconds < 0:
            raise ValueError(f"cache_seconds must be >= 0, got {cache_seconds}")
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[str, float] | None = None  # (value, clock reading when it was read)

    def get(self, read: Callable[[], str]) -> str:
        now = self._clock()
        if self._cached is not None and now - self._cached[1] < self.cache_seconds:
            return self._cached[0]
        value = read()
        self._cached = (value, now)
        return value


class Route53ActiveRegion(ActiveRegionSource):
    """The active region from a TXT record, read through the Route 53 API and cached for `cache_seconds`."""

    def __init__(
        self,
        route53_client: Route53Client,
        *,
        zone_id: str,
        record_name: str,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = _ReadCache(cache_seconds, clock)
        self._route53 = route53_client
        self.zone_id = zone_id
        self.record_name = _absolute_name(record_name)

    def active_region(self) -> str:
        return self._cache.get(self._read)

    def _how_to_set(self) -> str:
        change = _upsert_record(self.record_name, "us-east-1", max(int(self._cache.cache_seconds), 1))
        return (
            "set it to the active region's name with the failover runbook, or: aws route53 "
            f"change-resource-record-sets --hosted-zone-id {self.zone_id} "
            f"--change-batch '{json.dumps(change)}'"
        )

    def _read(self) -> str:
        # StartRecordName lists from that name on in Route 53's order, so the first answer is the next
        # record when ours is missing: check it is really our name and type.
        response = self._route53.list_resource_record_sets(
            HostedZoneId=self.zone_id,
            StartRecordName=self.record_name,
            StartRecordType=TXT_TYPE,
            MaxItems="1",
        )
        records = [
            record
            for record in response.get("ResourceRecordSets", [])
            if _absolute_name(record.get("Name", "")) == self.record_name and record.get("Type") == TXT_TYPE
        ]
        if not records:
            raise ActiveRegionUnknownError(
                f"active region unknown: no TXT record {self.record_name} in hosted zone {self.zone_id}; "
                f"{self._how_to_set()}"
            )
        if "SetIdentifier" in records[0]:
            # ARC's failover pair: the API lists its records without evaluating their health checks.
            raise ActiveRegionUnknownError(
                f"active region unknown: TXT record {self.record_name} in hosted zone {self.zone_id} is a "
                f"{records[0].get('Failover', 'routing policy')} record (set identifier "
                f"{records[0]['SetIdentifier']!r}), whose answer depends on health checks the Route 53 API "
                f"does not evaluate; read the routing controls instead: set {ROUTING_CONTROLS_ENV} and "
                f"{CLUSTER_ENDPOINTS_ENV}"
            )
        values = [_txt_text(str(value.get("Value", ""))) for value in records[0].get("ResourceRecords", [])]
        values = [value for value in values if value]
        if not values:
            raise ActiveRegionUnknownError(
                f"active region unknown: TXT record {self.record_name} in hosted zone {self.zone_id} is "
                f"empty; {self._how_to_set()}"
            )
        if len(values) > 1:
            raise ActiveRegionUnknownError(
                f"active region ambiguous: TXT record {self.record_name} in hosted zone {self.zone_id} "
                f"holds {len(values)} values {values}, it must hold exactly one; {self._how_to_set()}"
            )
        region = values[0]
        if not REGION_NAME.fullmatch(region):
            raise ActiveRegionUnknownError(
                f"active region unknown: TXT record {self.record_name} in hosted zone {self.zone_id} holds "
                f"{region[:100]!r}, which is not a region name; {self._how_to_set()}"
            )
        return region


class Route53RecordSwitch:
    """Flips the TXT record itself: the switch where there is no ARC (the local stack)."""

    regions: tuple[str, ...]

    def __init__(
        self,
        route53_client: Route53Client,
        *,
        zone_id: str,
        record_name: str,
        ttl_seconds: int,
        regions: Sequence[str],
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must be >= 0, got {ttl_seconds}")
        self._route53 = route53_client
        self.zone_id = zone_id
        self.record_name = _absolute_name(record_name)
        self.ttl_seconds = ttl_seconds
        self.regions = _region_names(regions, "Route53RecordSwitch")

    def activate(self, region: str) -> None:
        _require_known(region, self.regions)
        change = _upsert_record(self.record_name, region, self.ttl_seconds)
        self._route53.change_resource_record_sets(
            HostedZoneId=self.zone_id, ChangeBatch={**change, "Comment": f"failover: activate {region}"}
        )


def arc_client(endpoint_url: str, region: str) -> Route53RecoveryClusterClient:
    """A route53-recovery-cluster client for one cluster endpoint, which must be called in its own region."""
    return boto3.client(
        "route53-recovery-cluster",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(
            connect_timeout=ARC_CONNECT_TIMEOUT_SECONDS,
            read_timeout=ARC_READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1},
        ),
    )


def random_start(endpoint_count: int) -> int:
    return secrets.randbelow(endpoint_count)


class _ClusterEndpoints:
    """An ARC cluster's regional endpoints, tried in rotation.

    ARC's guidance (https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html):
    a cluster has five regional endpoints, at least three of them available at any time, and they cycle
    through unavailability for maintenance; so try each in turn until one answers. The first call starts
    at a random endpoint, so that many callers do not all load the same one; later calls start at the
    endpoint that answered last, so a down endpoint costs one failed attempt, not one per call.
    """

    def __init__(
        self,
        endpoints: Sequence[Mapping[str, str]],
        client_factory: ArcClientFactory,
        start_index: Callable[[int], int],
    ) -> None:
        if not endpoints:
            raise ValueError("no ARC cluster endpoints given: list them with DescribeCluster")
        bad = [
            endpoint for endpoint in endpoints if not endpoint.get("Endpoint") or not endpoint.get("Region")
        ]
        if bad:
            raise ValueError(f"ARC cluster endpoints {bad} lack an 'Endpoint' or a 'Region'")
        self.endpoints = [(endpoint["Endpoint"], endpoint["Region"]) for endpoint in endpoints]
        self._client_factory = client_factory
        self._start_index = start_index
        self._clients: dict[str, Route53RecoveryClusterClient] = {}
        self._next: int | None = None

    def _client(self, url: str, region: str) -> Route53RecoveryClusterClient:
        if url not in self._clients:
            self._clients[url] = self._client_factory(url, region)
        return self._clients[url]

    def call(self, action: str, operation: Callable[[Route53RecoveryClusterClient], _Result]) -> _Result:
        count = len(self.endpoints)
        start = self._start_index(count) if self._next is None else self._next
        failures: list[str] = []
        for offset in range(count):
            index = (start + offset) % count
            url, region = self.endpoints[index]
            try:
                result = operation(self._client(url, region))
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                message = str(error.response.get("Error", {}).get("Message", ""))
                if code in _DEFINITIVE_ARC_ERRORS:
                    raise RoutingControlRefusedError(
                        f"{action}: the ARC cluster refused it ({url}, {region}): {code}: {message}"
                    ) from error
                failures.append(f"{url} ({region}): {code}: {message}")
            except BotoCoreError as error:
                failures.append(f"{url} ({region}): {error}")
            else:
                self._next = index
                return result
        self._next = None
        raise RoutingControlClusterUnavailableError(
            f"{action}: none of the ARC cluster's {count} endpoints answered; tried "
            f"{'; '.join(failures)}. ARC keeps at least three endpoints available, so retry; if this "
            f"persists, compare {CLUSTER_ENDPOINTS_ENV} with `aws route53-recovery-control-config "
            "describe-cluster` and check this function can reach them"
        )


class RoutingControlActiveRegion(ActiveRegionSource):
    """The active region from ARC routing controls (one per region): the single one that is On.

    Read through the cluster's endpoints in rotation and cached for `cache_seconds`.
    """

    def __init__(
        self,
        *,
        routing_controls: Mapping[str, str],
        cluster_endpoints: Sequence[Mapping[str, str]],
        cache_seconds: float,
        client_factory: ArcClientFactory = arc_client,
        clock: Callable[[], float] = time.monotonic,
        start_index: Callable[[int], int] = random_start,
    ) -> None:
        self._cache = _ReadCache(cache_seconds, clock)
        self.routing_controls = dict(routing_controls)
        self.regions = _region_names(list(self.routing_controls), "RoutingControlActiveRegion")
        self._cluster = _ClusterEndpoints(cluster_endpoints, client_factory, start_index)

    def active_region(self) -> str:
        return self._cache.get(self._read)

    def _state(self, region: str) -> str:
        arn = self.routing_controls[region]
        response = self._cluster.call(
            f"get the state of routing control {arn} ({region})",
            lambda client: client.get_routing_control_state(RoutingControlArn=arn),
        )
        return str(response["RoutingControlState"])

    def _how_to_set(self) -> str:
        example = self.regions[0]
        entries = [
            {
                "RoutingControlArn": arn,
                "RoutingControlState": ROUTING_CONTROL_ON if region == example else ROUTING_CONTROL_OFF,
            }
            for region, arn in self.routing_controls.items()
        ]
        url, endpoint_region = self._cluster.endpoints[0]
        return (
            "turn exactly one region's routing control On with the failover runbook, or (here for "
            f"{example}): aws route53-recovery-cluster update-routing-control-states --region "
            f"{endpoint_region} --endpoint-url {url} --update-routing-control-state-entries "
            f"'{json.dumps(entries)}'"
        )

    def _read(self) -> str:
        states = {region: self._state(region) for region in self.regions}
        on = [region for region, state in states.items() if state == ROUTING_CONTROL_ON]
        if len(on) == 1:
            return on[0]
        described = ", ".join(f"{region}: {state}" for region, state in states.items())
        if not on:
            raise ActiveRegionUnknownError(
                f"active region unknown: no routing control is On ({described}); the safety rule "
                f"should keep one On, so check it has not been deleted or overridden; {self._how_to_set()}"
            )
        raise ActiveRegionUnknownError(
            f"active region ambiguous: {len(on)} routing controls are On ({described}), exactly one must "
            f"be; {self._how_to_set()}"
        )


class RoutingControlSwitch:
    """Makes a region active with ARC: its routing control On and every other region's Off.

    One UpdateRoutingControlStates call, so the safety rule (at least one On) is evaluated on the whole
    change: turning the old region Off first would be refused, turning the new one On first would leave
    two regions On in between.
    """

    regions: tuple[str, ...]

    def __init__(
        self,
        *,
        routing_controls: Mapping[str, str],
        cluster_endpoints: Sequence[Mapping[str, str]],
        client_factory: ArcClientFactory = arc_client,
        start_index: Callable[[int], int] = random_start,
    ) -> None:
        self.routing_controls = dict(routing_controls)
        self.regions = _region_names(list(self.routing_controls), "RoutingControlSwitch")
        self._cluster = _ClusterEndpoints(cluster_endpoints, client_factory, start_index)

    def activate(self, region: str) -> None:
        _require_known(region, self.regions)
        entries: list[UpdateRoutingControlStateEntryTypeDef] = [
            {
                "RoutingControlArn": arn,
                "RoutingControlState": ROUTING_CONTROL_ON if other == region else ROUTING_CONTROL_OFF,
            }
            for other, arn in self.routing_controls.items()
        ]
        self._cluster.call(
            f"turn {region}'s routing control On and the others Off",
            lambda client: client.update_routing_control_states(UpdateRoutingControlStateEntries=entries),
        )


@dataclass(frozen=True)
class _RoutingControlSettings:
    routing_controls: dict[str, str]
    cluster_endpoints: list[dict[str, str]]


def _routing_control_settings(settings: ActiveRegionSettings) -> _RoutingControlSettings | None:
    """ARC settings; None when neither variable is set (the record backend)."""
    controls, endpoints = settings.active_region_routing_controls, settings.active_region_cluster_endpoints
    if controls is None and endpoints is None:
        return None
    if controls is None or endpoints is None:
        # Falling back to the record would read one record of ARC's failover pair: wrong after a failover.
        present, missing = (
            (ROUTING_CONTROLS_ENV, CLUSTER_ENDPOINTS_ENV)
            if endpoints is None
            else (CLUSTER_ENDPOINTS_ENV, ROUTING_CONTROLS_ENV)
        )
        raise ValueError(f"{present} is set but {missing} is not: reading routing controls needs both")
    if not controls:
        raise ValueError(
            f"{ROUTING_CONTROLS_ENV} is {{}}: it must be a non-empty JSON dict like "
            '{"eu-west-1": "arn:aws:route53-recovery-control::..."}'
        )
    if not all(isinstance(arn, str) and arn for arn in controls.values()):
        raise ValueError(f"{ROUTING_CONTROLS_ENV} is {controls!r:.200}: every region needs an ARN string")
    if not endpoints or not all(
        isinstance(e, dict) and e.get("Endpoint") and e.get("Region") for e in endpoints
    ):
        raise ValueError(
            f"{CLUSTER_ENDPOINTS_ENV} is {list(endpoints)!r:.200}: it must list the cluster's endpoints, and "
            "every endpoint needs an 'Endpoint' and a 'Region', as DescribeCluster lists them: "
            '[{"Endpoint": "https://....us-west-2.amazonaws.com/v1", "Region": "us-west-2"}, ...]'
        )
    _region_names(list(controls), ROUTING_CONTROLS_ENV)
    return _RoutingControlSettings(routing_controls=dict(controls), cluster_endpoints=list(endpoints))


def from_environment(
    route53_client: Route53Client | None = None,
    *,
    cache_seconds: float | None = None,
    arc_client_factory: ArcClientFactory = arc_client,
) -> ActiveRegionSource:
    """The reader the component configures (see the module docstring for the variables of each backend).

    `cache_seconds` overrides ACTIVE_REGION_CACHE_SECONDS: the runbook reads uncached (0).
    """
    settings = ActiveRegionSettings.from_environment(os.environ)
    cache = settings.active_region_cache_seconds if cache_seconds is None else cache_seconds
    arc = _routing_control_settings(settings)
    if arc is not None:
        return RoutingControlActiveRegion(
            routing_controls=arc.routing_controls,
            cluster_endpoints=arc.cluster_endpoints,
            cache_seconds=cache,
            client_factory=arc_client_factory,
        )
    return Route53ActiveRegion(
        route53_client if route53_client is not None else boto3.client("route53"),
        zone_id=settings.active_region_zone_id,
        record_name=settings.active_region_record_name,
        cache_seconds=cache,
    )


def switch_from_environment(
    route53_client: Route53Client | None = None, *, arc_client_factory: ArcClientFactory = arc_client
) -> ActiveRegionSwitch:
    """The writer matching `from_environment`: the routing controls with ARC, else the record, whose
    switch needs ACTIVE_REGION_REGIONS to know which regions it may activate."""
    settings = ActiveRegionSettings.from_environment(os.environ)
    regions = settings.active_region_regions
    if regions is not None:
        if not all(isinstance(region, str) for region in regions):
            raise ValueError(f"{REGIONS_ENV} is {list(regions)!r:.200}: it must list region names as strings")
        regions = _region_names(regions, REGIONS_ENV)
    arc = _routing_control_settings(settings)
    if arc is not None:
        if regions is not None and sorted(regions) != sorted(arc.routing_controls):
            raise ValueError(
                f"{REGIONS_ENV} names {sorted(regions)} but {ROUTING_CONTROLS_ENV} has routing controls "
                f"for {sorted(arc.routing_controls)}: they must name the same regions"
            )
        return RoutingControlSwitch(
            routing_controls=arc.routing_controls,
            cluster_endpoints=arc.cluster_endpoints,
            client_factory=arc_client_factory,
        )
    if regions is None:
        raise ValueError(
            f"{REGIONS_ENV} is not set: the record switch needs the JSON list of the regions it may "
            'activate, like ["eu-west-1", "us-west-2"]'
        )
    return Route53RecordSwitch(
        route53_client if route53_client is not None else boto3.client("route53"),
        zone_id=settings.active_region_zone_id,
        record_name=settings.active_region_record_name,
        ttl_seconds=int(settings.active_region_cache_seconds),
        regions=regions,
    )
