"""Process results: counts, overall status and the failure notification from the Map's outcomes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.artifacts import process_results as task
from handlers.artifacts.process_results import MAX_SNS_SUBJECT_CHARS, error_text, process_results

from ..conftest import FakeLambdaContext, load_event

NOW = datetime(2024, 6, 1, 10, 0, 9, tzinfo=UTC)


def partial_event() -> dict[str, Any]:
    return copy.deepcopy(load_event("artifacts_process_results_partial.json"))


def succeeded(bucket: str, region: str) -> dict[str, Any]:
    return {"bucket": bucket, "region": region, "status": "SUCCEEDED", "etag": "e", "copiedAt": "t"}


def failed(bucket: str, region: str, error: str, message: str) -> dict[str, Any]:
    cause = json.dumps({"errorMessage": message, "errorType": error, "stackTrace": []})
    return {"bucket": bucket, "region": region, "status": "FAILED", "error": {"Error": error, "Cause": cause}}


def test_every_copy_succeeding_is_a_success(lambda_context: FakeLambdaContext) -> None:
    # GIVEN results where every regional copy succeeded
    event = {**partial_event(), "results": [succeeded("b-1", "us-east-1"), succeeded("b-2", "us-west-2")]}
    # WHEN the task processes them
    summary = task.lambda_handler(event, lambda_context)
    # THEN the counts and status say so
    assert (summary["totalBuckets"], summary["successfulCopies"], summary["failedCopies"]) == (2, 2, 0)
    assert summary["status"] == "SUCCEEDED"
    assert summary["results"] == [
        {"bucket": "b-1", "region": "us-east-1", "status": "SUCCEEDED", "copiedAt": "t"},
        {"bucket": "b-2", "region": "us-west-2", "status": "SUCCEEDED", "copiedAt": "t"},
    ]
    assert summary["completedAt"].endswith("Z")


def test_some_copies_failing_is_partial_and_the_message_names_each_failed_bucket_and_error() -> None:
    # GIVEN one success, one caught Lambda error (JSON Cause) and one timeout (plain Cause)
    # WHEN the results are processed
    summary = process_results(partial_event(), now=NOW)
    # THEN the distribution is partial with the right counts
    assert summary["status"] == "PARTIAL"
    assert (summary["totalBuckets"], summary["successfulCopies"], summary["failedCopies"]) == (3, 1, 2)
    # AND the compact results carry each failure's type and message
    errors = {r["bucket"]: r.get("error") for r in summary["results"]}
    assert errors["regionflow-artifacts-us-west-2"].startswith("CopyRejectedError: copy of s3://")
    assert errors["regionflow-artifacts-eu-central-1"] == "States.Timeout: Task timed out after 60.00 seconds"
    # AND the message has the headline, the context, one line per failed bucket, then the successes
    message = summary["notification"]["message"]
    lines = message.splitlines()
    assert lines[0].startswith("⚠️ Distribution PARTIAL: 2 of 3")
    for needed in ("build-Jq3kqh8sIAMEVqg.zip", "regionflow-artifacts-global", "execution:regionflow-file"):
        assert needed in message
    assert "📊 Buckets: 3 total, 1 succeeded, 2 failed" in lines
    [west] = [line for line in lines if "regionflow-artifacts-us-west-2" in line]
    assert west.startswith("❌ regionflow-artifacts-us-west-2 (us-west-2): CopyRejectedError:")
    assert "NoSuchBucket: The specified bucket does not exist" in west
    [central] = [line for line in lines if "regionflow-artifacts-eu-central-1" in line]
    timeout = "States.Timeout: Task timed out after 60.00 seconds"
    assert central == f"❌ regionflow-artifacts-eu-central-1 (eu-central-1): {timeout}"
    assert "✅ regionflow-artifacts-us-east-1 (us-east-1)" in lines
    assert lines.index("Failed copies:") < lines.index("Successful copies:")


def test_every_copy_failing_is_a_failure_with_the_failure_headline() -> None:
    # GIVEN results where every copy was caught as failed
    event = {
        **partial_event(),
        "results": [
            failed("b-1", "us-east-1", "CopyRejectedError", "bucket b-1 gone"),
            failed("b-2", "us-west-2", "Lambda.ServiceException", "service unavailable"),
        ],
    }
    # WHEN processed
    summary = process_results(event, now=NOW)
    # THEN the status is FAILED and the message names both buckets and errors
    assert (summary["status"], summary["successfulCopies"], summary["failedCopies"]) == ("FAILED", 0, 2)
    message = summary["notification"]["message"]
    assert message.startswith("❌ Distribution FAILED")
    assert "❌ b-1 (us-east-1): CopyRejectedError: bucket b-1 gone" in message
    assert "❌ b-2 (us-west-2): Lambda.ServiceException: service unavailable" in message
    assert "Successful copies:" not in message


def test_no_results_at_all_is_a_failure_not_a_success() -> None:
    summary = process_results({**partial_event(), "results": []}, now=NOW)
    assert (summary["status"], summary["totalBuckets"]) == ("FAILED", 0)


@pytest.mark.parametrize("key", ["build-Jq3kqh8sIAMEVqg.zip", "build-" + "ü" * 200 + ".zip"])
def test_the_subject_is_ascii_and_at_most_100_characters(key: str) -> None:
    # GIVEN a key of any length or alphabet
    # WHEN processed
    subject = process_results({**partial_event(), "sourceKey": key}, now=NOW)["notification"]["subject"]
    # THEN SNS will accept the subject
    assert subject.isascii() and subject.isprintable() and 0 < len(subject) <= MAX_SNS_SUBJECT_CHARS
    assert subject.startswith("regionflow distribution PARTIAL: build-")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "Error": "CopyRejectedError",
                "Cause": '{"errorMessage": "gone", "errorType": "CopyRejectedError"}',
            },
            "CopyRejectedError: gone",
        ),
        ({"Error": "States.Timeout", "Cause": "timed out"}, "States.Timeout: timed out"),
        ({"Error": "States.TaskFailed"}, "States.TaskFailed"),
        ({"Error": "X", "Cause": "{not json"}, "X: {not json"),
        (None, "unknown error"),
    ],
)
def test_error_text_reads_every_catch_shape(error: object, expected: str) -> None:
    assert error_text(error) == expected


def test_a_huge_error_message_is_bounded() -> None:
    # GIVEN an error whose message is 100 KB (it would blow the 256 KB state limit across many buckets)
    result = failed("b-1", "us-east-1", "Boom", "x" * 100_000)
    # WHEN processed
    summary = process_results({**partial_event(), "results": [result]}, now=NOW)
    # THEN what is kept is bounded
    assert len(summary["results"][0]["error"]) <= task.MAX_ERROR_CHARS
