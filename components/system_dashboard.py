"""One CloudWatch dashboard per system and region: what an operator looks at first.

Queue depths (the work waiting), dead-letter queues (what failed and waits for a person), workflow outcomes
and function errors and throttles, each from the metrics AWS publishes by itself (AWS/SQS, AWS/States,
AWS/Lambda), so the dashboard needs no code in the handlers. Batch has its own (batch_dashboard.py), which
adds the files its handlers count. The body is a pure function of the names; the dashboard's name carries
the stack, so several stacks share an account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import stack_scoped_name

PERIOD_SECONDS = 300
WIDGET_WIDTH = 12  # two widgets per row of CloudWatch's 24 columns
WIDGET_HEIGHT = 6
WORKFLOW_OUTCOMES = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
FUNCTION_PROBLEMS = ("Errors", "Throttles")


@dataclass(frozen=True, kw_only=True)
class SystemDashboardArgs:
    """What a system's dashboard shows, each by a label an operator reads -> the resource's name or ARN."""

    region: str
    queues: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # label -> queue name
    dead_letter_queues: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # label -> queue name
    state_machines: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # label -> ARN
    functions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # label -> function name


def system_dashboard(
    name: str, args: SystemDashboardArgs, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.Dashboard:
    """`{name}-dashboard`, named `<project>-<stack>-{name}` in CloudWatch."""
    labels = (
        list(args.queues),
        list(args.dead_letter_queues),
        list(args.state_machines),
        list(args.functions),
    )
    values = [*args.queues.values(), *args.dead_letter_queues.values(), *args.state_machines.values()]
    values += list(args.functions.values())

    def body(resolved: Sequence[str]) -> str:
        names = iter(resolved)
        queues, dead_letters, machines, functions = (
            {label: next(names) for label in group} for group in labels
        )
        return json.dumps(
            dashboard_body(
                region=args.region,
                queues=queues,
                dead_letter_queues=dead_letters,
                state_machines=machines,
                functions=functions,
            )
        )

    return aws.cloudwatch.Dashboard(
        f"{name}-dashboard",
        region=args.region,
        dashboard_name=stack_scoped_name(name, max_length=255),
        dashboard_body=pulumi.Output.all(*values).apply(body),
        opts=opts,
    )


def dashboard_body(
    *,
    region: str,
    queues: Mapping[str, str],
    dead_letter_queues: Mapping[str, str],
    state_machines: Mapping[str, str],
    functions: Mapping[str, str],
) -> dict[str, Any]:
    """The dashboard's widgets: a widget per group that has something to show, two per row."""
    groups = [
        ("Work waiting (messages visible)", _queue_depths(queues)),
        ("Dead-letter queues (messages visible): each needs a person", _queue_depths(dead_letter_queues)),
        ("Workflow outcomes", _workflow_outcomes(state_machines)),
        ("Function errors and throttles", _function_problems(functions)),
    ]
    shown = [(title, metrics) for title, metrics in groups if metrics]
    return {
        "widgets": [
            metric_widget(
                title,
                metrics,
                region=region,
                column=(index % 2) * WIDGET_WIDTH,
                row=(index // 2) * WIDGET_HEIGHT,
            )
            for index, (title, metrics) in enumerate(shown)
        ]
    }


def metric_widget(
    title: str, metrics: list[list[Any]], *, region: str, column: int, row: int
) -> dict[str, Any]:
    """A time series of `metrics` (CloudWatch's metric arrays), summed per PERIOD_SECONDS unless a metric
    says otherwise, at (column, row) of the 24-column grid."""
    return {
        "type": "metric",
        "x": column,
        "y": row,
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": PERIOD_SECONDS,
            "metrics": metrics,
        },
    }


def _queue_depths(queues: Mapping[str, str]) -> list[list[Any]]:
    # A depth is a level, not a count of events: its maximum over the period, not its sum.
    return [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            name,
            {"label": label, "stat": "Maximum"},
        ]
        for label, name in queues.items()
    ]


def _workflow_outcomes(state_machines: Mapping[str, str]) -> list[list[Any]]:
    return [
        [
            "AWS/States",
            metric,
            "StateMachineArn",
            arn,
            {"label": f"{label}: {metric.removeprefix('Executions')}"},
        ]
        for label, arn in state_machines.items()
        for metric in WORKFLOW_OUTCOMES
    ]


def _function_problems(functions: Mapping[str, str]) -> list[list[Any]]:
    return [
        ["AWS/Lambda", metric, "FunctionName", name, {"label": f"{label}: {metric}"}]
        for label, name in functions.items()
        for metric in FUNCTION_PROBLEMS
    ]
