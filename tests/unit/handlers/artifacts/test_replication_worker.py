"""Replication worker: one execution per object version, deterministic names, duplicates start nothing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from demos.waiting import wait_until
from handlers.artifacts import replication_worker
from handlers.artifacts.contract import ReplicationWorkerSettings
from handlers.artifacts.replication_worker import (
    MAX_EXECUTION_NAME_CHARS,
    execution_name,
    start_distributions,
)
from handlers.environment import SettingError

from ..conftest import FakeLambdaContext
from .conftest import DESTINATIONS, GLOBAL_BUCKET, ArtifactCloud, object_created_record, s3_event

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

VALID_NAME = re.compile(r"[0-9A-Za-z_-]{1,80}")


def put_build(cloud: ArtifactCloud, key: str) -> str:
    return str(cloud.s3.put_object(Bucket=GLOBAL_BUCKET, Key=key, Body=b"zip")["VersionId"])


def test_each_created_object_starts_one_execution_with_its_version_and_the_destinations(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN two new builds in the global bucket, announced in one S3 event
    v1, v2 = put_build(cloud, "build-one.zip"), put_build(cloud, "build-two.zip")
    event = s3_event(
        object_created_record(GLOBAL_BUCKET, "build-one.zip", v1),
        object_created_record(GLOBAL_BUCKET, "build-two.zip", v2),
    )
    # WHEN the replication worker handles it
    summary = replication_worker.lambda_handler(event, lambda_context)
    # THEN one execution per object started, named deterministically
    expected = [
        execution_name(GLOBAL_BUCKET, key, v) for key, v in (("build-one.zip", v1), ("build-two.zip", v2))
    ]
    assert summary == {"started": expected, "duplicates": []}
    executions = {e["name"]: e["executionArn"] for e in cloud.executions()}
    assert sorted(executions) == sorted(expected)
    # AND each carries its object version and every destination from DESTINATION_BUCKETS
    assert cloud.execution_input(executions[expected[0]]) == {
        "sourceBucket": GLOBAL_BUCKET,
        "sourceKey": "build-one.zip",
        "versionId": v1,
        "destinations": list(DESTINATIONS),
    }


def test_a_duplicate_event_starts_nothing_and_the_next_record_still_starts(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a build whose distribution already ran and finished
    v1 = put_build(cloud, "build-one.zip")
    first = object_created_record(GLOBAL_BUCKET, "build-one.zip", v1)
    replication_worker.lambda_handler(s3_event(first), lambda_context)
    [done] = cloud.executions()
    cloud.stepfunctions.stop_execution(executionArn=done["executionArn"])
    # moto's executing backend (which localcloud turns on for the process) settles a stop on its worker
    # thread: the event must meet a finished execution, not a RUNNING one it would idempotently join.
    wait_until(
        lambda: (
            cloud.stepfunctions.describe_execution(executionArn=done["executionArn"])["status"] != "RUNNING"
        ),
        "the first distribution to stop",
        timeout_seconds=10,
    )
    # WHEN S3 delivers that event again, batched with a new build's event
    v2 = put_build(cloud, "build-two.zip")
    summary = replication_worker.lambda_handler(
        s3_event(first, object_created_record(GLOBAL_BUCKET, "build-two.zip", v2)), lambda_context
    )
    # THEN the duplicate (ExecutionAlreadyExists) is reported, not raised, and the new build starts
    assert summary == {
        "started": [execution_name(GLOBAL_BUCKET, "build-two.zip", v2)],
        "duplicates": [execution_name(GLOBAL_BUCKET, "build-one.zip", v1)],
    }
    assert len(cloud.executions()) == 2


def test_a_duplicate_while_the_first_execution_runs_starts_no_second_execution(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a running distribution for a build
    record = object_created_record(GLOBAL_BUCKET, "build-one.zip", put_build(cloud, "build-one.zip"))
    replication_worker.lambda_handler(s3_event(record), lambda_context)
    # WHEN the same event arrives again (Step Functions answers with the running execution)
    replication_worker.lambda_handler(s3_event(record), lambda_context)
    # THEN there is still exactly one execution
    assert len(cloud.executions()) == 1


def test_a_new_version_of_the_same_key_is_a_new_distribution(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN two versions of one key
    v1, v2 = put_build(cloud, "build-one.zip"), put_build(cloud, "build-one.zip")
    # WHEN both are announced
    summary = replication_worker.lambda_handler(
        s3_event(
            object_created_record(GLOBAL_BUCKET, "build-one.zip", v1),
            object_created_record(GLOBAL_BUCKET, "build-one.zip", v2),
        ),
        lambda_context,
    )
    # THEN each version gets its own execution
    assert len(set(summary["started"])) == 2 and len(cloud.executions()) == 2


def test_url_encoded_keys_are_decoded_before_they_reach_the_workflow(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a key with a space and a plus sign, URL-encoded by S3 in the event
    key = "build-release 1+2.zip"
    record = object_created_record(GLOBAL_BUCKET, key, put_build(cloud, key))
    assert record["s3"]["object"]["key"] == "build-release+1%2B2.zip"
    # WHEN the worker handles it
    [name] = replication_worker.lambda_handler(s3_event(record), lambda_context)["started"]
    # THEN the execution input names the real key
    [execution] = cloud.executions()
    assert cloud.execution_input(execution["executionArn"])["sourceKey"] == key
    assert VALID_NAME.fullmatch(name)


@pytest.mark.parametrize(
    "key",
    [
        "build-" + "x" * 1000 + ".zip",
        "nested/path/with spaces/" + "é" * 300 + ".zip",
        "!!!.zip",
        "build-Jq3kqh8sIAMEVqg.zip",
    ],
)
def test_execution_names_are_valid_and_at_most_80_characters_for_any_key(key: str) -> None:
    # GIVEN/WHEN a name for any key, however long or exotic
    name = execution_name(GLOBAL_BUCKET, key, "v1")
    # THEN it is valid for Step Functions, deterministic, and distinct per version
    assert VALID_NAME.fullmatch(name) and len(name) <= MAX_EXECUTION_NAME_CHARS
    assert name == execution_name(GLOBAL_BUCKET, key, "v1") != execution_name(GLOBAL_BUCKET, key, "v2")


def test_a_standard_build_key_gives_a_readable_name() -> None:
    # GIVEN/WHEN the name for build-<id>.zip
    name = execution_name(GLOBAL_BUCKET, "build-Jq3kqh8sIAMEVqg.zip", None)
    # THEN it reads as the build plus a 16-hex hash
    assert re.fullmatch(r"build-Jq3kqh8sIAMEVqg-[0-9a-f]{16}", name)


def test_other_step_functions_errors_raise_so_lambda_retries_the_event() -> None:
    # GIVEN a Step Functions client that is throttled
    class ThrottledStepFunctions:
        def start_execution(self, **_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution"
            )

    # a test double: implements only the calls the code under test makes
    stepfunctions = cast("SFNClient", ThrottledStepFunctions())
    event = s3_event(object_created_record(GLOBAL_BUCKET, "build-one.zip", "v1"))
    # WHEN/THEN the error propagates (async retries and the DLQ take over)
    with pytest.raises(ClientError, match="ThrottlingException"):
        start_distributions(
            event, stepfunctions=stepfunctions, state_machine_arn="arn", destinations=DESTINATIONS
        )


def test_the_s3_test_event_starts_nothing() -> None:
    # GIVEN/WHEN the s3:TestEvent S3 sends when notifications are configured
    summary = start_distributions(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": GLOBAL_BUCKET},
        stepfunctions=cast("SFNClient", None),  # never called: a test event starts nothing
        state_machine_arn="arn",
        destinations=DESTINATIONS,
    )
    # THEN nothing starts
    assert summary == {"started": [], "duplicates": []}


@pytest.mark.parametrize("raw", ["not json", "[]", '[{"bucket": "b"}]', '{"bucket": "b", "region": "r"}'])
def test_a_misconfigured_destination_list_is_refused(raw: str) -> None:
    with pytest.raises(SettingError, match="DESTINATION_BUCKETS"):
        ReplicationWorkerSettings.from_environment({"STATE_MACHINE_ARN": "arn", "DESTINATION_BUCKETS": raw})
