"""Step Functions state machines of a Pulumi program -> Step Functions API calls on the emulator.

moto's interpreter runs the executions (`default_user_config["stepfunctions"]`, set by the emulator),
with the fixes in patches.py.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import tag_list


def _logging_configuration(wire: dict[str, Any]) -> dict[str, Any]:
    """Wire {level, includeExecutionData, logDestination: "<log group arn>:*"} -> the API's shape."""
    configuration: dict[str, Any] = {
        "level": wire["level"],
        "includeExecutionData": bool(wire.get("includeExecutionData")),
    }
    if wire.get("logDestination"):
        configuration["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": wire["logDestination"]}}]
    return configuration


def create_state_machine(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=80)
    parameters: dict[str, Any] = {
        "name": name,
        "definition": inputs["definition"],
        "roleArn": inputs["roleArn"],
        "type": inputs.get("type") or "STANDARD",
    }
    logging_configuration = inputs.get("loggingConfiguration") or {}
    if logging_configuration.get("level"):
        parameters["loggingConfiguration"] = _logging_configuration(logging_configuration)
    if (inputs.get("tracingConfiguration") or {}).get("enabled") is not None:
        parameters["tracingConfiguration"] = {"enabled": bool(inputs["tracingConfiguration"]["enabled"])}
    if tag_list(inputs):
        parameters["tags"] = tag_list(inputs, key="key", value="value")
    created = ctx.client("stepfunctions", region).create_state_machine(**parameters)
    machine_arn = created["stateMachineArn"]
    return machine_arn, {
        **inputs,
        "id": machine_arn,
        "arn": machine_arn,
        "name": name,
        "status": "ACTIVE",
        "creationDate": str(created.get("creationDate") or ""),
        "stateMachineVersionArn": created.get("stateMachineVersionArn") or "",
    }


CREATORS: Registry = {"aws:sfn/stateMachine:StateMachine": create_state_machine}
