"""Lambda (REST: names come from the body, else the URL path) and Step Functions.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from localcloud.services.iam.request_authorization.model import (
    Call,
    Check,
    Rule,
    Service,
    anywhere,
    on,
    param,
    pass_role,
    scalar,
    uniform,
)

# -- Lambda -------------------------------------------------------------------------------------------

_FUNCTION_IN_PATH = re.compile(r"/functions/([^/]+)")
_LAYER_IN_PATH = re.compile(r"/layers/([^/]+)(?:/versions/(\d+))?")
_MAPPING_IN_PATH = re.compile(r"/event-source-mappings/([^/]+)")
_TAGGED_IN_PATH = re.compile(r"/tags/(.+?)/?$")
_UNQUALIFIED_COLONS = 6  # arn:aws:lambda:REGION:ACCOUNT:function:NAME


def _in_path(call: Call, pattern: re.Pattern[str], group: int = 1) -> str | None:
    found = pattern.search(urlsplit(call.request.path).path)
    return unquote(found.group(group)) if found and found.group(group) else None


def function_arn(call: Call, function: str, qualifier: str | None = None) -> str:
    """A function's ARN from a name, NAME:QUALIFIER, a partial ARN (ACCOUNT:function:NAME) or a full ARN;
    a qualifier (version or alias) stays on the ARN, as AWS authorizes the qualified function."""
    if function.startswith("arn:"):
        arn = function
    elif ":function:" in function:
        arn = f"arn:aws:lambda:{call.region}:{function}"
    else:
        arn = call.arn("lambda", f"function:{function}")
    if qualifier and arn.count(":") == _UNQUALIFIED_COLONS:
        arn = f"{arn}:{qualifier}"
    return arn


def _function(call: Call) -> str | None:
    function = call.text("FunctionName") or _in_path(call, _FUNCTION_IN_PATH)
    qualifier = call.text("Qualifier") or call.query("Qualifier")
    return function_arn(call, function, qualifier) if function else None


def _invoked_function(call: Call) -> str | None:
    """Invoke's function, from the URL when the request has one: an Invoke's body is the function's own
    payload, whose keys (a "FunctionName" or "Qualifier" among them) say nothing about what is invoked."""
    function = _in_path(call, _FUNCTION_IN_PATH)
    if function is None:
        return _function(call)
    return function_arn(call, function, call.query("Qualifier"))


def _layer(call: Call) -> str | None:
    layer = call.text("LayerName") or _in_path(call, _LAYER_IN_PATH)
    return layer if layer is None or layer.startswith("arn:") else call.arn("lambda", f"layer:{layer}")


def _layer_version(call: Call) -> str | None:
    layer, version = _layer(call), call.text("VersionNumber") or _in_path(call, _LAYER_IN_PATH, 2)
    return f"{layer}:{version}" if layer and version else None


def _event_source_mapping(call: Call) -> str | None:
    mapping = call.text("UUID") or _in_path(call, _MAPPING_IN_PATH)
    return call.arn("lambda", f"event-source-mapping:{mapping}") if mapping else None


def _function_setup(action: str) -> Rule:
    """CreateFunction / UpdateFunctionConfiguration also pass the execution role and read the layers."""

    def rule(call: Call) -> list[Check]:
        layers = [
            Check("lambda:GetLayerVersion", layer) for layer in map(scalar, call.items("Layers")) if layer
        ]
        return [call.check(_function(call), action), *pass_role(call, "Role"), *layers]

    return rule


_FUNCTION_OPERATIONS = (
    *("GetFunction", "GetFunctionConfiguration", "UpdateFunctionCode", "DeleteFunction"),
    *("AddPermission", "RemovePermission", "GetPolicy", "PublishVersion", "ListVersionsByFunction"),
    *("PutFunctionConcurrency", "GetFunctionConcurrency", "DeleteFunctionConcurrency"),
    *("CreateFunctionUrlConfig", "GetFunctionUrlConfig", "UpdateFunctionUrlConfig"),
    *("DeleteFunctionUrlConfig", "ListFunctionUrlConfigs"),
    *("CreateAlias", "GetAlias", "UpdateAlias", "DeleteAlias", "ListAliases"),
    *("PutFunctionEventInvokeConfig", "GetFunctionEventInvokeConfig", "UpdateFunctionEventInvokeConfig"),
    *("DeleteFunctionEventInvokeConfig", "ListFunctionEventInvokeConfigs"),
    *("PutProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig"),
    *("DeleteProvisionedConcurrencyConfig", "ListProvisionedConcurrencyConfigs"),
    *("GetFunctionCodeSigningConfig", "PutFunctionCodeSigningConfig", "DeleteFunctionCodeSigningConfig"),
    *("GetFunctionRecursionConfig", "PutFunctionRecursionConfig"),
    *("GetRuntimeManagementConfig", "PutRuntimeManagementConfig"),
)
_LAYER_VERSION_OPERATIONS = (
    *("GetLayerVersion", "DeleteLayerVersion", "GetLayerVersionPolicy"),
    *("AddLayerVersionPermission", "RemoveLayerVersionPermission"),
)
_LAMBDA_ACCOUNT_OPERATIONS = (
    *("ListFunctions", "GetAccountSettings", "ListLayers", "ListLayerVersions", "ListEventSourceMappings"),
    *("ListCodeSigningConfigs", "CreateCodeSigningConfig"),
    # No resource type in the reference: scoped by the lambda:FunctionArn condition key instead.
    "CreateEventSourceMapping",
)
_LAMBDA_RULES: dict[str, Rule] = {
    "Invoke": on(_invoked_function, "InvokeFunction"),
    "InvokeWithResponseStream": on(_invoked_function, "InvokeFunction"),
    "InvokeAsync": on(_invoked_function, "InvokeAsync"),
    **uniform(_FUNCTION_OPERATIONS, on(_function)),
    "CreateFunction": _function_setup("CreateFunction"),
    "UpdateFunctionConfiguration": _function_setup("UpdateFunctionConfiguration"),
    **uniform(("GetEventSourceMapping", "UpdateEventSourceMapping"), on(_event_source_mapping)),
    "DeleteEventSourceMapping": on(_event_source_mapping),
    "PublishLayerVersion": on(_layer),
    **uniform(_LAYER_VERSION_OPERATIONS, on(_layer_version)),
    "GetLayerVersionByArn": on(lambda call: call.text("Arn") or call.query("Arn"), "GetLayerVersion"),
    **uniform(
        ("TagResource", "UntagResource", "ListTags"),
        on(lambda call: call.text("Resource") or _in_path(call, _TAGGED_IN_PATH)),
    ),
    **uniform(_LAMBDA_ACCOUNT_OPERATIONS, anywhere()),
}

# -- Step Functions -----------------------------------------------------------------------------------
# Express executions (arn:aws:states:R:A:express:...), versions, aliases and Distributed Map child
# executions (execution:MACHINE/MAP-RUN:ID) are authorized on the ARN the request gives, unchanged.


def _named(resource_type: str) -> Rule:
    """Create*: the new resource's ARN from its name."""
    return on(
        lambda call: call.arn("states", f"{resource_type}:{name}") if (name := call.text("name")) else None
    )


def _state_machine_setup(call: Call) -> list[Check]:
    machine = call.text("stateMachineArn")
    if machine is None and (name := call.text("name")):
        machine = call.arn("states", f"stateMachine:{name}")
    publish = [call.check(machine, "PublishStateMachineVersion")] if call.flag("publish") else []
    return [call.check(machine), *pass_role(call, "roleArn"), *publish]


_STATE_MACHINE_OPERATIONS = (
    *("StartExecution", "StartSyncExecution", "DescribeStateMachine", "DeleteStateMachine"),
    *("ListStateMachineVersions", "ListStateMachineAliases", "PublishStateMachineVersion"),
)
_EXECUTION_OPERATIONS = (
    *("DescribeExecution", "StopExecution", "GetExecutionHistory", "DescribeStateMachineForExecution"),
    *("RedriveExecution", "ListMapRuns"),
)
_STATES_RULES: dict[str, Rule] = {
    **uniform(_STATE_MACHINE_OPERATIONS, on(param("stateMachineArn"))),
    "CreateStateMachine": _state_machine_setup,
    "UpdateStateMachine": _state_machine_setup,
    "ListExecutions": on(param("mapRunArn", "stateMachineArn")),  # a Distributed Map run's, or a machine's
    **uniform(_EXECUTION_OPERATIONS, on(param("executionArn"))),
    **uniform(("DescribeMapRun", "UpdateMapRun"), on(param("mapRunArn"))),
    "CreateActivity": _named("activity"),
    **uniform(("DescribeActivity", "DeleteActivity", "GetActivityTask"), on(param("activityArn"))),
    **uniform(
        ("DescribeStateMachineAlias", "UpdateStateMachineAlias", "DeleteStateMachineAlias"),
        on(param("stateMachineAliasArn")),
    ),
    "DeleteStateMachineVersion": on(param("stateMachineVersionArn")),
    **uniform(("TagResource", "UntagResource", "ListTagsForResource"), on(param("resourceArn"))),
    # Task tokens are opaque: the reference defines no resource for the SendTask* actions.
    **uniform(("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"), anywhere()),
    **uniform(
        ("ListStateMachines", "ListActivities", "ValidateStateMachineDefinition", "TestState"), anywhere()
    ),
}

SERVICES = {
    "lambda": Service("lambda", _LAMBDA_RULES),
    "awslambda": Service("lambda", _LAMBDA_RULES),  # moto's name for the endpoint
    "states": Service("states", _STATES_RULES),
    "stepfunctions": Service("states", _STATES_RULES),  # botocore's and moto's name
}
