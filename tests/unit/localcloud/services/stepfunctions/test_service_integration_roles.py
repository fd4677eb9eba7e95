"""Step Functions calls services as the state machine's role: its policies decide, as in a region."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from localcloud.services.stepfunctions import service_roles
from tests.unit.localcloud.conftest import (
    ACCOUNT_ID,
    ASSUME_LAMBDA,
    REGION,
    create_queue,
    create_table,
    drain,
    role_with,
    table_arn,
    wait_for,
)

ASSUME_STATES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
ECHO = """
    def handler(event, context):
        record(event)
        return {"echo": event}
"""


def allow(actions: str | list[str], *resources: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": list(resources)}


def machine_role(emulator, *statements: dict[str, Any]) -> str:
    """A role Step Functions may assume, allowed exactly these statements."""
    return role_with(emulator, list(statements), trust=ASSUME_STATES)


def session_of(role_arn: str) -> str:
    """The principal a machine's calls are made as: a session of its role."""
    return (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{service_roles.SESSION_NAME}"
    )


def denied(role_arn: str, action: str, resource: str) -> str:
    """How AccessDenied words a call the role's session may not make."""
    return f"User: {session_of(role_arn)} is not authorized to perform: {action} on resource: {resource}"


def create_machine(
    emulator, role_arn: str, states: dict[str, Any], start_at: str, machine_type="STANDARD"
) -> str:
    return str(
        emulator.client("stepfunctions", REGION).create_state_machine(
            name=f"sm-{uuid.uuid4().hex[:8]}",
            definition=json.dumps({"StartAt": start_at, "States": states}),
            roleArn=role_arn,
            type=machine_type,
        )["stateMachineArn"]
    )


def run(emulator, machine_arn: str, execution_input: Any = None) -> dict[str, Any]:
    """Start an execution and wait until it stops; the description, with its history under "events"."""
    sfn = emulator.client("stepfunctions", REGION)
    execution_arn = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(execution_input or {}))[
        "executionArn"
    ]

    def stopped() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution_arn)
        return None if described["status"] == "RUNNING" else described

    described = wait_for(stopped, timeout=30, what=f"execution {execution_arn} to stop")
    described["events"] = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return dict(described)


def task_failures(described: dict[str, Any]) -> list[dict[str, Any]]:
    return [event["taskFailedEventDetails"] for event in described["events"] if event["type"] == "TaskFailed"]


def invoke_task(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **fields,
    }


def test_a_lambda_task_runs_as_a_role_allowed_to_invoke_the_function(emulator, deploy):
    # GIVEN a machine whose role may invoke one function
    echo = deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", echo.arn))
    machine = create_machine(emulator, role, {"Echo": invoke_task(echo.arn, End=True)}, "Echo")
    allowed_before = emulator.iam.decisions["allowed"]
    # WHEN it runs
    described = run(emulator, machine, {"n": 1})
    # THEN the invocation was authorized as the role and the function ran
    assert described["status"] == "SUCCEEDED", task_failures(described)
    assert json.loads(described["output"]) == {"echo": {"n": 1}}
    assert echo.records() == [{"n": 1}]
    assert emulator.iam.decisions["allowed"] > allowed_before
    # AND no call went unevaluated under an interpreter key of its own
    assert "step-functions-service" not in emulator.iam.decisions


def test_a_lambda_task_whose_role_lacks_invoke_fails_with_access_denied_naming_session_action_and_function(
    emulator, deploy
):
    # GIVEN a machine whose role may invoke another function only
    target, other = deploy(ECHO), deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", other.arn))
    machine = create_machine(emulator, role, {"Echo": invoke_task(target.arn, End=True)}, "Echo")
    # WHEN it runs
    described = run(emulator, machine)
    # THEN the task failed with AccessDenied naming the role's session, the action and the function
    assert described["status"] == "FAILED"
    [failure] = task_failures(described)
    assert "AccessDenied" in failure["error"]
    assert denied(role, "lambda:InvokeFunction", target.arn) in failure["cause"]
    # AND the function never ran, and the emulator counted the denial
    assert target.records() == []
    assert any(
        denial.principal == session_of(role) and denial.resource == target.arn
        for denial in emulator.iam.denials
    )


def test_a_payload_naming_an_allowed_function_does_not_authorize_invoking_another(emulator, deploy):
    # GIVEN a role allowed to invoke one function, and a task invoking another with a payload that
    # carries the allowed function's name (an Invoke's body is the payload, not the request's parameters)
    allowed, target = deploy(ECHO), deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", allowed.arn))
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": target.arn, "Payload": {"FunctionName": allowed.arn}},
        "End": True,
    }
    machine = create_machine(emulator, role, {"Invoke": task}, "Invoke")
    # WHEN it runs THEN the invocation is authorized on the function the URL names, and denied
    described = run(emulator, machine)
    assert described["status"] == "FAILED"
    assert denied(role, "lambda:InvokeFunction", target.arn) in task_failures(described)[0]["cause"]
    assert target.records() == []


def test_a_qualified_function_is_authorized_on_its_qualified_arn(emulator, deploy):
    # GIVEN a function with an alias, and a role allowed to invoke the alias only
    echo = deploy(ECHO)
    lambda_client = emulator.client("lambda", REGION)
    version = lambda_client.publish_version(FunctionName=echo.name)["Version"]
    lambda_client.create_alias(FunctionName=echo.name, Name="live", FunctionVersion=version)
    role = machine_role(emulator, allow("lambda:InvokeFunction", f"{echo.arn}:live"))
    states = {
        "Echo": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName.$": "$.function", "Payload": {}},
            "End": True,
        }
    }
    machine = create_machine(emulator, role, states, "Echo")
    # WHEN it invokes the alias's ARN THEN that is allowed
    assert run(emulator, machine, {"function": f"{echo.arn}:live"})["status"] == "SUCCEEDED"
    # WHEN it invokes the unqualified function THEN that is another resource, denied
    refused = run(emulator, machine, {"function": echo.arn})
    assert refused["status"] == "FAILED"
    assert f"{denied(role, 'lambda:InvokeFunction', echo.arn)} because" in task_failures(refused)[0]["cause"]


@pytest.mark.parametrize(
    ("trust", "reason"),
    [
        (ASSUME_LAMBDA, "its trust policy does not allow states.amazonaws.com to assume it"),
        (None, "the role does not exist"),
    ],
    ids=["trusts-only-lambda", "deleted-role"],
)
def test_a_role_step_functions_cannot_assume_fails_the_task_naming_the_role(
    emulator, deploy, trust: str | None, reason: str
):
    # GIVEN a machine whose role does not trust states.amazonaws.com, or no longer exists
    echo = deploy(ECHO)
    statements = [allow("lambda:InvokeFunction", echo.arn)]
    role = role_with(emulator, statements, trust=trust or ASSUME_STATES)
    machine = create_machine(emulator, role, {"Echo": invoke_task(echo.arn, End=True)}, "Echo")
    if trust is None:
        iam = emulator.client("iam", REGION)
        name = role.rsplit("/", 1)[-1]
        iam.delete_role_policy(RoleName=name, PolicyName="permissions")
        iam.delete_role(RoleName=name)
    # WHEN it runs
    described = run(emulator, machine)
    # THEN the task failed (the interpreter did not) with an AccessDenied naming the role and why
    assert described["status"] == "FAILED"
    [failure] = task_failures(described)
    assert "AccessDenied" in failure["error"]
    assert (
        f"states.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: {role}"
        in failure["cause"]
    )
    assert reason in failure["cause"]
    assert echo.records() == []
    # AND the refusal is counted as the IAM denial it is
    assert any(
        denial.resource == role and denial.action == "sts:AssumeRole" for denial in emulator.iam.denials
    )


def test_a_dynamodb_task_scoped_to_one_table_writes_there_and_is_denied_on_another(emulator):
    # GIVEN a role that may put items into one table
    table, other = create_table(emulator), create_table(emulator)
    role = machine_role(emulator, allow("dynamodb:PutItem", table_arn(table)))
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName.$": "$.table", "Item": {"pk": {"S": "written"}}},
        "End": True,
    }
    machine = create_machine(emulator, role, {"Put": put}, "Put")
    dynamodb = emulator.client("dynamodb", REGION)
    # WHEN it writes to its table THEN the item is there
    assert run(emulator, machine, {"table": table})["status"] == "SUCCEEDED"
    assert "Item" in dynamodb.get_item(TableName=table, Key={"pk": {"S": "written"}})
    # WHEN it writes to the other table THEN dynamodb:PutItem on that table's ARN is denied
    refused = run(emulator, machine, {"table": other})
    assert refused["status"] == "FAILED"
    [failure] = task_failures(refused)
    assert failure["error"].startswith("DynamoDB.AccessDenied")
    assert denied(role, "dynamodb:PutItem", table_arn(other)) in failure["cause"]
    assert "Item" not in dynamodb.get_item(TableName=other, Key={"pk": {"S": "written"}})


def test_sqs_and_sns_tasks_are_authorized_on_the_queue_and_topic(emulator):
    # GIVEN a role that may send to one queue and publish nowhere
    queue_url, queue_arn = create_queue(emulator, f"q-{uuid.uuid4().hex[:8]}")
    topic_arn = emulator.client("sns", REGION).create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    role = machine_role(emulator, allow("sqs:SendMessage", queue_arn))
    states = {
        "Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": queue_url, "MessageBody": "hello"},
            "ResultPath": None,
            "Next": "Publish",
        },
        "Publish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": topic_arn, "Message": "hello"},
            "End": True,
        },
    }
    machine = create_machine(emulator, role, states, "Send")
    # WHEN it runs
    described = run(emulator, machine)
    # THEN the message reached the queue, and the publish was denied on the topic's ARN
    assert [message["Body"] for message in drain(emulator, queue_url, expected=1)] == ["hello"]
    assert described["status"] == "FAILED"
    [failure] = task_failures(described)
    assert denied(role, "sns:Publish", topic_arn) in failure["cause"]


def test_map_iterations_and_parallel_branches_run_as_the_role(emulator, deploy):
    # GIVEN a role allowed to invoke one function, and a Parallel whose first branch maps that function
    # over the items and whose second branch invokes a function the role may not
    allowed, forbidden = deploy(ECHO), deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", allowed.arn))
    map_branch = {
        "StartAt": "Each item",
        "States": {
            "Each item": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": invoke_task(allowed.arn, End=True)}},
                "End": True,
            }
        },
    }
    denied_branch = {
        "StartAt": "Forbidden",
        "States": {
            "Forbidden": invoke_task(
                forbidden.arn, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], End=True
            ),
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    states = {"Both": {"Type": "Parallel", "Branches": [map_branch, denied_branch], "End": True}}
    machine = create_machine(emulator, role, states, "Both")
    # WHEN it runs
    described = run(emulator, machine, {"items": [1, 2, 3]})
    # THEN every iteration invoked the allowed function as the role
    assert described["status"] == "SUCCEEDED", task_failures(described)
    mapped, caught = json.loads(described["output"])
    assert [item["echo"] for item in mapped] == [1, 2, 3]
    assert sorted(allowed.records()) == [1, 2, 3]
    # AND the other branch's call was made as the same role's session, and denied
    assert denied(role, "lambda:InvokeFunction", forbidden.arn) in caught["Cause"]
    assert forbidden.records() == []


def distributed_map(function_arn: str) -> dict[str, Any]:
    """A Distributed Map labelled "Items" whose child executions invoke the function."""
    return {
        "Each item": {
            "Type": "Map",
            "Label": "Items",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Echo",
                "States": {"Echo": invoke_task(function_arn, End=True)},
            },
            "End": True,
        }
    }


def grant(emulator, role_arn: str, *statements: dict[str, Any]) -> None:
    """Add statements naming the machine itself, once it exists (as the components do)."""
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    emulator.client("iam", REGION).put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[-1], PolicyName="self", PolicyDocument=document
    )


def map_children(machine_arn: str, label: str) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:", 1) + f"/{label}:*"


def test_distributed_map_children_run_with_the_parents_role(emulator, deploy):
    # GIVEN a Distributed Map whose role may start and watch its child executions, as AWS documents, and
    # invoke one function, while the children also invoke a function the role may not
    allowed, forbidden = deploy(ECHO), deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", allowed.arn))
    machine = create_machine(emulator, role, distributed_map(allowed.arn), "Each item")
    grant(
        emulator,
        role,
        allow("states:StartExecution", machine),
        allow(["states:DescribeExecution", "states:StopExecution"], map_children(machine, "Items")),
    )
    # WHEN it runs THEN every child invoked the allowed function as the parent's role
    described = run(emulator, machine, {"items": [1, 2]})
    assert described["status"] == "SUCCEEDED", task_failures(described)
    assert sorted(allowed.records()) == [1, 2]
    # WHEN its children invoke the other function THEN each call is made as the parent's role and denied
    forbidding = create_machine(emulator, role, distributed_map(forbidden.arn), "Each item")
    grant(
        emulator,
        role,
        allow("states:StartExecution", machine, forbidding),
        allow(
            ["states:DescribeExecution", "states:StopExecution"],
            map_children(machine, "Items"),
            map_children(forbidding, "Items"),
        ),
    )
    assert run(emulator, forbidding, {"items": [1, 2]})["status"] == "FAILED"
    assert forbidden.records() == []
    assert any(
        denial.principal == session_of(role) and denial.resource == forbidden.arn
        for denial in emulator.iam.denials
    )


@pytest.mark.parametrize(
    ("self_statements", "missing"),
    [
        ([], ("states:StartExecution", "{machine}")),
        ([("states:StartExecution", "{machine}")], ("states:DescribeExecution", "{children}")),
    ],
    ids=["no-start-execution", "no-describe-execution"],
)
def test_a_distributed_map_whose_role_may_not_start_and_watch_its_children_fails_naming_the_permission(
    emulator, deploy, self_statements: list[tuple[str, str]], missing: tuple[str, str]
):
    # GIVEN a Distributed Map whose role may invoke the children's function but lacks part of what
    # starting and watching child executions takes
    echo = deploy(ECHO)
    role = machine_role(emulator, allow("lambda:InvokeFunction", echo.arn))
    machine = create_machine(emulator, role, distributed_map(echo.arn), "Each item")
    if self_statements:
        grant(
            emulator,
            role,
            *(allow(action, resource.format(machine=machine)) for action, resource in self_statements),
        )
    # WHEN it runs
    described = run(emulator, machine, {"items": [1]})
    # THEN no child ran, and the execution failed naming the role's session and the missing permission
    assert described["status"] == "FAILED"
    assert echo.records() == []
    children = machine.replace(":stateMachine:", ":execution:", 1) + "/Items:"
    action, resource = missing
    assert denied(role, action, resource.format(machine=machine, children=children)) in described["cause"]


def child_machine(emulator) -> str:
    return create_machine(
        emulator,
        machine_role(emulator),
        {"Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.value"}, "End": True}},
        "Echo",
        machine_type="EXPRESS",
    )


def start_child_sync(child_arn: str) -> dict[str, Any]:
    return {
        "Run child": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child_arn, "Input": {"value.$": "$.value"}},
            "OutputPath": "$.Output",
            "End": True,
        }
    }


def test_start_execution_sync_needs_start_on_the_child_and_describe_on_its_executions(emulator):
    # GIVEN a parent whose role may start the child machine and watch its executions, as AWS documents
    child = child_machine(emulator)
    executions = child.replace(":stateMachine:", ":execution:", 1) + ":*"
    role = machine_role(
        emulator,
        allow("states:StartExecution", child),
        allow(["states:DescribeExecution", "states:StopExecution"], executions),
    )
    parent = create_machine(emulator, role, start_child_sync(child), "Run child")
    # WHEN it runs THEN the child's output comes back
    described = run(emulator, parent, {"value": "hi"})
    assert described["status"] == "SUCCEEDED", task_failures(described)
    assert json.loads(described["output"]) == {"echo": "hi"}


def test_start_execution_sync_without_describe_on_the_childs_executions_is_denied(emulator):
    # GIVEN a parent whose role may start the child but not watch its executions
    child = child_machine(emulator)
    role = machine_role(emulator, allow("states:StartExecution", child))
    parent = create_machine(emulator, role, start_child_sync(child), "Run child")
    # WHEN it runs THEN the wait for the child fails on states:DescribeExecution of the child's execution
    described = run(emulator, parent, {"value": "hi"})
    assert described["status"] == "FAILED"
    [failure] = task_failures(described)
    assert "AccessDenied" in failure["error"]
    execution_prefix = child.replace(":stateMachine:", ":execution:", 1) + ":"
    assert denied(role, "states:DescribeExecution", execution_prefix) in failure["cause"]


def test_service_tasks_share_one_client_per_role_region_and_service(emulator):
    # GIVEN two roles Step Functions may assume
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (  # noqa: PLC0415
        StateCredentials,
    )
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    first_role, second_role = machine_role(emulator), machine_role(emulator)
    as_first = StateCredentials(role_arn=first_role)
    # WHEN the interpreter asks for clients
    lambda_client = boto_client.boto_client_for(REGION, "lambda", as_first)
    # THEN one client serves every task of a role, region and service, and others get their own
    assert boto_client.boto_client_for(REGION, "lambda", as_first) is lambda_client
    assert boto_client.boto_client_for(REGION, "sqs", as_first) is not lambda_client
    assert boto_client.boto_client_for("us-west-2", "lambda", as_first) is not lambda_client
    assert (
        boto_client.boto_client_for(REGION, "lambda", StateCredentials(role_arn=second_role))
        is not lambda_client
    )
    # AND it talks to this emulator, signing as a session of the role (not the interpreter's fixed key)
    assert lambda_client.meta.endpoint_url == emulator.endpoint_url
    sts: Any = boto_client.boto_client_for(REGION, "sts", as_first)
    assert sts.get_caller_identity()["Arn"] == session_of(first_role)
