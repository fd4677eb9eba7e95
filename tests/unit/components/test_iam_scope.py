"""Least privilege across the whole program: every statement names exact ARNs of this stack's resources."""

from __future__ import annotations

import json
from typing import Any

from components.function import VPC_ACCESS_ACTIONS
from components.queue_api import API_GATEWAY_LOGGING_ACTIONS
from components.state_machine import LOG_DELIVERY_ACTIONS
from localcloud.core.recording import BuiltStack

# Actions AWS grants only on "*": each entry says why nothing narrower exists.
WILDCARD_RESOURCE_ALLOWED = {
    # X-Ray has no resource-level permissions (Service Authorization Reference: resource types "*").
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    # Step Functions log delivery is configured through account-level CloudWatch Logs APIs that accept
    # only "*" (Step Functions developer guide, "IAM policies for logging to CloudWatch Logs").
    *LOG_DELIVERY_ACTIONS,
    # Lambda manages a VPC function's network interfaces with its execution role; the Lambda developer
    # guide ("Attaching Lambda functions to an Amazon VPC") lists these on "*" only.
    *VPC_ACCESS_ACTIONS,
    # The region's API Gateway CloudWatch role writes every REST stage's access logs, named by API Gateway.
    *API_GATEWAY_LOGGING_ACTIONS,
}


def statements(stack: BuiltStack) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for policy in stack.resources_of("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            found.append((policy.name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_grants_resource_star_except_the_justified_list(stack: BuiltStack) -> None:
    # GIVEN every role policy of the program
    offenders = [
        (policy, action)
        for policy, statement in statements(stack)
        if "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
        if action not in WILDCARD_RESOURCE_ALLOWED
    ]
    # THEN "*" appears only for actions AWS offers on "*" alone
    assert not offenders


def distributed_map_labels(definition: dict) -> list[str]:
    labels = []
    for state in definition.get("States", {}).values():
        processor = state.get("ItemProcessor") or {}
        if state.get("Type") == "Map" and processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            labels.append(state["Label"])
        labels += distributed_map_labels(processor)
    return labels


def derived_arns(stack: BuiltStack) -> set[str]:
    """ARNs of things a stack resource implies without being a resource of its own."""
    derived: set[str] = set()
    for table in stack.resources_of("aws:dynamodb/table:Table"):
        # A global table's replica: same name and account, the replica's region.
        for replica in table.inputs.get("replicas") or []:
            parts = table.outputs["arn"].split(":")
            parts[3] = replica["regionName"]
            derived.add(":".join(parts))
    for api in [
        *stack.resources_of("aws:apigateway/restApi:RestApi"),
        *stack.resources_of("aws:apigatewayv2/api:Api"),
    ]:
        # An API's routes: execute-api:Invoke names <execution arn>/<stage>/<METHOD>/<path>.
        derived.add(api.outputs["executionArn"])
    for machine in stack.resources_of("aws:sfn/stateMachine:StateMachine"):
        # Executions of a state machine, and its Distributed Maps' child executions, which Step Functions
        # names execution:<machine>/<map label>:<id>.
        executions = machine.outputs["arn"].replace(":stateMachine:", ":execution:", 1)
        derived.add(executions + ":*")
        for label in distributed_map_labels(json.loads(machine.inputs["definition"])):
            derived.add(f"{executions}/{label}:*")
    return derived


def test_every_statement_names_arns_of_resources_in_this_stack(stack: BuiltStack) -> None:
    arns = {r.outputs["arn"] for r in stack.resources if isinstance(r.outputs.get("arn"), str)}
    arns |= derived_arns(stack)
    for policy, statement in statements(stack):
        assert statement["Effect"] == "Allow", policy
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                continue
            assert any(
                resource == arn or resource.startswith(arn + "/") or resource == arn + ":*" for arn in arns
            ), f"{policy}: {resource} is not a resource of this stack"
            assert not any(action.endswith(":*") for action in as_list(statement["Action"])), policy


def test_no_function_may_delete_or_overwrite_what_it_only_reads(stack: BuiltStack) -> None:
    # The raw XML is evidence: nothing in the program may delete objects or tables' items.
    # Exceptions: Powertools idempotency deletes its own in-progress record when the handler raises, so a
    # retry can run; those tables hold bookkeeping, never data. The transform's staged-upload validator
    # removes a large upload's incoming/ file once it is copied on to uploads/ (accepted) or quarantine/
    # (rejected): a move, not a loss, and the versioned bucket keeps the staged bytes as a noncurrent
    # version besides.
    idempotency_tables = {  # by name: a global table's replicas share it
        t.outputs["name"]
        for t in stack.resources_of("aws:dynamodb/table:Table")
        if t.name.endswith("-idempotency")
    }
    deletes = {
        (action, resource)
        for _, statement in statements(stack)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        # S3 replication copies a user's delete marker to the other bucket of a pair (it deletes nothing).
        # A VPC function's network interfaces are Lambda's plumbing, not data.
        if "Delete" in action
        and not action.startswith("sqs:")
        and action not in {*LOG_DELIVERY_ACTIONS, *VPC_ACCESS_ACTIONS, "s3:ReplicateDelete"}
    }
    # The live feed's publishers forget a subscriber whose connection is gone (GoneException): its table
    # holds connection ids, never data.
    feed_subscribers = {
        t.outputs["arn"]
        for t in stack.resources_of("aws:dynamodb/table:Table")
        if t.name.endswith("-feed-subscribers")
    }
    staged_moves = {
        ("s3:DeleteObject", f"{bucket.outputs['arn']}/incoming/*")
        for bucket in stack.resources_of("aws:s3/bucket:Bucket", "transform-input")
    }
    assert {
        (a, r)
        for a, r in deletes
        if not (a == "dynamodb:DeleteItem" and r.split(":table/")[-1] in idempotency_tables)
        and (a, r) not in staged_moves
        and not (a == "dynamodb:DeleteItem" and r in feed_subscribers)
    } == set()


def test_each_transform_function_reaches_only_what_its_step_needs(stack: BuiltStack) -> None:
    def grants(component: str) -> set[tuple[str, str]]:
        [policy] = [
            p
            for p in stack.resources_of("aws:iam/rolePolicy:RolePolicy")
            if p.name == f"transform-{component}-policy"
        ]
        return {
            (action, resource)
            for s in json.loads(policy.inputs["policy"])["Statement"]
            for action in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        }

    input_objects = stack.named("transform-input-bucket").outputs["arn"] + "/uploads/*"
    output_objects = stack.named("transform-output-bucket").outputs["arn"] + "/results/*"
    upload, status, worker = grants("upload"), grants("status"), grants("worker")
    assert ("s3:PutObject", input_objects) in upload
    assert not {g for g in upload if g[1].startswith(stack.named("transform-output-bucket").outputs["arn"])}
    assert ("s3:GetObject", output_objects) in status
    assert not {g for g in status if g[0].startswith(("s3:Put", "dynamodb:Put", "dynamodb:Update"))}
    assert ("s3:GetObject", input_objects) in worker
    assert ("s3:PutObject", output_objects) in worker
    assert ("s3:PutObject", input_objects) not in worker
