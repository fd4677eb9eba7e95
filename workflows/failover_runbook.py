"""Failover runbook (STANDARD): make this region the active one, wait for replication, reconcile.

One state machine per region, each promoting its own region: failover is the standby's runbook, failback
the primary's, the same definition in the other direction. Steps, as the seed's SSM runbook runs them:

1. Read the active-region signal (not an error when it is unreadable: that may be why we fail over).
2. Activate this region unless it already is (ARC routing controls on AWS, the TXT record locally); the
   function reads the signal back and fails when it does not say this region.
3. Wait for replication: files written in the old region reach this region's bucket within the S3
   Replication Time Control SLA (15 minutes) on AWS; seconds locally.
4. Reconcile: re-copy every unfinished file present here so this region's trigger processes it, and
   report the ones not replicated yet. Reconciliation is idempotent, so the runbook may be run again
   (e.g. after late replication) to pick up the files it reported missing.
"""

from __future__ import annotations

from typing import Any

from handlers.batch.contract import STALE_MARK_SECONDS, ReconcileIncompleteError, ReconcileMarkStuckError
from workflows.states import failure_state, lambda_task

FAILOVER_FAILED = "FailoverFailed"
RTC_SLA_SECONDS = 15 * 60
# The reconciliation raises this when a copy failed (its marks removed): running it again copies the rest.
RECONCILE_RETRY = {
    "ErrorEquals": [ReconcileIncompleteError.__name__],
    "IntervalSeconds": 5,
    "MaxAttempts": 3,
    "BackoffRate": 2,
    "JitterStrategy": "FULL",
}
# A copy failed and its mark stayed: only a run after the mark has gone stale takes the file over, so
# the runbook waits that long (a Wait, not a jittered Retry, which could come back too early) and runs the
# reconciliation once more; a second stuck mark fails the runbook, which alarms.
STALE_MARKS_WAIT_SECONDS = STALE_MARK_SECONDS + 60
RECONCILE_STATE = "Reconcile unfinished files"
RECONCILE_AGAIN_STATE = "Reconcile after stale marks"


def _reconcile(reconcile_arn: str, region: str, *, on_stuck_mark: str | None) -> dict[str, Any]:
    state = lambda_task(
        reconcile_arn,
        payload={"region": region},
        next_state="Region active",
        extra_retries=[RECONCILE_RETRY],
        catch_to="Runbook failed",
        ResultSelector={"summary.$": "$.Payload"},
        ResultPath="$.reconciliation",
    )
    if on_stuck_mark is not None:
        stuck = {"ErrorEquals": [ReconcileMarkStuckError.__name__], "ResultPath": "$.stuckMarks"}
        state["Catch"] = [{**stuck, "Next": on_stuck_mark}, *state["Catch"]]
    return state


def build_definition(
    *,
    read_state_arn: str,
    activate_arn: str,
    reconcile_arn: str,
    region: str,
    replication_wait_seconds: int = RTC_SLA_SECONDS,
) -> dict[str, Any]:
    """The state machine (Amazon States Language) as a dict; the component serialises it."""
    if replication_wait_seconds < 0:
        raise ValueError(f"replication_wait_seconds must be >= 0, got {replication_wait_seconds}")
    target = {"targetRegion": region}
    return {
        "Comment": f"Make {region} the active region, wait for replication, reconcile unfinished files",
        "StartAt": "Read active region",
        "States": {
            "Read active region": lambda_task(
                read_state_arn,
                payload=target,
                next_state="Already active?",
                catch_to="Runbook failed",
                ResultSelector={
                    "activeRegion.$": "$.Payload.activeRegion",
                    "alreadyActive.$": "$.Payload.alreadyActive",
                },
                ResultPath="$.before",
            ),
            "Already active?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.before.alreadyActive",
                        "BooleanEquals": True,
                        "Next": "Wait for replication",
                    }
                ],
                "Default": "Activate region",
            },
            "Activate region": lambda_task(
                activate_arn,
                payload=target,
                next_state="Wait for replication",
                catch_to="Runbook failed",
                ResultSelector={
                    "previousRegion.$": "$.Payload.previousRegion",
                    "activeRegion.$": "$.Payload.activeRegion",
                },
                ResultPath="$.activation",
            ),
            "Wait for replication": {
                "Type": "Wait",
                "Comment": "S3 RTC replicates 99.99% of objects within 15 minutes",
                "Seconds": replication_wait_seconds,
                "Next": RECONCILE_STATE,
            },
            RECONCILE_STATE: _reconcile(reconcile_arn, region, on_stuck_mark="Wait for stale marks"),
            "Wait for stale marks": {
                "Type": "Wait",
                "Comment": "a failed copy's mark stayed: runs leave its file alone until the mark is stale",
                "Seconds": STALE_MARKS_WAIT_SECONDS,
                "Next": RECONCILE_AGAIN_STATE,
            },
            RECONCILE_AGAIN_STATE: _reconcile(reconcile_arn, region, on_stuck_mark=None),
            "Region active": {"Type": "Succeed"},
            "Runbook failed": failure_state(FAILOVER_FAILED),
        },
    }
