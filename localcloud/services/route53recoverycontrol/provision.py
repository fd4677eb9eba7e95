"""Route 53 ARC resources of a Pulumi program (cluster, control panel, routing controls, safety rules) ->
route53-recovery-control-config API calls on the emulator's ARC (models.py).

ARC's control plane is global and served from us-west-2, whatever the resource's provider region; the
cluster's endpoints are the emulator's local data-plane paths, so readers built from the program's
outputs reach them. Gating rules are refused by name: the program uses assertion rules only.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError

CONTROL_PLANE_REGION = "us-west-2"


def _control_plane(ctx: ProvisioningContext) -> Any:
    return ctx.client("route53-recovery-control-config", CONTROL_PLANE_REGION)


def create_cluster(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    cluster = _control_plane(ctx).create_cluster(ClusterName=ctx.name(args, inputs, max_length=64))["Cluster"]
    return cluster["ClusterArn"], {
        **inputs,
        "arn": cluster["ClusterArn"],
        "name": cluster["Name"],
        "status": cluster["Status"],
        "clusterEndpoints": [
            {"endpoint": endpoint["Endpoint"], "region": endpoint["Region"]}
            for endpoint in cluster["ClusterEndpoints"]
        ],
    }


def create_control_panel(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    panel = _control_plane(ctx).create_control_panel(
        ClusterArn=inputs["clusterArn"], ControlPanelName=ctx.name(args, inputs, max_length=64)
    )["ControlPanel"]
    return panel["ControlPanelArn"], {
        **inputs,
        "arn": panel["ControlPanelArn"],
        "name": panel["Name"],
        "status": panel["Status"],
        "defaultControlPanel": panel["DefaultControlPanel"],
        "routingControlCount": panel["RoutingControlCount"],
    }


def create_routing_control(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    control = _control_plane(ctx).create_routing_control(
        ClusterArn=inputs["clusterArn"],
        ControlPanelArn=inputs["controlPanelArn"],
        RoutingControlName=ctx.name(args, inputs, max_length=64),
    )["RoutingControl"]
    return control["RoutingControlArn"], {
        **inputs,
        "arn": control["RoutingControlArn"],
        "name": control["Name"],
        "status": control["Status"],
    }


def create_safety_rule(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    if inputs.get("gatingControls") or inputs.get("targetControls"):
        raise UnsupportedResourceError(
            f"{args.name}: localcloud's ARC evaluates assertion rules only, not gating rules"
        )
    config = inputs.get("ruleConfig") or {}
    rule = _control_plane(ctx).create_safety_rule(
        AssertionRule={
            "Name": ctx.name(args, inputs, max_length=64),
            "ControlPanelArn": inputs["controlPanelArn"],
            "AssertedControls": list(inputs.get("assertedControls") or []),
            "RuleConfig": {
                "Type": config.get("type", ""),
                "Threshold": int(config.get("threshold", 0)),
                "Inverted": bool(config.get("inverted", False)),
            },
            "WaitPeriodMs": int(inputs.get("waitPeriodMs", 0)),
        }
    )["AssertionRule"]
    return rule["SafetyRuleArn"], {
        **inputs,
        "arn": rule["SafetyRuleArn"],
        "name": rule["Name"],
        "status": rule["Status"],
    }


CREATORS: Registry = {
    "aws:route53recoverycontrol/cluster:Cluster": create_cluster,
    "aws:route53recoverycontrol/controlPanel:ControlPanel": create_control_panel,
    "aws:route53recoverycontrol/routingControl:RoutingControl": create_routing_control,
    "aws:route53recoverycontrol/safetyRule:SafetyRule": create_safety_rule,
}
