"""Route 53 Application Recovery Controller's state: clusters, control panels, routing controls, safety rules.

One `ArcBackend` holds what both APIs see: the control plane (route53-recovery-control-config: what the
program creates) and a cluster's data plane (route53-recovery-cluster: routing control states read and
changed through the cluster's regional endpoints). A routing control starts Off, as on AWS. An update is
applied as one change to every control it names and refused (ValidationException, nothing changed) when
the outcome would break an assertion rule of the control's panel that the caller did not override. Only
the outcome counts: with every control Off at first, an update that turns one On satisfies "at least 1".
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROUTING_CONTROL_ON = "On"
ROUTING_CONTROL_OFF = "Off"
# ARC answers on five regional endpoints per cluster; readers try them in turn.
CLUSTER_ENDPOINT_REGIONS = ("ap-northeast-1", "ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2")
RULE_TYPES = frozenset({"ATLEAST", "AND", "OR"})


class ArcError(Exception):
    """An error ARC answers with: its code is the exception's name in the API."""

    code = "ValidationException"
    status = 400

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class ArcValidationError(ArcError):
    code = "ValidationException"


class ArcNotFoundError(ArcError):
    code = "ResourceNotFoundException"
    status = 404


@dataclass
class Cluster:
    arn: str
    name: str
    endpoints: list[dict[str, str]]

    def describe(self, account: str) -> dict[str, Any]:
        return {
            "ClusterArn": self.arn,
            "Name": self.name,
            "Status": "DEPLOYED",
            "ClusterEndpoints": [dict(endpoint) for endpoint in self.endpoints],
            "NetworkType": "IPV4",
            "Owner": account,
        }


@dataclass
class ControlPanel:
    arn: str
    name: str
    cluster_arn: str
    routing_control_count: int = 0

    def describe(self, account: str) -> dict[str, Any]:
        return {
            "ControlPanelArn": self.arn,
            "Name": self.name,
            "ClusterArn": self.cluster_arn,
            "DefaultControlPanel": False,
            "RoutingControlCount": self.routing_control_count,
            "Status": "DEPLOYED",
            "Owner": account,
        }


@dataclass
class RoutingControl:
    arn: str
    name: str
    control_panel_arn: str
    state: str = ROUTING_CONTROL_OFF

    def describe(self, account: str) -> dict[str, Any]:
        return {
            "RoutingControlArn": self.arn,
            "Name": self.name,
            "ControlPanelArn": self.control_panel_arn,
            "Status": "DEPLOYED",
            "Owner": account,
        }


@dataclass
class AssertionRule:
    arn: str
    name: str
    control_panel_arn: str
    asserted_controls: list[str]
    rule_type: str
    threshold: int
    inverted: bool
    wait_period_ms: int

    def holds(self, states: Mapping[str, str]) -> bool:
        """Whether the rule's criterion is met for these routing control states."""
        on = sum(states[control] == ROUTING_CONTROL_ON for control in self.asserted_controls)
        if self.rule_type == "ATLEAST":
            met = on >= self.threshold
        elif self.rule_type == "AND":
            met = on == len(self.asserted_controls)
        else:  # OR
            met = on >= 1
        return met != self.inverted

    def describe(self, account: str) -> dict[str, Any]:
        return {
            "SafetyRuleArn": self.arn,
            "Name": self.name,
            "ControlPanelArn": self.control_panel_arn,
            "AssertedControls": list(self.asserted_controls),
            "RuleConfig": {"Type": self.rule_type, "Threshold": self.threshold, "Inverted": self.inverted},
            "WaitPeriodMs": self.wait_period_ms,
            "Status": "DEPLOYED",
            "Owner": account,
        }


@dataclass
class ArcBackend:
    """Everything ARC holds for the emulator's account; `endpoint_base` is where the data plane answers."""

    endpoint_base: str
    account: str = "123456789012"
    clusters: dict[str, Cluster] = field(default_factory=dict)
    control_panels: dict[str, ControlPanel] = field(default_factory=dict)
    routing_controls: dict[str, RoutingControl] = field(default_factory=dict)
    safety_rules: dict[str, AssertionRule] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _arn(self, resource: str) -> str:
        return f"arn:aws:route53-recovery-control::{self.account}:{resource}"

    # -- control plane ---------------------------------------------------------------------------

    def create_cluster(self, name: str) -> Cluster:
        cluster_id = uuid.uuid4().hex
        # Each regional endpoint is its own URL path, so a reader's rotation over them is observable.
        endpoints = [
            {
                "Endpoint": f"{self.endpoint_base}/route53-recovery-cluster/{cluster_id}/{region}/v1",
                "Region": region,
            }
            for region in CLUSTER_ENDPOINT_REGIONS
        ]
        cluster = Cluster(self._arn(f"cluster/{cluster_id}"), _named(name, "ClusterName"), endpoints)
        with self._lock:
            self.clusters[cluster.arn] = cluster
        return cluster

    def describe_cluster(self, cluster_arn: str) -> Cluster:
        return _found(self.clusters, cluster_arn, "cluster")

    def create_control_panel(self, name: str, cluster_arn: str) -> ControlPanel:
        self.describe_cluster(cluster_arn)
        panel = ControlPanel(
            self._arn(f"controlpanel/{uuid.uuid4().hex}"), _named(name, "ControlPanelName"), cluster_arn
        )
        with self._lock:
            self.control_panels[panel.arn] = panel
        return panel

    def create_routing_control(self, name: str, cluster_arn: str, control_panel_arn: str) -> RoutingControl:
        self.describe_cluster(cluster_arn)
        panel = _found(self.control_panels, control_panel_arn, "control panel")
        if panel.cluster_arn != cluster_arn:
            raise ArcValidationError(f"control panel {control_panel_arn} is not in cluster {cluster_arn}")
        control = RoutingControl(
            f"{panel.arn}/routingcontrol/{uuid.uuid4().hex[:16]}",
            _named(name, "RoutingControlName"),
            panel.arn,
        )
        with self._lock:
            self.routing_controls[control.arn] = control
            panel.routing_control_count += 1
        return control

    def create_assertion_rule(
        self,
        name: str,
        control_panel_arn: str,
        asserted_controls: Sequence[str],
        rule_config: Mapping[str, Any],
        wait_period_ms: int,
    ) -> AssertionRule:
        _found(self.control_panels, control_panel_arn, "control panel")
        rule_type = str(rule_config.get("Type", ""))
        if rule_type not in RULE_TYPES:
            raise ArcValidationError(
                f"RuleConfig.Type must be one of {sorted(RULE_TYPES)}, got {rule_type!r}"
            )
        for control_arn in asserted_controls:
            control = _found(self.routing_controls, control_arn, "routing control")
            if control.control_panel_arn != control_panel_arn:
                raise ArcValidationError(
                    f"asserted control {control_arn} is not in control panel {control_panel_arn}"
                )
        rule = AssertionRule(
            arn=f"{control_panel_arn}/safetyrule/{uuid.uuid4().hex[:16]}",
            name=_named(name, "Name"),
            control_panel_arn=control_panel_arn,
            asserted_controls=list(asserted_controls),
            rule_type=rule_type,
            threshold=int(rule_config.get("Threshold", 0)),
            inverted=bool(rule_config.get("Inverted", False)),
            wait_period_ms=wait_period_ms,
        )
        with self._lock:
            self.safety_rules[rule.arn] = rule
        return rule

    # -- data plane ------------------------------------------------------------------------------

    def routing_control(self, routing_control_arn: str) -> RoutingControl:
        return _found(self.routing_controls, routing_control_arn, "routing control")

    def list_routing_controls(self, control_panel_arn: str | None = None) -> list[RoutingControl]:
        if control_panel_arn is not None:
            _found(self.control_panels, control_panel_arn, "control panel")
        return [
            control
            for control in self.routing_controls.values()
            if control_panel_arn is None or control.control_panel_arn == control_panel_arn
        ]

    def update_states(
        self, new_states: Mapping[str, str], safety_rules_to_override: Sequence[str] = ()
    ) -> None:
        """Set every named routing control at once, or none: a broken safety rule refuses the whole update."""
        for control_arn, state in new_states.items():
            self.routing_control(control_arn)
            if state not in {ROUTING_CONTROL_ON, ROUTING_CONTROL_OFF}:
                raise ArcValidationError(
                    f"RoutingControlState must be On or Off, got {state!r} for {control_arn}"
                )
        with self._lock:
            current = {arn: control.state for arn, control in self.routing_controls.items()}
            outcome = {**current, **new_states}
            panels = {self.routing_controls[arn].control_panel_arn for arn in new_states}
            for rule in self.safety_rules.values():
                if rule.control_panel_arn not in panels or rule.arn in safety_rules_to_override:
                    continue
                if not rule.holds(outcome):
                    raise ArcValidationError(
                        f"Cannot update the routing control states: the outcome would violate safety rule "
                        f"{rule.name} ({rule.arn}: {rule.rule_type} {rule.threshold} of "
                        f"{len(rule.asserted_controls)} controls On{', inverted' if rule.inverted else ''}); "
                        "override it with SafetyRulesToOverride to change the states anyway"
                    )
            for control_arn, state in new_states.items():
                self.routing_controls[control_arn].state = state


def _named(name: str, what: str) -> str:
    if not name or len(name) > 64:
        raise ArcValidationError(f"{what} must be 1 to 64 characters, got {name!r}")
    return name


def _found(resources: Mapping[str, Any], resource_arn: str, what: str) -> Any:
    found = resources.get(resource_arn)
    if found is None:
        raise ArcNotFoundError(f"no {what} {resource_arn}", resourceId=resource_arn, resourceType=what)
    return found
