"""Which region is active: a TXT record in a Route 53 private hosted zone that workloads read.

The record holds the active region's name. Readers (handlers/failover/active_region.py) cache it for at
most its TTL. The record is created once with the primary region; after that it belongs to failover
(a runbook flips it), so `pulumi up` ignores later changes to its value instead of undoing a failover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import PolicyStatement, allow

ACTIVE_REGION_RECORD = "active-region"


@dataclass(frozen=True, kw_only=True)
class FailoverControlArgs:
    regions: Sequence[str]  # the first is active when the stack is first deployed
    zone_name: str = "regionflow.internal"
    record_ttl_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class ActiveRegionSignal:
    """What a workload needs to read the active region: the record, its zone and how long to cache it."""

    zone_id: pulumi.Output[str]
    zone_arn: pulumi.Output[str]
    record_name: str
    cache_seconds: int

    def reader_statement(self) -> PolicyStatement:
        return allow(["route53:ListResourceRecordSets"], [self.zone_arn])

    def reader_environment(self) -> dict[str, pulumi.Input[str]]:
        return {
            "ACTIVE_REGION_ZONE_ID": self.zone_id,
            "ACTIVE_REGION_RECORD_NAME": self.record_name,
            "ACTIVE_REGION_CACHE_SECONDS": str(self.cache_seconds),
        }


class FailoverControl(pulumi.ComponentResource):
    signal: ActiveRegionSignal
    zone_id: pulumi.Output[str]
    record_name: str
    vpc_ids: dict[str, pulumi.Output[str]]

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
                cidr_block=f"10.{100 + index}.0.0/16",
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
        aws.route53.Record(
            f"{name}-active-region",
            zone_id=zone.zone_id,
            name=record_name,
            type="TXT",
            ttl=args.record_ttl_seconds,
            records=[args.regions[0]],
            allow_overwrite=False,
            # The value is failover's to change; a redeploy must not fail traffic back by itself.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["records"]),
        )
        self.signal = ActiveRegionSignal(
            zone_id=zone.zone_id,
            zone_arn=zone.arn,
            record_name=record_name,
            cache_seconds=args.record_ttl_seconds,
        )
        self.zone_id = zone.zone_id
        self.record_name = record_name
        self.vpc_ids = {region: vpc.id for region, vpc in vpcs.items()}
        self.register_outputs(
            {"zone_id": self.zone_id, "record_name": self.record_name, "vpc_ids": self.vpc_ids}
        )
