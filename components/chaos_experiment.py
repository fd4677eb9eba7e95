"""Chaos for the batch system on AWS: private subnets its data plane runs in, and the FIS experiment
that cuts them off S3 and DynamoDB (the seed's fisTemplate), behind the `failoverChaosExperiment` flag.

`PrivateNetwork` is two private subnets in a region's failover VPC with gateway endpoints for S3 and
DynamoDB (free, no NAT): the batch functions that only touch S3 and DynamoDB (split, validate, enrich,
write, merge) run there when the flag is on. `ChaosExperiment` is the FIS template: the
`aws:network:disrupt-connectivity` action with scope `s3` and then `dynamodb` on those subnets, stopped
early by an alarm (the other region's batch failures: if the standby breaks too, stop the chaos).
Run it in the primary, then fail over with the standby's runbook (README, "Failover").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.function import FunctionNetwork
from components.iam import assume_role_policy

# The AWS-managed policy FIS documents for network actions (network ACL create/associate/delete on the
# target subnets); FIS scopes it to the template's targets at run time.
FIS_NETWORK_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorNetworkAccess"
EXPERIMENT_TAG = "MultiRegionBatchChaosTemplate"  # the seed's name: `aws fis list-experiment-templates`


@dataclass(frozen=True, kw_only=True)
class PrivateNetworkArgs:
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str  # the VPC's block; subnets take its first /24s
    availability_zone_suffixes: Sequence[str] = ("a", "b")


class PrivateNetwork(pulumi.ComponentResource):
    network: FunctionNetwork
    subnet_arns: list[pulumi.Output[str]]

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
            for service in ("s3", "dynamodb")
        ]
        group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            region=args.region,
            vpc_id=args.vpc_id,
            description="Batch functions: HTTPS to S3 and DynamoDB through their gateway endpoints only",
            opts=child,
        )
        for endpoint, service in zip(endpoints, ("s3", "dynamodb"), strict=True):
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
        self.network = FunctionNetwork(
            subnet_ids=[subnet.id for subnet in subnets], security_group_ids=[group.id]
        )
        self.subnet_arns = [subnet.arn for subnet in subnets]
        self.register_outputs({"subnet_arns": self.subnet_arns})


@dataclass(frozen=True, kw_only=True)
class ChaosExperimentArgs:
    region: str
    subnet_arns: Sequence[pulumi.Input[str]]
    stop_alarm_arn: pulumi.Input[str]
    duration: str = "PT10M"  # ISO 8601, per action


class ChaosExperiment(pulumi.ComponentResource):
    template_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ChaosExperimentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:chaos:ChaosExperiment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("fis.amazonaws.com"),
            description="FIS cuts the batch private subnets off S3 and DynamoDB",
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-network-access", role=role.name, policy_arn=FIS_NETWORK_POLICY_ARN, opts=child
        )
        template = aws.fis.ExperimentTemplate(
            f"{name}-template",
            region=args.region,
            description=f"Cut the batch private subnets in {args.region} off S3 and DynamoDB",
            role_arn=role.arn,
            stop_conditions=[{"source": "aws:cloudwatch:alarm", "value": args.stop_alarm_arn}],
            targets=[
                {
                    "name": "batch-private-subnets",
                    "resource_type": "aws:ec2:subnet",
                    "selection_mode": "ALL",
                    "resource_arns": list(args.subnet_arns),
                }
            ],
            actions=[
                aws.fis.ExperimentTemplateActionArgs(
                    name=f"cut-{scope}",
                    action_id="aws:network:disrupt-connectivity",
                    parameters=[
                        aws.fis.ExperimentTemplateActionParameterArgs(key="duration", value=args.duration),
                        aws.fis.ExperimentTemplateActionParameterArgs(key="scope", value=scope),
                    ],
                    target=aws.fis.ExperimentTemplateActionTargetArgs(
                        key="Subnets", value="batch-private-subnets"
                    ),
                )
                for scope in ("s3", "dynamodb")
            ],
            tags={"Name": EXPERIMENT_TAG},
            opts=child,
        )
        self.template_id = template.id
        self.register_outputs({"template_id": self.template_id})
