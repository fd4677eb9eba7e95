"""Every system has a dashboard per region it runs in, named for the stack, watching every function,
dead-letter queue and workflow it deploys there: nothing an operator should see is left off."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.system_dashboard import dashboard_body

from .conftest import BuiltStack

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
FUNCTION = "aws:lambda/function:Function"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
QUEUE = "aws:sqs/queue:Queue"
# Each system's logical-name prefix (batch's own dashboard is tested with the batch orchestrator).
SYSTEMS = ("transform", "artifacts", "audit", "events")


def metrics_of(dashboard: Any, namespace: str, dimension: str) -> set[str]:
    body = json.loads(dashboard.inputs["dashboardBody"])
    return {
        metric[3]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
        if metric[0] == namespace and metric[2] == dimension
    }


def deployed(stack: BuiltStack, typ: str, system: str, region: str | None, output: str) -> set[str]:
    return {
        str(resource.outputs[output])
        for resource in stack.resources_of(typ, f"{system}-")
        if resource.region == region
    }


@pytest.mark.parametrize("system", SYSTEMS)
def test_each_systems_dashboards_watch_every_function_dlq_and_workflow_it_deploys(
    primary_stack: BuiltStack, system: str
) -> None:
    # GIVEN the production stack's dashboards of one system, by region
    dashboards = {board.region: board for board in primary_stack.resources_of(DASHBOARD, f"{system}-")}
    assert dashboards
    for region, board in dashboards.items():
        # THEN the name carries the project and the stack
        assert board.inputs["dashboardName"].startswith("regionflow-primary-")
        # AND every function of the system in that region has its errors and throttles there
        assert metrics_of(board, "AWS/Lambda", "FunctionName") == deployed(
            primary_stack, FUNCTION, system, region, "name"
        )
        # AND every workflow its outcomes
        assert metrics_of(board, "AWS/States", "StateMachineArn") == deployed(
            primary_stack, STATE_MACHINE, system, region, "arn"
        )
        # AND every queue of the system in that region (work and dead letters) its depth
        assert metrics_of(board, "AWS/SQS", "QueueName") == deployed(
            primary_stack, QUEUE, system, region, "name"
        )
    # AND it runs one per region the system has functions in
    assert set(dashboards) == {fn.region for fn in primary_stack.resources_of(FUNCTION, f"{system}-")}


def test_the_dashboard_shows_only_groups_with_something_to_watch_two_to_a_row() -> None:
    body = dashboard_body(
        region="eu-west-1",
        queues={},
        dead_letter_queues={"Failed": "failed-dlq"},
        state_machines={"Flow": "arn:aws:states:eu-west-1:1:stateMachine:flow"},
        functions={"Worker": "worker-fn"},
    )
    widgets = body["widgets"]
    assert [widget["properties"]["title"] for widget in widgets] == [
        "Dead-letter queues (messages visible): each needs a person",
        "Workflow outcomes",
        "Function errors and throttles",
    ]
    assert [(widget["x"], widget["y"]) for widget in widgets] == [(0, 0), (12, 0), (0, 6)]
    # A queue's depth is a level: its maximum over the period, never a sum of samples
    [depth] = widgets[0]["properties"]["metrics"]
    assert depth == [
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "failed-dlq",
        {"label": "Failed", "stat": "Maximum"},
    ]
    assert [metric[1] for metric in widgets[1]["properties"]["metrics"]] == [
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
    ]
    assert {widget["properties"]["region"] for widget in widgets} == {"eu-west-1"}
