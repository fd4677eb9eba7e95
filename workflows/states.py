"""Amazon States Language building blocks every workflow shares: one retry block, one way to call Lambda."""

from __future__ import annotations

from typing import Any

State = dict[str, Any]

# Transient Lambda service errors: AWS's recommended retry for every lambda:invoke task.
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
LAMBDA_RETRY: State = {
    "ErrorEquals": LAMBDA_SERVICE_ERRORS,
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
    "JitterStrategy": "FULL",
}
# Throttling and 5xx of direct service integrations (DynamoDB, SNS) surface as these.
SERVICE_RETRY: State = {
    "ErrorEquals": [
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.InternalServerErrorException",
        "SNS.ThrottledException",
        "SNS.InternalErrorException",
        "States.Timeout",
    ],
    "IntervalSeconds": 1,
    "MaxAttempts": 4,
    "BackoffRate": 2,
    "JitterStrategy": "FULL",
}


def lambda_task(
    function_arn: str,
    *,
    payload: Any = None,
    next_state: str | None = None,
    extra_retries: list[State] | None = None,
    catch_to: str,
    **fields: Any,
) -> State:
    """A lambda:invoke Task with the standard retry block and a Catch of everything to `catch_to`.

    payload: Parameters for the function's event (JSONPath `.$` keys allowed); None passes the state.
    """
    state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": function_arn,
            **({"Payload.$": "$"} if payload is None else {"Payload": payload}),
        },
        "Retry": [LAMBDA_RETRY, *(extra_retries or [])],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch_to}],
        **fields,
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def service_task(
    resource: str, parameters: State, *, next_state: str | None, catch_to: str, **fields: Any
) -> State:
    """A direct service integration (DynamoDB, SNS, ...) with the service retry block and a Catch."""
    state: State = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        "Retry": [SERVICE_RETRY],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch_to}],
        **fields,
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def failure_state(error: str) -> State:
    """A Fail state that ends the execution as `error` and keeps the caught error's name and cause.

    The error name is fixed because Step Functions refuses a Fail whose error starts with "States."
    (a caught States.TaskFailed or States.Timeout would become a runtime error instead of the cause).
    """
    return {
        "Type": "Fail",
        "Error": error,
        "CausePath": "States.Format('{}: {}', $.error.Error, $.error.Cause)",
    }
