"""Which region is active: a TXT record in a Route 53 private hosted zone that workloads read.

The record holds the active region's name. Readers (handlers/active_region/signal.py) cache it for at
most its TTL. Two ways to drive it:

- `recovery_control=False` (local stacks, LocalStack, moto): one plain TXT record, created with the
  primary region; after that it belongs to failover (the runbook rewrites it), so `pulumi up` ignores
  later changes to its value instead of undoing a failover.
- `recovery_control=True` (AWS): Route 53 Application Recovery Controller. A cluster, a control panel, one
  routing control per region, a safety rule that keeps at least one region On, and the record as a
  PRIMARY/SECONDARY failover pair whose RECOVERY_CONTROL health checks follow the routing controls. The
  runbook flips routing controls through the cluster's data-plane endpoints (five regions, highly
  available), never the record, and readers ask the same endpoints. Routing controls start Off: run the
  primary region's runbook once after the first deployment to switch it On.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import PolicyStatement, allow
from components.naming import stack_scoped_name
from handlers.active_region.contract import ActiveRegionSettings

ACTIVE_REGION_RECORD = "active-region"
# ARC's data-plane actions; the routing control ARNs scope them.
ARC_READ_ACTIONS = ("route53-recovery-cluster:GetRoutingControlState",)
ARC_UPDATE_ACTIONS = (
    "route53-recovery-cluster:GetRoutingControlState",
    "route53-recovery-cluster:UpdateRoutingControlState",
    "route53-recovery-cluster:UpdateRoutingControlStates",
)


@dataclass(frozen=True, kw_only=True)
class FailoverControlArgs:
    regions: Sequence[str]  # the first is active when the stack is first deployed
    zone_name: str = "regionflow.internal"
    # Readers cache the signal as long as a DNS resolver would: the record's TTL is their cache time.
    record_ttl_seconds: int = int(ActiveRegionSettings.active_region_cache_seconds)
    recovery_control: bool = False  # AWS only: Route 53 ARC drives the record (see the module docstring)


@dataclass(frozen=True, kw_only=True)
class RecoveryControls:
    """The ARC side of the signal: one routing control per region and the cluster that serves them."""

    routing_control_arns: dict[str, pulumi.Output[str]]
    cluster_endpoints: pulumi.Output[str]  # JSON [{"Endpoint": ..., "Region": ...}], as the API names them


@dataclass(frozen=True, kw_only=True)
class ActiveRegionSignal:
    """What a workload needs to read (or, for the runbook, to set) the active region."""

    regions: tuple[str, ...]
    zone_id: pulumi.Output[str]
    zone_arn: pulumi.Output[str]
    record_name: str
    cache_seconds: int
    recovery_controls: RecoveryControls | None = None

    def reader_statement(self) -> PolicyStatement:
        if self.recovery_controls is not None:
            return allow(list(ARC_READ_ACTIONS), list(self.recovery_controls.routing_control_arns.values()))
        return allow(["route53:ListResourceRecordSets"], [self.zone_arn])

    def reader_settings(self) -> dict[str, object]:
        """The fields of handlers.active_region.contract.ActiveRegionSettings: a reader's (or switch's)
        settings.

        A function that reads the signal writes these into its environment through its contract, e.g.
        `ActiveRegionSettings.environment(**signal.reader_settings())`.
        """
        controls = self.recovery_controls
        return {
            "active_region_zone_id": self.zone_id,
            "active_region_record_name": self.record_name,
            "active_region_cache_seconds": self.cache_seconds,
            "active_region_regions": self.regions,
            # Pulumi outputs of JSON text: written to the environment as they are.
            "active_region_routing_controls": (
                pulumi.Output.json_dumps(controls.routing_control_arns) if controls is not None else None
            ),
            "active_region_cluster_endpoints": controls.cluster_endpoints if controls is not None else None,
        }

    def switch_statements(self) -> list[PolicyStatement]:
        """What the runbook's activate function needs: flip the routing controls, or rewrite the record."""
        if self.recovery_controls is not None:
            return [
                allow(list(ARC_UPDATE_ACTIONS), list(self.recovery_controls.routing_control_arns.values()))
            ]
        change = allow(["route53:ChangeResourceRecordSets"], [self.zone_arn])
        # Only this TXT record: the zone may hold others.
        scoped = {
            **change,
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [self.record_name.lower()],
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                    "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
                }
            },
        }
        return [scoped, self.reader_statement()]


class FailoverControl(pulumi.ComponentResource):
    signal: ActiveRegionSignal
    zone_id: pulumi.Output[str]
    record_name: str
    vpc_ids: dict[str, pulumi.Output[str]]
    vpc_cidrs: dict[str, str]
    routing_control_arns: dict[str, pulumi.Output[str]]
    # The ARC cluster's endpoints as DescribeCluster lists them ([{"Endpoint", "Region"}]); [] without ARC.
    cluster_endpoints: pulumi.Output[list[dict[str, str]]]

    def __init__(
        self, name: str, args: FailoverControlArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:failover:FailoverControl", name, None, opts)
        if len(args.regions) < 2:
            raise ValueError(f"{name}: failover needs two or more regions, got {list(args.regions)}")
        child = pulumi.ResourceOptions(parent=self)
        # A private hosted zone must be associated with at least one VPC; one small VPC per region
        # (no subnets, no gateways) lets resolvers in either region see the record.
        vpcs = {
            region: aws.ec2.Vpc(
                f"{name}-vpc-{region}",
                region=region,
                cidr_block=_vpc_cidr(index),
                enable_dns_support=True,
                enable_dns_hostnames=True,
                tags={"Name": f"{name}-{region}"},
                opts=child,
            )
            for index, region in enumerate(args.regions)
        }
        zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.zone_name,
            comment="regionflow active-region signal",
            vpcs=[{"vpc_id": vpc.id, "vpc_region": region} for region, vpc in vpcs.items()],
            opts=child,
        )
        record_name = f"{ACTIVE_REGION_RECORD}.{args.zone_name}"
        recovery_controls: RecoveryControls | None = None
        if args.recovery_control:
            recovery_controls = self._recovery_controls(name, args, zone.zone_id, record_name)
        else:
            self._plain_record(name, args, zone.zone_id, record_name)
        self.signal = ActiveRegionSignal(
            regions=tuple(args.regions),
            zone_id=zone.zone_id,
            zone_arn=zone.arn,
            record_name=record_name,
            cache_seconds=args.record_ttl_seconds,
            recovery_controls=recovery_controls,
        )
        self.zone_id = zone.zone_id
        self.record_name = record_name
        self.vpc_ids = {region: vpc.id for region, vpc in vpcs.items()}
        self.vpc_cidrs = {region: _vpc_cidr(index) for index, region in enumerate(args.regions)}
        self.routing_control_arns = recovery_controls.routing_control_arns if recovery_controls else {}
        self.cluster_endpoints = (
            recovery_controls.cluster_endpoints.apply(json.loads)
            if recovery_controls
            else pulumi.Output.from_input([])
        )
        self.register_outputs(
            {
                "zone_id": self.zone_id,
                "record_name": self.record_name,
                "vpc_ids": self.vpc_ids,
                "routing_control_arns": self.routing_control_arns,
                "cluster_endpoints": self.cluster_endpoints,
            }
        )

    def _plain_record(
        self, name: str, args: FailoverControlArgs, zone_id: pulumi.Output[str], record_name: str
    ) -> None:
        aws.route53.Record(
            f"{name}-active-region",
            zone_id=zone_id,
            name=record_name,
            type="TXT",
            ttl=args.record_ttl_seconds,
            records=[args.regions[0]],
            allow_overwrite=False,
            # The value is failover's to change; a redeploy must not fail traffic back by itself.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["records"]),
        )

    def _recovery_controls(
        self, name: str, args: FailoverControlArgs, zone_id: pulumi.Output[str], record_name: str
    ) -> RecoveryControls:
        child = pulumi.ResourceOptions(parent=self)
        # ARC's control plane is global (served from us-west-2): these resources take no region.
        cluster = aws.route53recoverycontrol.Cluster(
            f"{name}-cluster", name=stack_scoped_name(f"{name}-cluster"), opts=child
        )
        panel = aws.route53recoverycontrol.ControlPanel(
            f"{name}-control-panel",
            name=stack_scoped_name(f"{name}-panel"),
            cluster_arn=cluster.arn,
            opts=child,
        )
        controls = {
            region: aws.route53recoverycontrol.RoutingControl(
                f"{name}-control-{region}",
                name=stack_scoped_name(f"{name}-{region}"),
                cluster_arn=cluster.arn,
                control_panel_arn=panel.arn,
                opts=child,
            )
            for region in args.regions
        }
        aws.route53recoverycontrol.SafetyRule(
            f"{name}-at-least-one-active",
            name=stack_scoped_name(f"{name}-at-least-one-active"),
            control_panel_arn=panel.arn,
            asserted_controls=[control.arn for control in controls.values()],
            # An update that would leave every region Off is refused: some region always processes.
            rule_config={"inverted": False, "threshold": 1, "type": "ATLEAST"},
            wait_period_ms=5000,
            opts=child,
        )
        for index, (region, control) in enumerate(controls.items()):
            health_check = aws.route53.HealthCheck(
                f"{name}-health-{region}",
                type="RECOVERY_CONTROL",
                routing_control_arn=control.arn,
                tags={"Name": f"{name}-{region}"},
                opts=child,
            )
            aws.route53.Record(
                f"{name}-active-region-{region}",
                zone_id=zone_id,
                name=record_name,
                type="TXT",
                ttl=args.record_ttl_seconds,
                records=[region],
                set_identifier=region,
                failover_routing_policies=[{"type": "PRIMARY" if index == 0 else "SECONDARY"}],
                health_check_id=health_check.id,
                opts=child,
            )
        endpoints = cluster.cluster_endpoints.apply(
            lambda found: json.dumps(
                [{"Endpoint": endpoint.endpoint, "Region": endpoint.region} for endpoint in found or []]
            )
        )
        return RecoveryControls(
            routing_control_arns={region: control.arn for region, control in controls.items()},
            cluster_endpoints=endpoints,
        )


def _vpc_cidr(index: int) -> str:
    return f"10.{100 + index}.0.0/16"
