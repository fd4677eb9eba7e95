"""The cost walker of bench.batch_cost: billable units counted from toy and real definitions."""

from __future__ import annotations

from typing import Any

import pytest

from bench.asl_cost import EXPRESS, STANDARD, Machine, Workload, execution_usage, integration, success_path
from tests.unit.workflows.test_batch_processing import CHUNK_ARNS, MAIN_ARNS
from workflows import batch_processing

EXPRESS_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:toy-express"


def lambda_state(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        **fields,
    }


INLINE_TOY: dict[str, Any] = {
    "StartAt": "A",
    "States": {
        "A": lambda_state("fn-a", Next="Each"),
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "B",
                "States": {
                    "B": lambda_state("fn-b", Next="C"),
                    "C": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::apigateway:invoke",
                        "Parameters": {"ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com"},
                        "End": True,
                    },
                },
            },
            "Next": "Record",
        },
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {"TableName": "t"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "Toy"},
    },
}

EXPRESS_TOY: dict[str, Any] = {
    "StartAt": "X",
    "States": {"X": lambda_state("fn-x", Next="Y"), "Y": lambda_state("fn-y", End=True)},
}

DISTRIBUTED_TOY: dict[str, Any] = {
    "StartAt": "S",
    "States": {
        "S": lambda_state("fn-s", Next="Fan out"),
        "Fan out": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Run",
                "States": {
                    "Run": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {"StateMachineArn": EXPRESS_ARN, "Input": {}},
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    },
}


def test_the_success_path_follows_next_to_succeed_and_skips_the_catch_target() -> None:
    assert [name for name, _ in success_path(INLINE_TOY)] == ["A", "Each", "Record", "Done"]


def test_an_inline_map_bills_each_iterations_states_in_the_same_standard_execution() -> None:
    usage = execution_usage(Machine(INLINE_TOY, STANDARD), Workload(map_items={"Each": 10}))
    # A, Each, Record, Done, plus B and C in each of the 10 iterations (no charge per iteration itself)
    assert usage.standard_transitions == 4 + 10 * 2
    assert usage.express_states == 0
    assert usage.lambda_invocations == {"fn-a": 1, "fn-b": 10}
    assert usage.service_requests == {"lambda:invoke": 11, "apigateway:invoke": 10, "dynamodb:updateItem": 1}
    assert usage.executions == {(STANDARD, "<root>"): 1}


def test_a_distributed_map_bills_a_transition_per_child_plus_the_childs_and_express_is_not_per_state() -> (
    None
):
    workload = Workload(map_items={"Fan out": 5}, machines={EXPRESS_ARN: Machine(EXPRESS_TOY, EXPRESS)})
    usage = execution_usage(Machine(DISTRIBUTED_TOY, STANDARD), workload)
    # S and Fan out, one per child started, and each STANDARD child's one state ("Run")
    assert usage.standard_transitions == 2 + 5 + 5 * 1
    # X and Y in each of the 5 EXPRESS executions: billed per request and duration instead
    assert usage.express_states == 5 * 2
    assert usage.executions == {
        (STANDARD, "<root>"): 1,
        (STANDARD, "Fan out child"): 5,
        (EXPRESS, EXPRESS_ARN): 5,
    }
    assert usage.executions_of(EXPRESS) == 5
    assert usage.lambda_invocations == {"fn-s": 1, "fn-x": 5, "fn-y": 5}
    assert usage.service_requests == {"lambda:invoke": 11, "s3:getObject": 1, "states:startExecution": 5}


def test_regionflows_batch_workflow_costs_one_transition_and_one_express_run_per_chunk() -> None:
    main = Machine(batch_processing.build_definition(**MAIN_ARNS), STANDARD)
    usage = execution_usage(main, Workload(map_items={"Process chunks": 1000}))
    # split, map, merge, email, record completion, succeed; then one child started per chunk
    assert usage.standard_transitions == 6 + 1000
    # AND each chunk is one EXPRESS child: validate, enrich, write, billed per request and duration
    assert usage.executions == {(STANDARD, "<root>"): 1, (EXPRESS, "Process chunks child"): 1000}
    assert usage.express_states == 1000 * 3
    assert usage.lambda_invocations == {
        MAIN_ARNS["split_arn"]: 1,
        MAIN_ARNS["merge_arn"]: 1,
        MAIN_ARNS["email_arn"]: 1,
        **{arn: 1000 for arn in CHUNK_ARNS.values()},
    }
    assert usage.service_requests["dynamodb:updateItem"] == 1


def test_times_scales_every_count() -> None:
    usage = execution_usage(Machine(INLINE_TOY, STANDARD), Workload(map_items={"Each": 1})).times(3)
    assert usage.standard_transitions == 18
    assert usage.lambda_invocations == {"fn-a": 3, "fn-b": 3}


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("arn:aws:states:::lambda:invoke", "lambda:invoke"),
        ("arn:aws:states:::states:startExecution.sync:2", "states:startExecution"),
        ("arn:aws:states:::states:startExecution.sync", "states:startExecution"),
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", "sqs:sendMessage"),
        ("arn:aws:lambda:us-east-1:123456789012:function:direct", "lambda:invoke"),
    ],
)
def test_integration_names_the_service_and_action(resource: str, expected: str) -> None:
    assert integration(resource) == expected


def test_what_the_workload_does_not_say_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="Each"):
        execution_usage(Machine(INLINE_TOY, STANDARD), Workload(map_items={}))
    with pytest.raises(ValueError, match="toy-express"):
        execution_usage(Machine(DISTRIBUTED_TOY, STANDARD), Workload(map_items={"Fan out": 1}))


def test_a_choice_on_the_path_has_no_single_cost() -> None:
    choice = {"StartAt": "Pick", "States": {"Pick": {"Type": "Choice", "Choices": [], "Default": "Pick"}}}
    with pytest.raises(ValueError, match="Choice"):
        success_path(choice)
