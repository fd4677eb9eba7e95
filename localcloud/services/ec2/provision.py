"""EC2 resources of a Pulumi program -> EC2 API calls on the emulator: only VPCs, which private hosted
zones name. Subnets, route tables, security groups and endpoints are skipped (SKIPPED_TYPES in
localcloud/core/provisioner.py): local Lambda workers reach the emulator and Redis on loopback anyway."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry

_VPC_ATTRIBUTES = ("enableDnsSupport", "enableDnsHostnames")


def create_vpc(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ec2 = ctx.client("ec2", region)
    vpc_id = ec2.create_vpc(CidrBlock=inputs["cidrBlock"])["Vpc"]["VpcId"]
    for attribute in _VPC_ATTRIBUTES:
        if inputs.get(attribute) is not None:
            # ModifyVpcAttribute takes one attribute per call.
            ec2.modify_vpc_attribute(
                VpcId=vpc_id, **{attribute[:1].upper() + attribute[1:]: {"Value": bool(inputs[attribute])}}
            )
    return vpc_id, {
        **inputs,
        "id": vpc_id,
        "arn": ctx.regional_arn("ec2", region, f"vpc/{vpc_id}"),
        "defaultSecurityGroupId": "",
        "mainRouteTableId": "",
        "ownerId": ctx.account_id,
    }


CREATORS: Registry = {"aws:ec2/vpc:Vpc": create_vpc}
