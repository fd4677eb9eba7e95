"""Two stacks in one account never collide: every explicit physical name carries the stack."""

from __future__ import annotations

import itertools
from typing import Any

from localcloud.core.recording import BuiltStack, build_stack

# The input that holds a resource's own explicit name (Pulumi auto-names a resource that has none).
NAME_INPUTS = ("name", "namePrefix", "dashboardName", "layerName", "replicationGroupId", "alarmName")
OWN_NAME_INPUTS_BY_TYPE = {
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint": ("details.name",),
}
# Names that are unique only inside a parent the stack itself owns, so they cannot collide across stacks.
SCOPED_TO_A_PARENT = {
    "aws:apigateway/model:Model": "unique within its REST API",
    "aws:apigateway/requestValidator:RequestValidator": "unique within its REST API",
    "aws:apigatewayv2/stage:Stage": "unique within its HTTP API ($default)",
    "aws:route53/record:Record": "unique within the stack's own private zone",
    # A private hosted zone's name is config (activeRegionZoneName); AWS allows private zones of one
    # name side by side, each associated with its own stack's VPCs.
    "aws:route53/zone:Zone": "private zone of the stack's own VPCs",
}


def explicit_names(stack: BuiltStack) -> dict[str, str]:
    """Explicit physical name -> the logical name of the resource that carries it."""
    names: dict[str, str] = {}
    for resource in stack.resources:
        if resource.typ in SCOPED_TO_A_PARENT:
            continue
        for key in OWN_NAME_INPUTS_BY_TYPE.get(resource.typ, NAME_INPUTS):
            value: Any = resource.inputs
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str):
                names[value] = f"{resource.typ} {resource.name}"
    return names


def test_every_explicit_physical_name_carries_the_stack_and_none_repeats_across_stacks() -> None:
    # GIVEN the program built as `local`, as `primary` and as a third stack copied from primary's config
    stacks = [build_stack("local"), build_stack("primary"), build_stack("staging", config_stack="primary")]
    by_stack = {stack.name: explicit_names(stack) for stack in stacks}
    # THEN the explicitly named resources we know of are there (dashboards, MRAP, ARC, layers)
    primary_types = {carrier.split(" ")[0] for carrier in by_stack["primary"].values()}
    assert {
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint",
        "aws:route53recoverycontrol/cluster:Cluster",
        "aws:route53recoverycontrol/controlPanel:ControlPanel",
        "aws:route53recoverycontrol/routingControl:RoutingControl",
        "aws:route53recoverycontrol/safetyRule:SafetyRule",
        "aws:lambda/layerVersion:LayerVersion",
    } <= primary_types
    # AND each carries its stack's name
    for stack_name, names in by_stack.items():
        assert [
            f"{name} ({carrier})" for name, carrier in names.items() if f"-{stack_name}-" not in name
        ] == [], stack_name
    # AND no explicit name repeats across two stacks
    for (first, first_names), (second, second_names) in itertools.combinations(by_stack.items(), 2):
        assert set(first_names) & set(second_names) == set(), (first, second)
