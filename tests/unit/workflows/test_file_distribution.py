"""The file-distribution workflow: sound ASL, the seed's steps in order, bounded parallel copies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from handlers.artifacts.contract import COPY_TRANSIENT_ERRORS
from handlers.artifacts.copy_to_bucket import CopyRejectedError, InvalidCopyInputError
from tests.unit.workflows.asl import backoff_problems, problems, retrier_for
from workflows.file_distribution import COPY_RETRY, MAX_PARALLEL_COPIES, build_definition
from workflows.states import LAMBDA_SERVICE_ERRORS

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
    # AND only a distribution in progress blocks another: a final one may be run again by an operator
    assert "#status <> :in_progress" in log["Parameters"]["ConditionExpression"]
    assert log["Parameters"]["ExpressionAttributeValues"][":in_progress"] == {"S": "IN_PROGRESS"}


def test_any_failure_is_notified_on_the_failure_topic(definition: dict) -> None:
    choice = definition["States"]["Check if all successful"]
    assert choice["Default"] == "Send failure notification"
    for name in ("Send failure notification", "Notify workflow failure"):
        assert definition["States"][name]["Parameters"]["TopicArn"] == ARNS["failure_topic_arn"]


def copy_task(definition: dict) -> dict:
    return definition["States"]["Copy to every regional bucket"]["ItemProcessor"]["States"]["Copy to bucket"]


def test_a_copy_is_retried_with_exponential_backoff_on_every_error_that_may_pass(definition: dict) -> None:
    # GIVEN the errors a later copy attempt can get past: S3's other refusals (SlowDown, InternalError)
    # and network failures as botocore raises them, a timed-out invocation, Lambda's service errors
    retryable = [
        ClientError.__name__,
        EndpointConnectionError.__name__,
        ReadTimeoutError.__name__,
        *COPY_TRANSIENT_ERRORS,
        *LAMBDA_SERVICE_ERRORS,
    ]
    for error in retryable:
        # WHEN the copy fails with one of them
        retrier = retrier_for(copy_task(definition), error)
        # THEN Step Functions retries it, backing off exponentially with full jitter
        assert retrier is not None, f"{error} is not retried"
        assert backoff_problems(retrier) == [], (error, retrier)
    # AND the copy's own retry is capped between attempts
    assert COPY_RETRY["MaxDelaySeconds"] <= 60


@pytest.mark.parametrize("error", [CopyRejectedError.__name__, InvalidCopyInputError.__name__])
def test_a_copy_that_can_never_succeed_is_recorded_failed_at_once(definition: dict, error: str) -> None:
    # GIVEN a copy S3 rejected for good (missing bucket or object, access denied) or a malformed input
    copy = copy_task(definition)
    # WHEN the copy task fails with it
    # THEN no Retrier is the first to match it (not by name, nor by States.ALL / States.TaskFailed)
    assert retrier_for(copy, error) is None, retrier_for(copy, error)
    assert all(error not in retrier["ErrorEquals"] for retrier in copy["Retry"])
    # AND it goes straight to the per-bucket failure record
    assert copy["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record copy failure"}
    ]
