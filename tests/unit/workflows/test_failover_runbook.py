"""The failover runbook: sound ASL, the seed's steps in order, this region promoted, reconciliation last."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.batch.contract import ReconcileIncompleteError
from tests.unit.workflows.asl import problems
from workflows import failover_runbook

ARNS: dict[str, Any] = {
    "read_state_arn": "arn:aws:lambda:us-west-2:123456789012:function:read-active-region",
    "activate_arn": "arn:aws:lambda:us-west-2:123456789012:function:activate-region",
    "reconcile_arn": "arn:aws:lambda:us-west-2:123456789012:function:reconcile",
    "region": "us-west-2",
}


@pytest.fixture(scope="module")
def runbook() -> dict[str, Any]:
    return failover_runbook.build_definition(**ARNS, replication_wait_seconds=42)


def path_from(definition: dict[str, Any], start: str, choose: str | None = None) -> list[str]:
    """States visited from `start` following Next, and at a Choice the branch to `choose` (else Default)."""
    order: list[str] = []
    name: str | None = start
    while name:
        order.append(name)
        state = definition["States"][name]
        if state["Type"] == "Choice":
            targets = [choice["Next"] for choice in state["Choices"]]
            name = choose if choose in targets else state["Default"]
        else:
            name = state.get("Next")
    return order


def test_the_runbook_is_sound_asl_where_every_task_retries_and_catches(runbook) -> None:
    assert problems(runbook) == []


def test_the_runbook_reads_flips_waits_then_reconciles(runbook) -> None:
    assert path_from(runbook, runbook["StartAt"]) == [
        "Read active region",
        "Already active?",
        "Activate region",
        "Wait for replication",
        "Reconcile unfinished files",
        "Region active",
    ]


def test_an_already_active_region_is_not_flipped_but_still_reconciled(runbook) -> None:
    visited = path_from(runbook, runbook["StartAt"], choose="Wait for replication")
    assert "Activate region" not in visited
    assert visited[-2:] == ["Reconcile unfinished files", "Region active"]
    [choice] = runbook["States"]["Already active?"]["Choices"]
    assert choice == {
        "Variable": "$.before.alreadyActive",
        "BooleanEquals": True,
        "Next": "Wait for replication",
    }


def test_every_step_targets_the_region_the_runbook_belongs_to(runbook) -> None:
    states = runbook["States"]
    assert states["Read active region"]["Parameters"]["Payload"] == {"targetRegion": "us-west-2"}
    assert states["Activate region"]["Parameters"]["Payload"] == {"targetRegion": "us-west-2"}
    assert states["Reconcile unfinished files"]["Parameters"]["Payload"] == {"region": "us-west-2"}
    assert states["Reconcile unfinished files"]["Parameters"]["FunctionName"] == ARNS["reconcile_arn"]


def test_the_replication_wait_comes_from_configuration_and_defaults_to_the_rtc_sla() -> None:
    default = failover_runbook.build_definition(**ARNS)
    assert default["States"]["Wait for replication"]["Seconds"] == 15 * 60
    assert (
        failover_runbook.build_definition(**ARNS, replication_wait_seconds=0)["States"][
            "Wait for replication"
        ]["Seconds"]
        == 0
    )
    with pytest.raises(ValueError, match="replication_wait_seconds"):
        failover_runbook.build_definition(**ARNS, replication_wait_seconds=-1)


def test_an_incomplete_reconciliation_is_retried_before_the_runbook_fails(runbook) -> None:
    reconcile = runbook["States"]["Reconcile unfinished files"]
    retried = [error for retry in reconcile["Retry"] for error in retry["ErrorEquals"]]
    assert ReconcileIncompleteError.__name__ in retried
    assert reconcile["Catch"][-1] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": "Runbook failed",
    }
    assert runbook["States"]["Runbook failed"]["Error"] == failover_runbook.FAILOVER_FAILED
