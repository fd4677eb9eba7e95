"""The batch workflows: sound ASL, the seed's steps in order, scalable fan-out, an outcome always recorded."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.batch import chunk_work, financials, merge_chunks, records, split_file, validate_records
from handlers.batch.contract import TRANSIENT_ERRORS
from handlers.environment import SettingError
from tests.unit.workflows.asl import backoff_problems, problems, retrier_for
from workflows import batch_processing, chunk_processor
from workflows.states import LAMBDA_SERVICE_ERRORS

CHUNK_ARNS = {
    "validate_arn": "arn:aws:lambda:us-east-1:123456789012:function:validate",
    "enrich_arn": "arn:aws:lambda:us-east-1:123456789012:function:enrich",
    "write_arn": "arn:aws:lambda:us-east-1:123456789012:function:write",
}
MAIN_ARNS: dict[str, Any] = {
    "split_arn": "arn:aws:lambda:us-east-1:123456789012:function:split",
    "merge_arn": "arn:aws:lambda:us-east-1:123456789012:function:merge",
    "email_arn": "arn:aws:lambda:us-east-1:123456789012:function:email",
    **CHUNK_ARNS,
    "batch_state_table": "batch-state",
    "max_concurrency": 7,
}

# What the batch tasks raise when running again cannot help: bad input, files the previous step did not
# write as it should, misconfiguration, and S3 or DynamoDB refusals (AccessDenied, a missing table).
PERMANENT_ERRORS = (
    chunk_work.ChunkTaskInputError.__name__,
    chunk_work.WorkFileMissingError.__name__,
    validate_records.ChunkFormatError.__name__,
    records.InputFormatError.__name__,
    split_file.EmptyBatchError.__name__,
    split_file.TooManyChunksError.__name__,
    split_file.InvalidSplitInputError.__name__,
    merge_chunks.IncompleteChunksError.__name__,
    merge_chunks.InvalidPartError.__name__,
    merge_chunks.InvalidMergeInputError.__name__,
    SettingError.__name__,
    "ClientError",
    "ResourceNotFoundException",
)
RETRIED_MAIN_TASKS = ("Split input file", "Merge chunks")


@pytest.fixture(scope="module")
def main() -> dict[str, Any]:
    return batch_processing.build_definition(**MAIN_ARNS)


@pytest.fixture(scope="module")
def chunk() -> dict[str, Any]:
    return chunk_processor.build_item_processor(**CHUNK_ARNS)


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
    # AND each item runs the chunk processor as an EXPRESS child workflow (billed per request, not per
    # state), with no Task in between that only waits for it
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "EXPRESS"
    assert fan_out["ItemProcessor"]["StartAt"] == "Validate records"
    assert fan_out["ItemSelector"] == {
        "bucket.$": "$.bucket",
        "fileId.$": "$.fileId",
        "chunkKey.$": "$$.Map.Item.Value.chunkKey",
    }
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
        for definition in (main, chunk)
        for state in definition["States"].values()
        if state["Type"] == "Fail"
    ]
    assert len(fails) == 2
    assert all("ErrorPath" not in state and not state["Error"].startswith("States.") for state in fails)


def chunk_work_tasks(main: dict[str, Any], chunk: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task that reads or writes a batch's files: the chunk processor's three, split and merge."""
    tasks = {name: state for name, state in chunk["States"].items() if state["Type"] == "Task"}
    return {**tasks, **{name: main["States"][name] for name in RETRIED_MAIN_TASKS}}


def test_each_chunk_task_retries_every_transient_error_with_exponential_backoff(main, chunk) -> None:
    # GIVEN the tasks that do a batch's work, and the errors that a later attempt can get past: what the
    # handlers raise for a throttled or unreachable dependency, and Lambda's own service errors
    tasks = chunk_work_tasks(main, chunk)
    assert set(tasks) == {
        "Validate records",
        "Enrich records",
        "Write output chunk",
        "Split input file",
        "Merge chunks",
    }
    retryable = [financials.FinancialsUnavailableError.__name__, *TRANSIENT_ERRORS, *LAMBDA_SERVICE_ERRORS]
    for name, task in tasks.items():
        for error in retryable:
            # WHEN a task fails with one of them
            retrier = retrier_for(task, error)
            # THEN Step Functions retries it, backing off exponentially with full jitter
            assert retrier is not None, f"{name} does not retry {error}"
            assert backoff_problems(retrier) == [], (name, error, retrier)
    # AND the handlers' own transient errors wait at most MaxDelaySeconds between attempts
    assert chunk_processor.TRANSIENT_RETRY["MaxDelaySeconds"] <= 60


@pytest.mark.parametrize("error", PERMANENT_ERRORS)
def test_a_permanent_error_fails_the_chunk_task_at_once(main, chunk, error: str) -> None:
    # GIVEN the tasks that do a batch's work
    for name, task in chunk_work_tasks(main, chunk).items():
        # WHEN a task fails with an error no retry can fix
        # THEN no Retrier is the first to match it (not by name, nor by States.ALL / States.TaskFailed)
        assert retrier_for(task, error) is None, f"{name} retries {error}: {retrier_for(task, error)}"
        assert all(error not in retrier["ErrorEquals"] for retrier in task["Retry"])
        # AND it is caught into the failure path, which records it
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_a_failed_chunk_fails_the_batch_without_running_it_again(main) -> None:
    # GIVEN a chunk that failed after its own tasks' retries: running the whole chunk again would repeat a
    # permanent failure
    fan_out = main["States"]["Process chunks"]
    # THEN the Map retries nothing, tolerates no failed chunk and records the failure
    assert "Retry" not in fan_out
    assert "ToleratedFailureCount" not in fan_out and "ToleratedFailurePercentage" not in fan_out
    assert fan_out["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record failure"}
    ]
    # AND the chunk's own failure names it, for the batch's reason
    assert fan_out["ItemProcessor"]["States"]["Chunk failed"]["Error"] == chunk_processor.CHUNK_FAILED


def test_the_email_is_retried_only_on_lambdas_own_errors(main) -> None:
    # A send that timed out may have gone out: a retry on it would email the link twice.
    email = main["States"]["Email download link"]
    assert retrier_for(email, "ReadTimeoutError") is None
    assert all(retrier_for(email, error) is not None for error in LAMBDA_SERVICE_ERRORS)


def test_the_retry_checker_follows_step_functions_order_and_wildcards() -> None:
    # GIVEN Retriers in the shapes Step Functions resolves by order
    backoff = {"IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3, "JitterStrategy": "FULL"}
    catch_all = {"Retry": [{"ErrorEquals": ["States.ALL"], **backoff}]}
    task_failed = {"Retry": [{"ErrorEquals": ["States.TaskFailed"], **backoff}]}
    excluded_first = {
        "Retry": [{"ErrorEquals": ["ChunkFormatError"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]
    }
    # THEN a catch-all retries a permanent error, TaskFailed everything but a timeout, and an earlier
    # MaxAttempts 0 shields an error from a later catch-all
    assert retrier_for(catch_all, "ChunkFormatError") is not None
    assert retrier_for(task_failed, "ChunkFormatError") is not None
    assert retrier_for(task_failed, "States.Timeout") is None
    assert retrier_for(excluded_first, "ChunkFormatError") is None
    assert retrier_for(excluded_first, "EndpointConnectionError") is not None
    assert backoff_problems({"ErrorEquals": ["X"], "BackoffRate": 1}) != []
