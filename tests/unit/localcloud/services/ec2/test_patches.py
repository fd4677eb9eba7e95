"""EC2 regions start without moto's catalogue of public AMIs (localcloud serves VPCs, not instances)."""

from __future__ import annotations

from localcloud.core.emulator import Emulator
from tests.unit.localcloud.conftest import REGION


def test_a_region_holds_its_vpcs_and_no_public_amis(emulator: Emulator) -> None:
    ec2 = emulator.client("ec2", REGION)
    # GIVEN a VPC created in a region
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # WHEN the region's VPCs and Amazon's images are listed
    vpcs = {vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]}
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    # THEN the VPC is there and moto loaded none of its ~900 public images
    assert vpc_id in vpcs
    assert images == []
