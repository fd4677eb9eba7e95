"""The console's view of the stack: outputs, and resources grouped by the system their URN names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from localcloud.console.stack import STACK_GROUP, outputs, resources_by_system, system_of
from localcloud.core.deployment import DeployedResource
from localcloud.core.program import run_inline_program
from localcloud.core.provisioner import MotoProvisioner

REGION = "us-east-1"
PREFIX = "urn:pulumi:local::regionflow::"


def deployed(urn_types: str, name: str, *, skipped: bool = False) -> DeployedResource:
    return DeployedResource(
        urn=f"{PREFIX}{urn_types}::{name}",
        typ=urn_types.rsplit("$", maxsplit=1)[-1],
        logical_name=name,
        region=REGION,
        resource_id=f"{name}-id",
        skipped=skipped,
    )


def test_a_resource_belongs_to_the_module_of_its_outermost_component() -> None:
    chain = "regionflow:batch:BatchOrchestrator$regionflow:compute:Function$aws:lambda/function:Function"
    urn = f"{PREFIX}{chain}::fn"
    assert system_of(urn) == ("regionflow:batch", "regionflow:batch:BatchOrchestrator")


def test_a_resource_in_no_component_is_the_stacks_own() -> None:
    assert system_of(f"{PREFIX}aws:sqs/queue:Queue::loose") == (STACK_GROUP, None)
    assert system_of(f"{PREFIX}pulumi:pulumi:Stack$aws:sqs/queue:Queue::loose") == (STACK_GROUP, None)


def test_a_string_that_is_no_urn_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Pulumi URN"):
        system_of("arn:aws:sqs:us-east-1:123456789012:queue")


def test_resources_are_grouped_by_system_with_counts_and_the_stacks_own_last() -> None:
    # GIVEN resources of two components of one module, of another system, and of none
    resources = [
        deployed("regionflow:failover:FailoverRunbook$aws:ssm/document:Document", "runbook"),
        deployed("regionflow:batch:BatchOrchestrator$regionflow:batch:BatchRegion$aws:s3/bucket:Bucket", "b"),
        deployed("aws:sqs/queue:Queue", "loose"),
        deployed("regionflow:failover:FailoverControl$aws:route53/zone:Zone", "zone"),
        deployed(
            "regionflow:failover:FailoverControl$aws:route53/healthCheck:HealthCheck", "hc", skipped=True
        ),
    ]
    # WHEN they are grouped
    groups = resources_by_system(resources)
    # THEN each system is one group, named by its module, with its components, count and resources
    assert [(group["system"], group["count"]) for group in groups] == [
        ("regionflow:batch", 1),
        ("regionflow:failover", 3),
        (STACK_GROUP, 1),
    ]
    failover = groups[1]
    assert failover["components"] == [
        "regionflow:failover:FailoverControl",
        "regionflow:failover:FailoverRunbook",
    ]
    assert [(item["type"], item["name"], item["skipped"]) for item in failover["resources"]] == [
        ("aws:route53/healthCheck:HealthCheck", "hc", True),
        ("aws:route53/zone:Zone", "zone", False),
        ("aws:ssm/document:Document", "runbook", False),
    ]


def test_outputs_show_text_as_it_is_and_lists_and_maps_as_json() -> None:
    shown = outputs({"urls": {"us-east-1": "http://a"}, "bucket": "b-1", "count": 3})
    assert shown == [
        {"name": "bucket", "value": "b-1"},
        {"name": "count", "value": "3"},
        {"name": "urls", "value": '{"us-east-1": "http://a"}'},
    ]


# ------------------------------------------------------------------------ URNs recorded at deployment
class Part(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__("regionflow:parts:Part", name, None, opts)
        self.queue = aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class System(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("regionflow:demo:System", name, None, None)
        self.part = Part(f"{name}-part", pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


@pytest.fixture
def clients() -> Iterator[Callable[[str, str], Any]]:
    with mock_aws():

        def client(service: str, region: str) -> Any:
            new_client: Callable[..., Any] = boto3.client
            return new_client(service, region_name=region)

        yield client


def test_the_provisioner_records_each_resource_with_the_urn_naming_its_components(
    clients: Callable[[str, str], Any],
) -> None:
    # GIVEN a program with a queue inside a component inside a component, and a queue outside any
    def program() -> None:
        System("thing")
        aws.sqs.Queue("loose")

    provisioner = MotoProvisioner(clients, default_region=REGION)
    # WHEN it is deployed
    run_inline_program(provisioner, program, stack="test", project="proj")
    # THEN each queue is recorded with its region, physical id and the URN the engine would give it
    # (every parent's type, the stack's left out); the components are no resources
    recorded = {resource.logical_name: resource for resource in provisioner.deployment.resources}
    assert sorted(recorded) == ["loose", "thing-part-queue"]
    inner = recorded["thing-part-queue"]
    assert inner.urn == (
        "urn:pulumi:test::proj::regionflow:demo:System$regionflow:parts:Part$aws:sqs/queue:Queue::thing-part-queue"
    )
    assert recorded["loose"].urn == "urn:pulumi:test::proj::aws:sqs/queue:Queue::loose"
    assert (inner.typ, inner.region, inner.skipped) == ("aws:sqs/queue:Queue", REGION, False)
    created = {name: resource_id for _, name, _, resource_id in provisioner.created}
    assert inner.resource_id == created["thing-part-queue"]
    # AND the console groups them by that URN
    assert [(group["system"], group["count"]) for group in resources_by_system(recorded.values())] == [
        ("regionflow:demo", 1),
        (STACK_GROUP, 1),
    ]
