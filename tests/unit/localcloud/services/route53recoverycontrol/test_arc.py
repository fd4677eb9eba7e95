"""Route 53 ARC in the emulator: a cluster's routing controls read and changed through its endpoints, safety
rules evaluated on every change, and IAM deciding every data-plane call as on AWS."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import pytest
import requests

from handlers.active_region.signal import RoutingControlActiveRegion, RoutingControlSwitch
from localcloud.core.clients import emulator_client
from localcloud.core.emulator import Emulator
from localcloud.services.iam.role_sessions import RoleSessions
from tests.unit.localcloud.conftest import ACCOUNT_ID, role_with

ARC_CONTROL_REGION = "us-west-2"
ASSUME_LAMBDA_ROLE = "lambda.amazonaws.com"


@dataclass
class Panel:
    cluster: dict[str, Any]
    panel_arn: str
    controls: dict[str, str]  # region -> routing control ARN
    rule_arn: str

    def data_plane(
        self, emulator: Emulator, index: int = 0, credentials: dict[str, str] | None = None
    ) -> Any:
        endpoint = self.cluster["ClusterEndpoints"][index]
        return emulator_client(
            endpoint["Endpoint"], "route53-recovery-cluster", endpoint["Region"], credentials
        )


@pytest.fixture
def panel(emulator: Emulator) -> Panel:
    """A cluster, a panel with one routing control per region and a rule keeping at least one On."""
    config = emulator.client("route53-recovery-control-config", ARC_CONTROL_REGION)
    cluster = config.create_cluster(ClusterName="failover-cluster")["Cluster"]
    panel_arn = config.create_control_panel(
        ClusterArn=cluster["ClusterArn"], ControlPanelName="failover-panel"
    )["ControlPanel"]["ControlPanelArn"]
    controls = {
        region: config.create_routing_control(
            ClusterArn=cluster["ClusterArn"],
            ControlPanelArn=panel_arn,
            RoutingControlName=f"failover-{region}",
        )["RoutingControl"]["RoutingControlArn"]
        for region in ("us-east-1", "us-west-2")
    }
    rule_arn = config.create_safety_rule(
        AssertionRule={
            "Name": "at-least-one-active",
            "ControlPanelArn": panel_arn,
            "AssertedControls": list(controls.values()),
            "RuleConfig": {"Type": "ATLEAST", "Threshold": 1, "Inverted": False},
            "WaitPeriodMs": 5000,
        }
    )["AssertionRule"]["SafetyRuleArn"]
    return Panel(cluster, panel_arn, controls, rule_arn)


def states(panel: Panel, emulator: Emulator) -> dict[str, str]:
    client = panel.data_plane(emulator)
    return {
        region: client.get_routing_control_state(RoutingControlArn=arn)["RoutingControlState"]
        for region, arn in panel.controls.items()
    }


def entries(panel: Panel, on: str) -> list[dict[str, str]]:
    return [
        {"RoutingControlArn": arn, "RoutingControlState": "On" if region == on else "Off"}
        for region, arn in panel.controls.items()
    ]


def refusal_message(call: Callable[[], Any], code: str) -> str:
    """The message of the ClientError `call` raises, which must carry the error code `code`."""
    with pytest.raises(botocore.exceptions.ClientError, match=rf"\({code}\)") as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code
    return raised.value.response["Error"]["Message"]


def test_a_cluster_answers_on_five_regional_endpoints_as_describe_cluster_lists_them(
    emulator: Emulator, panel: Panel
) -> None:
    described = emulator.client("route53-recovery-control-config", ARC_CONTROL_REGION).describe_cluster(
        ClusterArn=panel.cluster["ClusterArn"]
    )["Cluster"]
    assert described["Status"] == "DEPLOYED"
    assert [endpoint["Region"] for endpoint in described["ClusterEndpoints"]] == [
        "ap-northeast-1",
        "ap-southeast-2",
        "eu-west-1",
        "us-east-1",
        "us-west-2",
    ]
    assert len({endpoint["Endpoint"] for endpoint in described["ClusterEndpoints"]}) == 5


def test_routing_controls_start_off_and_every_endpoint_sees_a_change(
    emulator: Emulator, panel: Panel
) -> None:
    # GIVEN a new panel: every control Off, as after a first deploy on AWS
    assert states(panel, emulator) == {"us-east-1": "Off", "us-west-2": "Off"}

    # WHEN one endpoint turns us-east-1 On
    panel.data_plane(emulator, 0).update_routing_control_states(
        UpdateRoutingControlStateEntries=entries(panel, "us-east-1")
    )

    # THEN every other endpoint reads the new state
    for index in range(1, 5):
        read = panel.data_plane(emulator, index).get_routing_control_state(
            RoutingControlArn=panel.controls["us-east-1"]
        )
        assert (read["RoutingControlState"], read["RoutingControlName"]) == ("On", "failover-us-east-1")


def test_a_change_that_breaks_a_safety_rule_is_refused_and_changes_nothing(
    emulator: Emulator, panel: Panel
) -> None:
    # GIVEN us-east-1 On
    client = panel.data_plane(emulator)
    client.update_routing_control_states(UpdateRoutingControlStateEntries=entries(panel, "us-east-1"))

    # WHEN us-east-1 is turned Off alone (no region would be On)
    message = refusal_message(
        lambda: client.update_routing_control_state(
            RoutingControlArn=panel.controls["us-east-1"], RoutingControlState="Off"
        ),
        "ValidationException",
    )

    # THEN ARC refuses with ValidationException, naming the rule, and the state is unchanged
    assert "at-least-one-active" in message
    assert states(panel, emulator) == {"us-east-1": "On", "us-west-2": "Off"}
    # AND the same change passes when the operator overrides the rule ("break glass")
    client.update_routing_control_state(
        RoutingControlArn=panel.controls["us-east-1"],
        RoutingControlState="Off",
        SafetyRulesToOverride=[panel.rule_arn],
    )
    assert states(panel, emulator) == {"us-east-1": "Off", "us-west-2": "Off"}


def test_a_batch_update_is_all_or_nothing(emulator: Emulator, panel: Panel) -> None:
    client = panel.data_plane(emulator)
    unknown = panel.controls["us-east-1"] + "0"
    refusal_message(
        lambda: client.update_routing_control_states(
            UpdateRoutingControlStateEntries=[
                {"RoutingControlArn": panel.controls["us-east-1"], "RoutingControlState": "On"},
                {"RoutingControlArn": unknown, "RoutingControlState": "Off"},
            ]
        ),
        "ResourceNotFoundException",
    )
    assert states(panel, emulator) == {"us-east-1": "Off", "us-west-2": "Off"}


def test_list_routing_controls_gives_each_state_with_its_panel(emulator: Emulator, panel: Panel) -> None:
    panel.data_plane(emulator).update_routing_control_states(
        UpdateRoutingControlStateEntries=entries(panel, "us-west-2")
    )
    listed = panel.data_plane(emulator).list_routing_controls(ControlPanelArn=panel.panel_arn)[
        "RoutingControls"
    ]
    assert {(control["RoutingControlName"], control["RoutingControlState"]) for control in listed} == {
        ("failover-us-east-1", "Off"),
        ("failover-us-west-2", "On"),
    }
    assert {control["ControlPanelName"] for control in listed} == {"failover-panel"}


def test_a_role_reads_and_changes_only_the_controls_its_policy_names(
    emulator: Emulator, panel: Panel
) -> None:
    # GIVEN a role that may read us-east-1's control and nothing else
    role_arn = role_with(
        emulator,
        [
            {
                "Effect": "Allow",
                "Action": "route53-recovery-cluster:GetRoutingControlState",
                "Resource": panel.controls["us-east-1"],
            }
        ],
    )
    credentials = RoleSessions(emulator.client).credentials(role_arn, ASSUME_LAMBDA_ROLE, "reader")
    client = panel.data_plane(emulator, 2, credentials)

    # WHEN it reads its control THEN ARC answers
    read = client.get_routing_control_state(RoutingControlArn=panel.controls["us-east-1"])
    assert read["RoutingControlState"] == "Off"
    denials_before = len(emulator.iam.denials)

    # WHEN it reads the other control, or changes its own THEN it is denied, naming who, what and which
    for call, action, resource in (
        (
            lambda: client.get_routing_control_state(RoutingControlArn=panel.controls["us-west-2"]),
            "route53-recovery-cluster:GetRoutingControlState",
            panel.controls["us-west-2"],
        ),
        (
            lambda: client.update_routing_control_states(
                UpdateRoutingControlStateEntries=entries(panel, "us-east-1")
            ),
            "route53-recovery-cluster:UpdateRoutingControlStates",
            panel.controls["us-east-1"],
        ),
    ):
        message = refusal_message(call, "AccessDeniedException")
        assert f"assumed-role/{role_arn.rsplit('/', 1)[-1]}/reader" in message
        assert action in message and resource in message
    assert len(emulator.iam.denials) == denials_before + 2
    assert states(panel, emulator) == {"us-east-1": "Off", "us-west-2": "Off"}


def test_an_unsigned_request_to_a_cluster_endpoint_is_refused(emulator: Emulator, panel: Panel) -> None:
    endpoint = panel.cluster["ClusterEndpoints"][0]["Endpoint"]
    answer = requests.post(
        endpoint + "/",
        data=json.dumps({"RoutingControlArn": panel.controls["us-east-1"]}),
        headers={
            "X-Amz-Target": "ToggleCustomerAPI.GetRoutingControlState",
            "Content-Type": "application/x-amz-json-1.0",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    assert "not signed" in answer.text


def test_the_functions_reader_and_switch_work_against_the_cluster(emulator: Emulator, panel: Panel) -> None:
    # GIVEN the readers the batch trigger and the runbook use, built as the component configures them
    def client_factory(url: str, region: str) -> Any:
        return emulator_client(url, "route53-recovery-cluster", region)

    endpoints = panel.cluster["ClusterEndpoints"]
    switch = RoutingControlSwitch(
        routing_controls=panel.controls, cluster_endpoints=endpoints, client_factory=client_factory
    )
    reader = RoutingControlActiveRegion(
        routing_controls=panel.controls,
        cluster_endpoints=endpoints,
        cache_seconds=0,
        client_factory=client_factory,
    )

    # WHEN the runbook's switch activates us-west-2, then us-east-1
    switch.activate("us-west-2")
    after_failover = reader.active_region()
    switch.activate("us-east-1")

    # THEN the reader follows, one region On at a time
    assert (after_failover, reader.active_region()) == ("us-west-2", "us-east-1")
    assert states(panel, emulator) == {"us-east-1": "On", "us-west-2": "Off"}
    assert ACCOUNT_ID in panel.rule_arn
