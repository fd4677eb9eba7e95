"""The active-active events workflow: one idempotent processor task, retried, every failure in the DLQ."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.events.contract import EventOwnedByAnotherPrincipalError
from tests.unit.workflows.asl import problems
from workflows import active_active_events

PROCESSOR = "arn:aws:lambda:us-east-1:123456789012:function:events-processor"
DLQ = "https://sqs.us-east-1.amazonaws.com/123456789012/events-dlq"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return active_active_events.build_definition(processor_arn=PROCESSOR, dlq_url=DLQ)


def test_the_workflow_is_sound_asl_where_every_task_retries_and_catches(workflow: dict[str, Any]) -> None:
    assert problems(workflow) == []


def test_the_processor_result_is_the_execution_output(workflow: dict[str, Any]) -> None:
    process = workflow["States"][workflow["StartAt"]]
    assert process["Parameters"] == {"FunctionName": PROCESSOR, "Payload.$": "$"}
    assert process["OutputPath"] == "$.Payload"
    assert process["End"] is True


def test_a_lost_optimistic_lock_race_is_retried_before_giving_up(workflow: dict[str, Any]) -> None:
    retries = workflow["States"]["Process event"]["Retry"]
    [conflict] = [r for r in retries if "WriteConflictError" in r["ErrorEquals"]]
    assert "IdempotencyAlreadyInProgressError" in conflict["ErrorEquals"]
    assert conflict["MaxAttempts"] >= 3 and conflict["JitterStrategy"] == "FULL"


def test_every_failure_sends_the_event_and_error_to_the_dlq_then_fails(workflow: dict[str, Any]) -> None:
    states = workflow["States"]
    assert [c["Next"] for c in states["Process event"]["Catch"]] == ["Send to DLQ"]
    send = states["Send to DLQ"]
    assert send["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert send["Parameters"]["QueueUrl"] == DLQ
    assert send["Parameters"]["MessageBody.$"] == "$"  # the event, receivedAt and the error
    assert send["ResultPath"] is None
    assert send["Next"] == "Which failure"


def test_the_failure_keeps_the_processor_error_name_except_step_functions_own(
    workflow: dict[str, Any],
) -> None:
    states = workflow["States"]
    choice = states["Which failure"]
    [rule] = choice["Choices"]
    assert (rule["StringMatches"], rule["Next"]) == ("States.*", "Event failed")
    assert states[choice["Default"]] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    assert states["Event failed"]["Error"] == active_active_events.EVENT_FAILED


def test_a_write_refused_for_ownership_is_not_retried_and_is_dead_lettered_with_its_principal(
    workflow: dict[str, Any],
) -> None:
    # GIVEN the processor's refusal of a write to another principal's event id
    refused = EventOwnedByAnotherPrincipalError.__name__
    process = workflow["States"]["Process event"]
    # THEN no retry takes it (none changes the owner) ...
    retried = {error for rule in process["Retry"] for error in rule["ErrorEquals"]}
    assert refused not in retried and "States.ALL" not in retried
    # ... the catch keeps the whole input beside the error: the processor got all of it, principal included,
    # and the DLQ message is that state, so a redrive writes as the principal that sent the event
    [catch] = process["Catch"]
    assert (catch["ErrorEquals"], catch["ResultPath"]) == (["States.ALL"], "$.error")
    assert process["Parameters"]["Payload.$"] == "$"
    assert workflow["States"]["Send to DLQ"]["Parameters"]["MessageBody.$"] == "$"
    # ... and the execution fails with the processor's error name, which the API answers 403
    assert workflow["States"]["Which failure"]["Default"] == "Processor error"
