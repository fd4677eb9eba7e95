"""What operators watch in each batch region: its dashboard and alarms on failed workflow executions.

The alarms notify the region's batch alarm topic (components/alarms.py), which the region's dead-letter
queue and the failover runbook alarm into as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic, failed_executions_alarm
from components.batch_dashboard import dashboard_body
from components.naming import stack_scoped_name


@dataclass(frozen=True)
class RegionOperations:
    dashboard_name: pulumi.Output[str]
    failure_alarm_arn: pulumi.Output[str]  # failed batch workflow executions


def region_operations(
    name: str,
    *,
    batch_workflow_arn: pulumi.Output[str],
    alarms: AlarmTopic,
    opts: pulumi.ResourceOptions,
) -> RegionOperations:
    """The region's dashboard, and an alarm per state machine on failed executions, to `alarms`."""
    region = alarms.region
    board = aws.cloudwatch.Dashboard(
        f"{name}-dashboard",
        region=region,
        dashboard_name=stack_scoped_name(name, max_length=255),
        dashboard_body=batch_workflow_arn.apply(
            lambda arn: json.dumps(dashboard_body(region=region, main_state_machine_arn=arn))
        ),
        opts=opts,
    )
    workflow_alarm = failed_executions_alarm(
        f"{name}-batch-workflow-failed",
        topic=alarms,
        state_machine_arn=batch_workflow_arn,
        workflow="batch workflow",
        opts=opts,
    )
    return RegionOperations(board.dashboard_name, workflow_alarm.arn)
