"""The shared state builders end a state or chain it, never both, whatever the integration."""

from __future__ import annotations

from workflows.states import SERVICE_RETRY, service_task

PUT_ITEM = "arn:aws:states:::dynamodb:putItem"


def test_a_service_task_without_a_next_state_ends_the_machine() -> None:
    # GIVEN a direct DynamoDB integration built without a next state
    # WHEN it is built
    state = service_task(PUT_ITEM, {"TableName": "t"}, next_state=None, catch_to="Failed")
    # THEN it is terminal (End true, no Next), with the service retry and a catch-all to "Failed"
    assert state == {
        "Type": "Task",
        "Resource": PUT_ITEM,
        "Parameters": {"TableName": "t"},
        "Retry": [SERVICE_RETRY],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
        "End": True,
    }


def test_a_service_task_with_a_next_state_goes_there_and_does_not_end() -> None:
    # GIVEN the same integration with a next state and an extra field
    # WHEN it is built
    state = service_task(
        PUT_ITEM, {"TableName": "t"}, next_state="Notify", catch_to="Failed", ResultPath=None
    )
    # THEN it chains to "Notify", keeps the field, and has no End
    assert state["Next"] == "Notify"
    assert state["ResultPath"] is None
    assert "End" not in state
