"""Private subnets for Lambda functions: no internet route, AWS reached through VPC endpoints only.

Two subnets (two AZs) in an existing VPC, one route table with gateway endpoints for S3 and DynamoDB (free,
no NAT), interface endpoints for any other service the functions call (private DNS on), and a security
group for the functions whose egress is HTTPS to those endpoints only (plus any extra rules a user adds,
e.g. Redis). Used by the batch data plane under chaos (components/chaos_experiment.py) and by audit
ingest's Redis-facing functions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.function import FunctionNetwork

GATEWAY_SERVICES = ("s3", "dynamodb")


@dataclass(frozen=True, kw_only=True)
class PrivateNetworkArgs:
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str  # the VPC's block; subnets take its first /24s
    availability_zone_suffixes: Sequence[str] = ("a", "b")
    interface_services: Sequence[str] = ()  # e.g. ("states", "sqs", "secretsmanager")


class PrivateNetwork(pulumi.ComponentResource):
    network: FunctionNetwork
    subnet_arns: list[pulumi.Output[str]]
    subnet_ids: list[pulumi.Output[str]]
    security_group_id: pulumi.Output[str]  # the functions' group

    def __init__(
        self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:chaos:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        blocks = list(ipaddress.ip_network(args.vpc_cidr).subnets(new_prefix=24))[1:]
        subnets = [
            aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                region=args.region,
                vpc_id=args.vpc_id,
                cidr_block=str(block),
                availability_zone=f"{args.region}{suffix}",
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{suffix}"},
                opts=child,
            )
            for suffix, block in zip(args.availability_zone_suffixes, blocks, strict=False)
        ]
        # No internet route: only the gateway endpoints below lead out.
        routes = aws.ec2.RouteTable(
            f"{name}-private-routes", region=args.region, vpc_id=args.vpc_id, opts=child
        )
        for subnet, suffix in zip(subnets, args.availability_zone_suffixes, strict=False):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{suffix}-routes",
                region=args.region,
                subnet_id=subnet.id,
                route_table_id=routes.id,
                opts=child,
            )
        endpoints = [
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                region=args.region,
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[routes.id],
                opts=child,
            )
            for service in GATEWAY_SERVICES
        ]
        group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            region=args.region,
            vpc_id=args.vpc_id,
            description="Functions: HTTPS to AWS through this network's VPC endpoints only",
            opts=child,
        )
        for endpoint, service in zip(endpoints, GATEWAY_SERVICES, strict=True):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-functions-to-{service}",
                region=args.region,
                security_group_id=group.id,
                prefix_list_id=endpoint.prefix_list_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                opts=child,
            )
        if args.interface_services:
            endpoint_group = aws.ec2.SecurityGroup(
                f"{name}-endpoints",
                region=args.region,
                vpc_id=args.vpc_id,
                description="Interface endpoints: HTTPS from the functions only",
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-from-functions",
                region=args.region,
                security_group_id=endpoint_group.id,
                referenced_security_group_id=group.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-functions-to-endpoints",
                region=args.region,
                security_group_id=group.id,
                referenced_security_group_id=endpoint_group.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                opts=child,
            )
            for service in args.interface_services:
                aws.ec2.VpcEndpoint(
                    f"{name}-{service}-endpoint",
                    region=args.region,
                    vpc_id=args.vpc_id,
                    service_name=f"com.amazonaws.{args.region}.{service}",
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[subnet.id for subnet in subnets],
                    security_group_ids=[endpoint_group.id],
                    opts=child,
                )
        self.network = FunctionNetwork(
            subnet_ids=[subnet.id for subnet in subnets], security_group_ids=[group.id]
        )
        self.subnet_arns = [subnet.arn for subnet in subnets]
        self.subnet_ids = [subnet.id for subnet in subnets]
        self.security_group_id = group.id
        self.register_outputs(
            {"subnet_arns": self.subnet_arns, "subnet_ids": self.subnet_ids, "security_group_id": group.id}
        )
