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
def service_unreachable(cloud: LocalCloud, function_arn: str, service: str) -> Iterator[None]:
    """While open, the function's calls to `service` (e.g. "s3", "dynamodb") fail to connect.

    One SDK attempt per call (AWS_MAX_ATTEMPTS): the test is about the workflow's retries, not botocore's,
    whose backoff would only make each failing attempt slower.
    """
    lambda_client = cloud.client("lambda", function_arn.split(":")[3])
    configuration = lambda_client.get_function_configuration(FunctionName=function_arn)
    original = configuration.get("Environment", {}).get("Variables", {})
    faulty = {
        **original,
        f"AWS_ENDPOINT_URL_{service.upper()}": f"http://127.0.0.1:{free_port()}",
        "AWS_MAX_ATTEMPTS": "1",
    }
    lambda_client.update_function_configuration(FunctionName=function_arn, Environment={"Variables": faulty})
    try:
        yield
    finally:
        lambda_client.update_function_configuration(
            FunctionName=function_arn, Environment={"Variables": original}
        )


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
