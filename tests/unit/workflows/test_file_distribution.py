"""The file-distribution workflow: sound ASL, the seed's steps in order, bounded parallel copies."""

from __future__ import annotations

import json

import pytest

from tests.unit.workflows.asl import problems
from workflows.file_distribution import MAX_PARALLEL_COPIES, build_definition

ARNS = {
    "validate_arn": "arn:aws:lambda:us-east-1:123456789012:function:validate",
    "copy_arn": "arn:aws:lambda:us-east-1:123456789012:function:copy",
    "process_results_arn": "arn:aws:lambda:us-east-1:123456789012:function:results",
    "tracking_table": "file-copy-tracking",
    "failure_topic_arn": "arn:aws:sns:us-east-1:123456789012:file-copy-failures",
}


@pytest.fixture(scope="module")
def definition() -> dict:
    return build_definition(**ARNS)


def test_definition_is_sound_asl_where_every_task_retries_and_catches(definition: dict) -> None:
    assert problems(definition) == []


def test_the_checker_itself_catches_a_task_without_catch(definition: dict) -> None:
    # GIVEN a broken copy of the definition THEN the structural check notices
    broken = json.loads(json.dumps(definition))
    del broken["States"]["Validate input"]["Catch"]
    broken["States"]["Log workflow start"]["Next"] = "Nowhere"
    assert len(problems(broken)) >= 2


def test_happy_path_follows_the_seeds_steps_in_order(definition: dict) -> None:
    order, name = [], definition["StartAt"]
    while name:
        order.append(name)
        state = definition["States"][name]
        name = state.get("Next") or (state["Choices"][0]["Next"] if state["Type"] == "Choice" else None)
    assert order == [
        "Validate input",
        "Log workflow start",
        "Copy to every regional bucket",
        "Process results",
        "Update DynamoDB final",
        "Check if all successful",
        "Distribution succeeded",
    ]


def test_copies_run_at_most_ten_at_a_time_and_each_failure_is_caught_per_bucket(definition: dict) -> None:
    copy_map = definition["States"]["Copy to every regional bucket"]
    assert copy_map["MaxConcurrency"] == MAX_PARALLEL_COPIES == 10
    copy = copy_map["ItemProcessor"]["States"]["Copy to bucket"]
    assert copy["Parameters"]["FunctionName"] == ARNS["copy_arn"]
    [_, copy_retry] = copy["Retry"]
    assert copy_retry["BackoffRate"] == 2 and copy_retry["JitterStrategy"] == "FULL"
    # a failed copy becomes a FAILED result for its bucket instead of failing the whole map
    assert copy["Catch"][0]["Next"] == "Record copy failure"
    assert copy_map["ItemProcessor"]["States"]["Record copy failure"]["Parameters"]["status"] == "FAILED"


def test_workflow_start_is_a_conditional_put_keyed_on_file_and_source_bucket(definition: dict) -> None:
    log = definition["States"]["Log workflow start"]
    assert log["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert log["Parameters"]["TableName"] == ARNS["tracking_table"]
    assert set(log["Parameters"]["Item"]) >= {"fileKey", "sourceBucket", "executionArn", "startTime"}
    assert "attribute_not_exists(fileKey)" in log["Parameters"]["ConditionExpression"]


def test_any_failure_is_notified_on_the_failure_topic(definition: dict) -> None:
    choice = definition["States"]["Check if all successful"]
    assert choice["Default"] == "Send failure notification"
    for name in ("Send failure notification", "Notify workflow failure"):
        assert definition["States"][name]["Parameters"]["TopicArn"] == ARNS["failure_topic_arn"]
