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
from demos.doors import call, demo_user, every_door, refused_anonymously
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
from scripts.api_auth import TokenCaller, sign_in
from tests.e2e.conftest import running_cloud

STACK = "primary"
FOREIGN_PASSWORD = "Another-Pool-9-Password"


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


def test_no_door_of_the_production_topology_answers_anonymously(cloud: LocalCloud) -> None:
    # GIVEN every route of the primary stack (HTTP APIs: producers AWS_IAM, the upload routes JWT)
    answers = {door.name: refused_anonymously(door) for door in every_door(cloud)}
    # THEN each refuses a request without credentials: 403 for IAM routes, 401 for the people's routes
    assert {name: answer.status for name, answer in answers.items()} == {
        door.name: 401 if door.system == "transform" else 403 for door in every_door(cloud)
    }
    assert all(answer.json()["message"] for answer in answers.values())


def test_the_upload_routes_take_a_user_pool_token_and_refuse_a_forged_or_foreign_one(
    cloud: LocalCloud,
) -> None:
    status_door = next(
        door for door in every_door(cloud) if door.system == "transform" and door.method == "GET"
    )
    # GIVEN the demo user's ID token from the stack's user pool
    person = demo_user(cloud)
    assert isinstance(person, TokenCaller)
    # WHEN it asks for an upload's status THEN the route lets it through (404: no such upload)
    assert call(cloud, "transform", "GET", status_door.url).status == 404
    # AND a token whose signature does not match its claims is refused
    header, claims, signature = person.token.split(".")
    forged = ".".join((header, claims, signature[::-1]))
    refused = request("GET", status_door.url, headers={"Authorization": f"Bearer {forged}"})
    assert refused.status == 401 and "invalid_token" in refused.headers.get("www-authenticate", "")
    # AND so is a token of another user pool (another issuer), though signed with the same key by moto
    cognito = cloud.client("cognito-idp")
    other_pool = cognito.create_user_pool(PoolName="another-pool")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=other_pool, ClientName="other", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=other_pool, Username="eve", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="eve", Password=FOREIGN_PASSWORD, Permanent=True
    )
    foreign = sign_in(
        cognito, user_pool_id=other_pool, client_id=client_id, username="eve", password=FOREIGN_PASSWORD
    )
    assert request("GET", status_door.url, headers={"Authorization": f"Bearer {foreign.token}"}).status == 401
