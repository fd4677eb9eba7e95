"""The production topology end to end: the `primary` stack, as `pulumi up -s primary` would build it (HTTP
API v2 front doors, dependency layers, Route 53 ARC routing controls, an S3 Multi-Region Access Point,
ElastiCache with TLS and AUTH, private subnets where set), with every system driven once the way
`python -m demos --stack primary` drives it and IAM enforced on every call.

The runbook's SSM Automation documents are created but not run (localcloud has no Automation runtime) and
the stack has no FIS experiment (failoverChaosExperiment is off); the deploy lists what it skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from demos import failover
from demos.__main__ import DEMOS, demo_config
from demos.batch import primary_region
from localcloud.core.cloud import LocalCloud
from tests.e2e.conftest import running_cloud

STACK = "primary"


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """The primary stack with localcloud's timings (demo_config); its routing controls start Off, so the
    primary's runbook runs once first, as README's first step after `pulumi up` says."""
    with running_cloud(request, STACK, demo_config(STACK, {})) as running:
        failover.activate_first_region(running, print)
        yield running


def test_the_primary_stack_deploys_arc_and_the_access_point_and_skips_only_aws_only_features(
    cloud: LocalCloud,
) -> None:
    skipped = {resource.typ for resource in cloud.deployment.skipped}
    assert skipped == {
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:route53/healthCheck:HealthCheck",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
    # AND ARC drives the signal: the first runbook made the primary region active
    assert failover.active_region(cloud) == primary_region(cloud)
    assert cloud.exports["batchAccessPointAlias"].endswith(".mrap")


@pytest.mark.parametrize("system", list(DEMOS))
def test_every_system_works_on_the_production_topology(cloud: LocalCloud, system: str) -> None:
    # GIVEN the primary stack WHEN the system's demo drives it THEN every one of its checks passes
    lines: list[str] = []
    report: Callable[[str], None] = lines.append
    passed = DEMOS[system](cloud, report)
    assert passed, "\n".join(lines)
