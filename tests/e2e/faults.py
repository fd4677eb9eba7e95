"""Faults injected through the emulator's own API, and what a workflow's execution history says of them.

A fault here is configuration a real account could be given, never a hook in handler code: a function's
SDK is pointed, through UpdateFunctionConfiguration, at a loopback port nobody listens on for one service,
as if that service were unreachable from the function. botocore reads AWS_ENDPOINT_URL_<SERVICE> before
the AWS_ENDPOINT_URL the runtime sets, so only that service is cut off; the function's warm environment
is keyed on its configuration, so the next invocation starts with the fault and, once it is lifted, runs
with the original configuration again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.core.cloud import LocalCloud
from localcloud.services.elasticache.redis_server import free_port


def task_function(cloud: LocalCloud, state_machine_arn: str, *path: str) -> str:
    """The FunctionName of the lambda:invoke Task at `path` (state names, through Map processors)."""
    region = state_machine_arn.split(":")[3]
    described = cloud.client("stepfunctions", region).describe_state_machine(
        stateMachineArn=state_machine_arn
    )
    machine: dict[str, Any] = json.loads(described["definition"])
    *maps, task = path
    for name in maps:
        machine = machine["States"][name]["ItemProcessor"]
    return str(machine["States"][task]["Parameters"]["FunctionName"])


@contextmanager
def environment_changed(cloud: LocalCloud, function_arn: str, variables: dict[str, str]) -> Iterator[None]:
    """While open, the function runs with `variables` set (an empty value unsets a setting, as a blank
    console field does); then with its own configuration again."""
    lambda_client = cloud.client("lambda", function_arn.split(":")[3])
    configuration = lambda_client.get_function_configuration(FunctionName=function_arn)
    original = configuration.get("Environment", {}).get("Variables", {})
    changed = {**original, **variables}
    lambda_client.update_function_configuration(FunctionName=function_arn, Environment={"Variables": changed})
    try:
        yield
    finally:
        lambda_client.update_function_configuration(
            FunctionName=function_arn, Environment={"Variables": original}
        )


@contextmanager
def service_unreachable(cloud: LocalCloud, function_arn: str, service: str) -> Iterator[None]:
    """While open, the function's calls to `service` (e.g. "s3", "dynamodb") fail to connect.

    One SDK attempt per call (AWS_MAX_ATTEMPTS): the test is about the workflow's retries, not botocore's,
    whose backoff would only make each failing attempt slower.
    """
    unreachable = {
        f"AWS_ENDPOINT_URL_{service.upper()}": f"http://127.0.0.1:{free_port()}",
        "AWS_MAX_ATTEMPTS": "1",
    }
    with environment_changed(cloud, function_arn, unreachable):
        yield


def function_runs(cloud: LocalCloud, function_arn: str) -> list[str]:
    """The log of every run of the function so far, oldest first: localcloud writes one log stream per
    invocation, which is how a test counts the runs of a task no execution history shows (a
    Distributed Map's EXPRESS children keep theirs out of the parent's history, as on AWS)."""
    region = function_arn.split(":")[3]
    configuration = cloud.client("lambda", region).get_function_configuration(FunctionName=function_arn)
    group = (
        configuration.get("LoggingConfig", {}).get("LogGroup")
        or f"/aws/lambda/{configuration['FunctionName']}"
    )
    logs = cloud.client("logs", region)
    try:
        streams = [
            stream
            for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
            for stream in page["logStreams"]
        ]
    except logs.exceptions.ResourceNotFoundException:
        return []
    streams.sort(key=lambda stream: (stream["creationTime"], stream["logStreamName"]))
    return [
        "\n".join(
            event["message"]
            for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
                "events"
            ]
        )
        for stream in streams
    ]


def history(cloud: LocalCloud, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first, following every page."""
    sfn = cloud.client("stepfunctions", execution_arn.split(":")[3])
    events: list[dict[str, Any]] = []
    request = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        request["nextToken"] = page["nextToken"]


def task_errors(events: list[dict[str, Any]]) -> list[str]:
    """The error of every failed Task attempt, in order."""
    return [event["taskFailedEventDetails"]["error"] for event in events if event["type"] == "TaskFailed"]


def invocations(events: list[dict[str, Any]], function_arn: str) -> list[dict[str, Any]]:
    """The Payload of every attempt to invoke `function_arn` (one TaskScheduled event per attempt)."""
    payloads = []
    for event in events:
        if event["type"] != "TaskScheduled":
            continue
        parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
        if parameters.get("FunctionName") == function_arn:
            payload = parameters.get("Payload")
            payloads.append(json.loads(payload) if isinstance(payload, str) else payload)
    return payloads
