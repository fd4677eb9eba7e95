"""The batch workflows: sound ASL, the seed's steps in order, scalable fan-out, an outcome always recorded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.workflows.asl import problems
from workflows import batch_processing, chunk_processor

MAIN_ARNS: dict[str, Any] = {
    "split_arn": "arn:aws:lambda:us-east-1:123456789012:function:split",
    "merge_arn": "arn:aws:lambda:us-east-1:123456789012:function:merge",
    "email_arn": "arn:aws:lambda:us-east-1:123456789012:function:email",
    "chunk_processor_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:chunks",
    "batch_state_table": "batch-state",
    "max_concurrency": 7,
}
CHUNK_ARNS = {
    "validate_arn": "arn:aws:lambda:us-east-1:123456789012:function:validate",
    "enrich_arn": "arn:aws:lambda:us-east-1:123456789012:function:enrich",
    "write_arn": "arn:aws:lambda:us-east-1:123456789012:function:write",
}


@pytest.fixture(scope="module")
def main() -> dict[str, Any]:
    return batch_processing.build_definition(**MAIN_ARNS)


@pytest.fixture(scope="module")
def chunk() -> dict[str, Any]:
    return chunk_processor.build_definition(**CHUNK_ARNS)


def happy_path(definition: dict[str, Any]) -> list[str]:
    order, name = [], definition["StartAt"]
    while name:
        order.append(name)
        name = definition["States"][name].get("Next")
    return order


def test_both_definitions_are_sound_asl_where_every_task_retries_and_catches(main, chunk) -> None:
    assert problems(main) == []
    assert problems(chunk) == []


def test_main_workflow_follows_the_seeds_steps_and_records_completion(main) -> None:
    assert happy_path(main) == [
        "Split input file",
        "Process chunks",
        "Merge chunks",
        "Email download link",
        "Record completion",
        "Batch completed",
    ]


def test_chunk_processor_validates_then_enriches_then_writes(chunk) -> None:
    assert happy_path(chunk) == ["Validate records", "Enrich records", "Write output chunk"]
    resources = {state.get("Parameters", {}).get("FunctionName") for state in chunk["States"].values()}
    assert set(CHUNK_ARNS.values()) <= resources


def test_fan_out_is_a_distributed_map_reading_the_manifest_from_s3(main) -> None:
    # GIVEN the map state WHEN inspected THEN the chunk list comes from S3, not from the state (256 KB)
    fan_out = main["States"]["Process chunks"]
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert fan_out["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert fan_out["ItemReader"]["Parameters"]["Key.$"] == "$.split.manifestKey"
    assert fan_out["MaxConcurrency"] == MAIN_ARNS["max_concurrency"]
    # AND each item runs the EXPRESS chunk processor and waits for it
    task = fan_out["ItemProcessor"]["States"]["Run chunk processor"]
    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Parameters"]["StateMachineArn"] == MAIN_ARNS["chunk_processor_arn"]
    # AND no chunk result is carried in the state
    assert fan_out["ResultPath"] is None


def test_every_step_of_the_main_workflow_is_caught_into_record_failure(main) -> None:
    caught = {
        name: {catch["Next"] for catch in state.get("Catch", [])}
        for name, state in main["States"].items()
        if state["Type"] in ("Task", "Map") and name != "Record failure"
    }
    assert caught and all(targets == {"Record failure"} for targets in caught.values()), caught


def test_failure_is_recorded_with_the_reason_then_the_execution_fails(main) -> None:
    record = main["States"]["Record failure"]
    values = record["Parameters"]["ExpressionAttributeValues"]
    assert values[":failed"] == {"S": "FAILED"}
    assert "$.error.Cause" in values[":reason"]["S.$"]
    assert record["Next"] == "Batch failed"
    assert main["States"]["Batch failed"]["Type"] == "Fail"


def test_outcomes_only_touch_the_batch_of_this_version(main) -> None:
    # A newer upload of the same key owns the item: an older run must not overwrite its state.
    for name in ("Record completion", "Record failure"):
        parameters = main["States"][name]["Parameters"]
        assert parameters["ConditionExpression"] == "versionId = :versionId"
        assert parameters["ExpressionAttributeValues"][":versionId"] == {"S.$": "$.versionId"}
        assert parameters["TableName"] == MAIN_ARNS["batch_state_table"]


def test_fail_states_never_rethrow_a_reserved_states_error_name(main, chunk) -> None:
    # Step Functions refuses a Fail whose error starts with "States." at run time: names are fixed.
    fails = [
        state
        for definition in (main, chunk, main["States"]["Process chunks"]["ItemProcessor"])
        for state in definition["States"].values()
        if state["Type"] == "Fail"
    ]
    assert len(fails) == 3
    assert all("ErrorPath" not in state and not state["Error"].startswith("States.") for state in fails)
