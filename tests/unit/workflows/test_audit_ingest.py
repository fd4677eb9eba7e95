"""The audit ingest workflow: sound ASL, parallel persistence, aggregate, notify, every failure salvaged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.workflows.asl import problems, state_machines
from workflows import audit_ingest

ARNS = {
    "archive_arn": "arn:aws:lambda:us-east-1:123456789012:function:archive",
    "metadata_arn": "arn:aws:lambda:us-east-1:123456789012:function:metadata",
    "aggregate_arn": "arn:aws:lambda:us-east-1:123456789012:function:aggregate",
    "ingest_failure_arn": "arn:aws:lambda:us-east-1:123456789012:function:ingest-failure",
    "topic_arn": "arn:aws:sns:us-east-1:123456789012:audit",
}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return audit_ingest.build_definition(**ARNS)


def test_the_workflow_is_sound_asl_where_every_task_retries_and_catches(workflow) -> None:
    assert problems(workflow) == []


def test_archive_and_metadata_run_in_parallel_then_aggregate_then_notify(workflow) -> None:
    states = workflow["States"]
    assert workflow["StartAt"] == "Persist"
    branches = states["Persist"]["Branches"]
    assert [branch["States"][branch["StartAt"]]["Parameters"]["FunctionName"] for branch in branches] == [
        ARNS["archive_arn"],
        ARNS["metadata_arn"],
    ]
    assert states["Persist"]["Next"] == "Aggregate"
    assert states["Aggregate"]["Next"] == "Notify subscribers"
    assert states["Notify subscribers"]["Parameters"]["TopicArn"] == ARNS["topic_arn"]
    assert states["Notify subscribers"]["Next"] == "Ingested"


def test_every_failure_anywhere_reaches_the_salvage_function_then_fails(workflow) -> None:
    states = workflow["States"]
    for name in ("Persist", "Aggregate", "Notify subscribers"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["Salvage message"], name
    # a branch's task failure fails its branch, which fails the Parallel into its Catch
    for branch in states["Persist"]["Branches"]:
        task = branch["States"][branch["StartAt"]]
        assert branch["States"][task["Catch"][0]["Next"]]["Type"] == "Fail"
    salvage = states["Salvage message"]
    assert salvage["Parameters"]["FunctionName"] == ARNS["ingest_failure_arn"]
    assert salvage["Parameters"]["Payload"] == {"message.$": "$", "error.$": "$.error"}
    assert salvage["Next"] == "Ingest failed" and states["Ingest failed"]["Type"] == "Fail"


def test_tasks_retry_transient_redis_and_s3_errors(workflow) -> None:
    for _, machine in state_machines(workflow):
        for name, state in machine["States"].items():
            if state.get("Resource") == "arn:aws:states:::lambda:invoke":
                assert audit_ingest.TRANSIENT_RETRY in state["Retry"], name


def test_no_state_carries_the_payload(workflow) -> None:
    # The claim check: no state reads the message's payload field (Lambda's own "Payload" is the response).
    assert "$.payload" not in json.dumps(workflow)
