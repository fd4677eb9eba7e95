"""Step Functions in localcloud runs definitions unmodified, including what moto 5.2.5 gets wrong."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from localcloud.services.stepfunctions import patches as sfn_patches
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION

STATES_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/states"
ASSUME_STATES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
# What these tests' machines call: the interpreter signs as the machine's role (service_roles.py).
STATES_ROLE_PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "lambda:InvokeFunction",
                "dynamodb:PutItem",
                "s3:GetObject",
                "s3:PutObject",
                "states:StartExecution",
                "states:DescribeExecution",
                "states:StopExecution",
            ],
            "Resource": "*",
        }
    ],
}


@pytest.fixture(scope="module", autouse=True)
def states_role(emulator):
    """The role every machine here runs as; each module's emulator starts empty."""
    iam = emulator.client("iam", REGION)
    iam.create_role(RoleName="states", AssumeRolePolicyDocument=ASSUME_STATES)
    iam.put_role_policy(
        RoleName="states", PolicyName="tasks", PolicyDocument=json.dumps(STATES_ROLE_PERMISSIONS)
    )
    return STATES_ROLE


def create_machine(emulator, definition, machine_type="STANDARD"):
    sfn = emulator.client("stepfunctions", REGION)
    return sfn.create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=STATES_ROLE,
        type=machine_type,
    )["stateMachineArn"]


def run_to_completion(emulator, machine_arn, execution_input=None, *, name=None, timeout=30.0):
    sfn = emulator.client("stepfunctions", REGION)
    kwargs = {"stateMachineArn": machine_arn, "input": json.dumps(execution_input or {})}
    if name:
        kwargs["name"] = name
    execution_arn = sfn.start_execution(**kwargs)["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    pytest.fail(f"execution {execution_arn} still RUNNING after {timeout} s")


def test_lambda_invoke_retries_on_error_type_then_catches_it(emulator, deploy):
    flaky = deploy("""
        import os
        calls = 0
        class ThrottledError(Exception):
            pass
        class InvalidDocument(Exception):
            pass
        def handler(event, context):
            global calls
            calls += 1
            record(calls)
            if calls < 3:
                raise ThrottledError("try again")
            raise InvalidDocument("missing <id>")
    """)
    machine = create_machine(
        emulator,
        {
            "StartAt": "Validate document",
            "States": {
                "Validate document": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": flaky.arn, "Payload.$": "$"},
                    "Retry": [
                        {
                            "ErrorEquals": ["ThrottledError"],
                            "IntervalSeconds": 1,
                            "MaxAttempts": 3,
                            "BackoffRate": 1,
                        }
                    ],
                    "Catch": [
                        {"ErrorEquals": ["InvalidDocument"], "ResultPath": "$.error", "Next": "Rejected"}
                    ],
                    "End": True,
                },
                "Rejected": {"Type": "Pass", "End": True},
            },
        },
    )
    described = run_to_completion(emulator, machine, {"doc": "a.xml"})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["doc"] == "a.xml"
    assert output["error"]["Error"] == "InvalidDocument"
    assert "missing <id>" in output["error"]["Cause"]
    assert flaky.records() == [1, 2, 3]


def test_lambda_invoke_result_is_the_payload(emulator, deploy):
    fn = deploy("""
        def handler(event, context):
            return {"total": sum(event["values"])}
    """)
    machine = create_machine(
        emulator,
        {
            "StartAt": "Sum",
            "States": {
                "Sum": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": fn.arn, "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": True,
                }
            },
        },
    )
    described = run_to_completion(emulator, machine, {"values": [1, 2, 3]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"total": 6}


def test_start_execution_sync_2_runs_the_child_and_returns_its_output(emulator):
    child = create_machine(
        emulator,
        {
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.value"}, "End": True}},
        },
        machine_type="EXPRESS",
    )
    parent = create_machine(
        emulator,
        {
            "StartAt": "Run child",
            "States": {
                "Run child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {"value.$": "$.value"}},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
    )
    described = run_to_completion(emulator, parent, {"value": "hi"})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"echo": "hi"}


def test_unnamed_executions_get_distinct_names(emulator):
    machine = create_machine(emulator, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    sfn = emulator.client("stepfunctions", REGION)
    first = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input='{"n": 2}')["executionArn"]
    assert first != second
    assert not first.endswith(":None")
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2


def test_aws_sdk_results_with_datetimes_can_be_described(emulator):
    s3 = emulator.client("s3", REGION)
    bucket = f"builds-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="build.zip", Body=b"zip")
    machine = create_machine(
        emulator,
        {
            "StartAt": "Copy build",
            "States": {
                "Copy build": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
                    "Parameters": {"Bucket": bucket, "CopySource": f"{bucket}/build.zip", "Key": "copy.zip"},
                    "End": True,
                }
            },
        },
    )
    described = run_to_completion(emulator, machine)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    last_modified = output["CopyObjectResult"]["LastModified"]
    assert isinstance(last_modified, str) and last_modified[:4].isdigit()
    assert s3.get_object(Bucket=bucket, Key="copy.zip")["Body"].read() == b"zip"


def test_execution_start_time_reaches_a_dynamodb_task_as_an_iso_string(emulator):
    # GIVEN a table and a workflow that records $$.Execution.StartTime with a direct DynamoDB task
    dynamodb = emulator.client("dynamodb", REGION)
    table = f"starts-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    machine = create_machine(
        emulator,
        {
            "StartAt": "Record",
            "States": {
                "Record": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {
                        "TableName": table,
                        "Item": {"id": {"S": "run"}, "started": {"S.$": "$$.Execution.StartTime"}},
                    },
                    "End": True,
                }
            },
        },
    )
    # WHEN it runs THEN it succeeds and stores an ISO-8601 UTC timestamp, as on AWS
    assert run_to_completion(emulator, machine)["status"] == "SUCCEEDED"
    started = dynamodb.get_item(TableName=table, Key={"id": {"S": "run"}})["Item"]["started"]["S"]
    assert started.endswith("Z") and "T" in started


def distributed_map(tolerated_failure_count: int | None = None) -> dict:
    """A Distributed Map whose child execution fails for every item equal to "bad"."""
    map_state: dict = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Check item",
            "States": {
                "Check item": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "Item failed"}],
                    "Default": "Item done",
                },
                "Item failed": {"Type": "Fail", "Error": "BadItem", "Cause": "the item was bad"},
                "Item done": {"Type": "Succeed"},
            },
        },
        "End": True,
    }
    if tolerated_failure_count is not None:
        map_state["ToleratedFailureCount"] = tolerated_failure_count
    return {"StartAt": "Process items", "States": {"Process items": map_state}}


def test_distributed_map_with_a_failed_child_fails_with_exceed_tolerated_failure_threshold(emulator):
    # GIVEN a Distributed Map with the default tolerance (no failures allowed)
    machine = create_machine(emulator, distributed_map())
    # WHEN one of three child executions fails
    described = run_to_completion(emulator, machine, {"items": ["ok", "bad", "ok"]})
    # THEN the Map state, and so the execution, fails as AWS's does (moto alone reports success)
    assert described["status"] == "FAILED", described
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    assert "1 of 3 items failed" in described["cause"]


def test_distributed_map_within_its_tolerated_failure_count_succeeds(emulator):
    # GIVEN a Distributed Map that tolerates one failed item
    machine = create_machine(emulator, distributed_map(tolerated_failure_count=1))
    # WHEN exactly one child fails THEN the map succeeds; WHEN two fail THEN it fails
    assert run_to_completion(emulator, machine, {"items": ["ok", "bad"]})["status"] == "SUCCEEDED"
    assert run_to_completion(emulator, machine, {"items": ["bad", "bad", "ok"]})["status"] == "FAILED"


def test_start_sync_execution_answers_an_express_machines_output_or_its_error(emulator) -> None:
    # GIVEN an EXPRESS machine that passes its input through, or fails when asked to
    machine = create_machine(
        emulator,
        {
            "StartAt": "Route",
            "States": {
                "Route": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Fail"}],
                    "Default": "Done",
                },
                "Done": {"Type": "Pass", "Result": {"status": "applied"}, "End": True},
                "Fail": {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "$.cause"},
            },
        },
        machine_type="EXPRESS",
    )
    sfn = emulator.client("stepfunctions", REGION)
    sfn.meta.config.inject_host_prefix = False  # as AWS_DISABLE_HOST_PREFIX_INJECTION does for Lambdas
    # WHEN it is run synchronously
    succeeded = sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({"fail": False}))
    failed = sfn.start_sync_execution(
        stateMachineArn=machine,
        input=json.dumps({"fail": True, "error": "PoisonEventError", "cause": "timestamp in the future"}),
    )
    # THEN the reply carries the result, as AWS's does
    assert (succeeded["status"], json.loads(succeeded["output"])) == ("SUCCEEDED", {"status": "applied"})
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "PoisonEventError",
        "timestamp in the future",
    )
    assert succeeded["stopDate"] >= succeeded["startDate"]


def test_start_sync_execution_is_woken_by_its_executions_end(emulator, monkeypatch) -> None:
    # GIVEN an EXPRESS machine that waits a second, and a waiting request that would look at the status
    # on its own only once a minute
    machine = create_machine(
        emulator,
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 1, "End": True}}},
        machine_type="EXPRESS",
    )
    monkeypatch.setattr(sfn_patches, "SYNC_STATUS_RECHECK_SECONDS", 60.0)
    sfn = emulator.client("stepfunctions", REGION)
    sfn.meta.config.inject_host_prefix = False
    # WHEN it is run synchronously
    with ThreadPoolExecutor(max_workers=1) as pool:
        reply = pool.submit(sfn.start_sync_execution, stateMachineArn=machine, input="{}")
        # THEN the reply follows the execution's end, not the next look at its status
        assert reply.result(timeout=15)["status"] == "SUCCEEDED"


def test_start_sync_execution_refuses_a_standard_machine(emulator) -> None:
    machine = create_machine(emulator, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    sfn = emulator.client("stepfunctions", REGION)
    sfn.meta.config.inject_host_prefix = False
    with pytest.raises(sfn.exceptions.ClientError, match="StateMachineTypeNotSupported"):
        sfn.start_sync_execution(stateMachineArn=machine, input="{}")


def test_lambda_workers_never_prefix_the_loopback_endpoint_for_start_sync_execution(emulator, deploy) -> None:
    fn = deploy("""
        import os
        def handler(event, context):
            record(os.environ.get("AWS_DISABLE_HOST_PREFIX_INJECTION"))
    """)
    emulator.client("lambda", REGION).invoke(FunctionName=fn.arn, Payload=b"{}")
    assert fn.records() == ["true"]


def test_a_definition_is_parsed_once_and_serves_concurrent_executions_with_their_own_state(
    emulator, monkeypatch
) -> None:
    # GIVEN a definition never run before, whose output depends on each execution's input
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    parses: list[str] = []
    original = AmazonStateLanguageParser.parse

    def counting(definition: str) -> object:
        parses.append(definition)
        return original(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting))
    machine = create_machine(
        emulator,
        {
            "Comment": uuid.uuid4().hex,
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "Parameters": {"seen.$": "$.n"}, "End": True}},
        },
        "EXPRESS",
    )
    sfn = emulator.client("stepfunctions", REGION)
    parses.clear()  # creating the machine validated (parsed) the definition

    def run(number: int) -> dict:
        return sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({"n": number}))

    # WHEN it runs once, then four more times side by side
    first = run(0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [first, *pool.map(run, range(1, 5))]
    # THEN each execution answered its own input, and the definition was parsed once for all five
    assert [json.loads(r["output"]) for r in results] == [{"seen": n} for n in range(5)]
    assert len(parses) == 1


def test_json_paths_are_compiled_once_and_each_execution_reads_its_own_input(emulator, monkeypatch) -> None:
    # GIVEN an EXPRESS machine whose paths (InputPath, a `.$` parameter, ResultPath, OutputPath) name a
    # field no other test uses, so no path of it was compiled before
    from jsonpath_ng.parser import JsonPathParser  # noqa: PLC0415

    field = f"f{uuid.uuid4().hex[:8]}"
    compiled: list[object] = []
    original = JsonPathParser.__init__

    def counting(self: JsonPathParser, *args: Any, **kwargs: Any) -> None:
        compiled.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(JsonPathParser, "__init__", counting)
    state = {
        "Type": "Pass",
        "InputPath": f"$.{field}",
        "Parameters": {"doubled.$": "$.n"},
        "ResultPath": "$.result",
        "OutputPath": "$.result",
        "End": True,
    }
    machine = create_machine(emulator, {"StartAt": "Read", "States": {"Read": state}}, "EXPRESS")
    sfn = emulator.client("stepfunctions", REGION)
    sfn.meta.config.inject_host_prefix = False

    def run(number: int) -> dict:
        reply = sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({field: {"n": number}}))
        return json.loads(reply["output"])

    # WHEN it runs three times with different inputs
    outputs = [run(1)]
    after_first = len(compiled)
    outputs += [run(2), run(3)]
    # THEN each output is its own input's, the first run compiled its paths and the next two none
    assert outputs == [{"doubled": 1}, {"doubled": 2}, {"doubled": 3}]
    assert after_first > 0
    assert len(compiled) == after_first


def test_a_sync_tasks_wait_for_its_child_ends_when_an_execution_ends(emulator) -> None:
    # GIVEN a .sync task's wait between two looks at its child (moto's half-second sleep, here 60 s long)
    clock = sfn_patches._SyncTaskClock()
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(clock.sleep, 60.0)
        # WHEN any execution ends
        machine = create_machine(emulator, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
        assert run_to_completion(emulator, machine)["status"] == "SUCCEEDED"
        # THEN the wait is over (the task looks at its child again at once), long before its 60 s
        waiting.result(timeout=20)
    # AND the clock is still the time module for everything else moto reads from it
    assert clock.monotonic() <= time.monotonic()
