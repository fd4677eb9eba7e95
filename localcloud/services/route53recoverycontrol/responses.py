"""ARC's two APIs as moto response classes, so IAM enforcement authenticates and authorizes them like any
other service (moto's `call_action` runs the patched authorization step before an action's method).

- route53-recovery-control-config (REST JSON): CreateCluster, DescribeCluster, CreateControlPanel,
  CreateRoutingControl, CreateSafetyRule (assertion rules), what a program's ARC resources need.
- route53-recovery-cluster (JSON 1.0, a cluster's regional endpoints): GetRoutingControlState,
  UpdateRoutingControlState, UpdateRoutingControlStates, ListRoutingControls.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from localcloud.services.route53recoverycontrol.models import ArcBackend, ArcError, ArcValidationError

_backend: ArcBackend | None = None


def use_backend(backend: ArcBackend | None) -> None:
    """The state the responses serve (one emulator per process, as moto's own backends)."""
    global _backend  # noqa: PLW0603 - moto's servers find their backend in module state too
    _backend = backend


def _current() -> ArcBackend:
    if _backend is None:
        raise JsonRESTError("InternalServerException", "ARC is not running in this emulator")
    return _backend


def _api_error(error: ArcError) -> JsonRESTError:
    api_error = JsonRESTError(error.code, error.message)
    api_error.code = error.status
    api_error.description = json.dumps({"__type": error.code, "message": error.message, **error.fields})
    return api_error


class _ArcResponse(BaseResponse):
    def _request(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            parsed = json.loads(self.body)
        except ValueError as invalid:
            raise JsonRESTError(
                "SerializationException", f"the request body is not JSON: {invalid}"
            ) from invalid
        if not isinstance(parsed, dict):
            raise JsonRESTError("SerializationException", "the request body must be a JSON object")
        return parsed

    content_type = "application/json"

    def _answer(self, result: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return json.dumps(result), {"Content-Type": self.content_type}


class ControlConfigResponse(_ArcResponse):
    def __init__(self) -> None:
        super().__init__(service_name="route53-recovery-control-config")

    def create_cluster(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        backend = _current()
        try:
            cluster = backend.create_cluster(str(request.get("ClusterName", "")))
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({"Cluster": cluster.describe(backend.account)})

    def describe_cluster(self) -> tuple[str, dict[str, str]]:
        backend = _current()
        try:
            cluster = backend.describe_cluster(unquote(self.uri_match["ClusterArn"]))
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({"Cluster": cluster.describe(backend.account)})

    def create_control_panel(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        backend = _current()
        try:
            panel = backend.create_control_panel(
                str(request.get("ControlPanelName", "")), str(request.get("ClusterArn", ""))
            )
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({"ControlPanel": panel.describe(backend.account)})

    def create_routing_control(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        backend = _current()
        try:
            control = backend.create_routing_control(
                str(request.get("RoutingControlName", "")),
                str(request.get("ClusterArn", "")),
                str(request.get("ControlPanelArn", "")),
            )
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({"RoutingControl": control.describe(backend.account)})

    def create_safety_rule(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        backend = _current()
        try:
            if "GatingRule" in request or "AssertionRule" not in request:
                raise ArcValidationError("localcloud supports assertion rules only (AssertionRule)")
            rule = request["AssertionRule"]
            created = backend.create_assertion_rule(
                str(rule.get("Name", "")),
                str(rule.get("ControlPanelArn", "")),
                list(rule.get("AssertedControls") or []),
                dict(rule.get("RuleConfig") or {}),
                int(rule.get("WaitPeriodMs", 0)),
            )
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({"AssertionRule": created.describe(backend.account)})


class RecoveryClusterResponse(_ArcResponse):
    content_type = "application/x-amz-json-1.0"

    def __init__(self) -> None:
        super().__init__(service_name="route53-recovery-cluster")

    def get_routing_control_state(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        try:
            control = _current().routing_control(str(request.get("RoutingControlArn", "")))
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer(
            {
                "RoutingControlArn": control.arn,
                "RoutingControlState": control.state,
                "RoutingControlName": control.name,
            }
        )

    def update_routing_control_state(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        new_state = {str(request.get("RoutingControlArn", "")): str(request.get("RoutingControlState", ""))}
        return self._update(new_state, request.get("SafetyRulesToOverride") or [])

    def update_routing_control_states(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        entries = request.get("UpdateRoutingControlStateEntries") or []
        new_states = {
            str(entry.get("RoutingControlArn", "")): str(entry.get("RoutingControlState", ""))
            for entry in entries
        }
        if not new_states:
            raise _api_error(
                ArcValidationError("UpdateRoutingControlStateEntries must name at least one control")
            )
        return self._update(new_states, request.get("SafetyRulesToOverride") or [])

    def _update(self, new_states: dict[str, str], overrides: list[str]) -> tuple[str, dict[str, str]]:
        try:
            _current().update_states(new_states, [str(rule) for rule in overrides])
        except ArcError as error:
            raise _api_error(error) from error
        return self._answer({})

    def list_routing_controls(self) -> tuple[str, dict[str, str]]:
        request = self._request()
        backend = _current()
        panel_arn = request.get("ControlPanelArn")
        try:
            controls = backend.list_routing_controls(str(panel_arn) if panel_arn else None)
        except ArcError as error:
            raise _api_error(error) from error
        panels = backend.control_panels
        return self._answer(
            {
                "RoutingControls": [
                    {
                        "ControlPanelArn": control.control_panel_arn,
                        "ControlPanelName": panels[control.control_panel_arn].name,
                        "RoutingControlArn": control.arn,
                        "RoutingControlName": control.name,
                        "RoutingControlState": control.state,
                        "Owner": backend.account,
                    }
                    for control in controls
                ]
            }
        )
