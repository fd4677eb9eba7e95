"""Trigger: only the active region processes; one batch and one execution per object version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import ClientError

from handlers.active_region.signal import ActiveRegionUnknownError
from handlers.batch import contract, trigger
from handlers.batch.batch_state import claim_batch

from ..conftest import FakeLambdaContext, load_event
from .conftest import ACTIVE_REGION, BUCKET, STANDBY_REGION, BatchCloud, object_created_record, s3_event

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

KEY = "input/sales.csv"
CSV = "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date\r\n"
NOW = datetime(2024, 6, 1, 10, 0, 2, tzinfo=UTC)


def handle(*records: dict[str, Any]) -> dict[str, list[str]]:
    return trigger.handle_records(S3Event(s3_event(*records)).records, trigger.dependencies(), now=NOW)


def test_a_new_file_in_the_active_region_is_claimed_and_its_workflow_started(batch_cloud: BatchCloud) -> None:
    # GIVEN input/sales.csv uploaded in the active region
    version_id = batch_cloud.put_input(KEY, CSV)
    # WHEN its ObjectCreated event arrives
    summary = handle(object_created_record(BUCKET, KEY, version_id))
    # THEN the batch is recorded as PROCESSING here
    file_id = contract.file_id(KEY, version_id)
    assert summary == {"started": [KEY], "duplicates": [], "ignored": []}
    [item] = batch_cloud.state_items()
    assert item["status"] == "PROCESSING" and item["region"] == ACTIVE_REGION and item["fileId"] == file_id
    # AND one execution, named for the version, gets the object's coordinates
    [execution] = batch_cloud.executions()
    assert execution["name"] == contract.execution_name(file_id) == item["executionName"]
    assert batch_cloud.execution_input(execution["executionArn"]) == {
        "bucket": BUCKET,
        "key": KEY,
        "versionId": version_id,
        "fileId": file_id,
    }


def test_the_claim_records_the_objects_etag_from_the_event(batch_cloud: BatchCloud) -> None:
    # GIVEN a file uploaded in the active region, and its event carrying the object's ETag
    version_id = batch_cloud.put_input(KEY, CSV)
    etag = batch_cloud.s3.head_object(Bucket=BUCKET, Key=KEY, VersionId=version_id)["ETag"].strip('"')
    record = object_created_record(BUCKET, KEY, version_id)
    record["s3"]["object"]["eTag"] = etag
    # WHEN the trigger handles it
    handle(record)
    # THEN the state item keeps the ETag, so reconciliation can find the replica under another version id
    [item] = batch_cloud.state_items()
    assert item["etag"] == etag and item["versionId"] == version_id


def test_an_event_without_an_etag_claims_without_one(batch_cloud: BatchCloud) -> None:
    # GIVEN an event record with no eTag (S3 omits it for some event types)
    record = object_created_record(BUCKET, KEY, batch_cloud.put_input(KEY, CSV))
    del record["s3"]["object"]["eTag"]
    # WHEN the trigger handles it
    summary = handle(record)
    # THEN the batch starts and the item has no etag attribute rather than an empty one
    assert summary["started"] == [KEY]
    assert "etag" not in batch_cloud.state_items()[0]


def test_the_inactive_region_ignores_the_file_and_writes_and_starts_nothing(
    batch_cloud: BatchCloud,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the other region is active
    batch_cloud.set_active_region(STANDBY_REGION)
    version_id = batch_cloud.put_input(KEY, CSV)
    # WHEN this region's trigger gets the file's event
    summary = trigger.lambda_handler(s3_event(object_created_record(BUCKET, KEY, version_id)), lambda_context)
    # THEN it ignores it: no state item, no execution
    assert summary == {"started": [], "duplicates": [], "ignored": [KEY]}
    assert batch_cloud.state_items() == [] and batch_cloud.executions() == []
    # AND says why, and counts it in the FilesIgnoredInactiveRegion metric
    assert f"ignored, region {ACTIVE_REGION} is not active (active: {STANDBY_REGION})" in caplog.messages
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[contract.FILES_IGNORED_INACTIVE] == [1.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == contract.METRICS_NAMESPACE
    assert emf["service"] == contract.METRICS_SERVICE


def test_a_duplicate_event_starts_no_second_execution(batch_cloud: BatchCloud) -> None:
    # GIVEN a file whose batch has started
    record = object_created_record(BUCKET, KEY, batch_cloud.put_input(KEY, CSV))
    handle(record)
    # WHEN S3 delivers the same event again, while the execution runs
    handle(record)
    # THEN there is still one execution and one state item
    assert len(batch_cloud.executions()) == 1 and len(batch_cloud.state_items()) == 1


def test_a_duplicate_event_after_the_execution_ended_starts_nothing_new(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN a file whose execution has ended but whose item was not updated (e.g. the final write failed)
    record = object_created_record(BUCKET, KEY, batch_cloud.put_input(KEY, CSV))
    handle(record)
    [execution] = batch_cloud.executions()
    batch_cloud.stepfunctions.stop_execution(executionArn=execution["executionArn"])
    # WHEN S3 delivers the event again
    summary = handle(record)
    # THEN nothing new starts: Step Functions refuses the name once the stop has landed, or returns the
    # stopping execution (moto stops asynchronously when another test module switched execution on)
    assert KEY in summary["duplicates"] + summary["started"] and summary["ignored"] == []
    assert len(batch_cloud.executions()) == 1


def test_a_duplicate_event_for_a_completed_batch_touches_nothing(batch_cloud: BatchCloud) -> None:
    # GIVEN a batch the workflow has marked COMPLETED
    record = object_created_record(BUCKET, KEY, batch_cloud.put_input(KEY, CSV))
    handle(record)
    batch_cloud.state_table.update_item(
        Key={"fileKey": KEY},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "COMPLETED"},
    )
    before = batch_cloud.state_items()
    # WHEN the event is delivered again
    summary = handle(record)
    # THEN it is a duplicate: the item is unchanged and no execution starts
    assert summary["duplicates"] == [KEY]
    assert batch_cloud.state_items() == before and len(batch_cloud.executions()) == 1


def test_the_same_name_uploaded_again_is_a_new_batch(batch_cloud: BatchCloud) -> None:
    # GIVEN a processed file, then a new upload of the same name (a new version)
    v1 = batch_cloud.put_input(KEY, CSV)
    handle(object_created_record(BUCKET, KEY, v1))
    v2 = batch_cloud.put_input(
        KEY, CSV + "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East,10/23/14\r\n"
    )
    # WHEN the new version's event arrives
    summary = handle(object_created_record(BUCKET, KEY, v2))
    # THEN it starts its own execution and the state item now describes it
    assert summary["started"] == [KEY]
    assert {e["name"] for e in batch_cloud.executions()} == {
        contract.execution_name(contract.file_id(KEY, v1)),
        contract.execution_name(contract.file_id(KEY, v2)),
    }
    [item] = batch_cloud.state_items()
    assert item["versionId"] == v2 and item["fileId"] == contract.file_id(KEY, v2)


def test_a_crash_between_claim_and_start_is_finished_by_the_redelivered_event(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN a previous attempt claimed the batch in this region and died before StartExecution
    version_id = batch_cloud.put_input(KEY, CSV)
    claim_batch(
        batch_cloud.state_table, key=KEY, version_id=version_id, bucket=BUCKET, region=ACTIVE_REGION, now=NOW
    )
    assert batch_cloud.executions() == []
    # WHEN Lambda retries the event
    summary = handle(object_created_record(BUCKET, KEY, version_id))
    # THEN the batch's execution now exists, under its deterministic name
    assert summary["started"] == [KEY]
    [execution] = batch_cloud.executions()
    assert execution["name"] == contract.execution_name(contract.file_id(KEY, version_id))
    assert len(batch_cloud.state_items()) == 1


def test_a_batch_the_other_region_is_processing_is_left_to_it(batch_cloud: BatchCloud) -> None:
    # GIVEN the same version claimed by the other region (before a failover)
    version_id = batch_cloud.put_input(KEY, CSV)
    claim_batch(
        batch_cloud.state_table,
        key=KEY,
        version_id=version_id,
        bucket="regionflow-batch-us-west-2",
        region=STANDBY_REGION,
        now=NOW,
    )
    # WHEN this (now active) region sees the replicated object's event
    summary = handle(object_created_record(BUCKET, KEY, version_id))
    # THEN it does nothing: reconciliation re-copies unfinished files, which makes new versions
    assert summary["duplicates"] == [KEY] and batch_cloud.executions() == []
    assert batch_cloud.state_items()[0]["region"] == STANDBY_REGION


@pytest.mark.parametrize(
    "key", ["output/sales.csv", "input/notes.txt", "inputs/sales.csv", "input/sales.csv.gz"]
)
def test_objects_that_are_not_input_csv_files_are_ignored(batch_cloud: BatchCloud, key: str) -> None:
    # GIVEN an object outside input/*.csv
    version_id = batch_cloud.put_input(key, CSV)
    # WHEN its event arrives
    summary = handle(object_created_record(BUCKET, key, version_id))
    # THEN nothing is claimed or started
    assert summary == {"started": [], "duplicates": [], "ignored": [key]}
    assert batch_cloud.state_items() == [] and batch_cloud.executions() == []


def test_url_encoded_keys_are_decoded(batch_cloud: BatchCloud) -> None:
    # GIVEN a key with a space and a plus sign, URL-encoded by S3 in the event
    key = "input/Q1 sales+returns.csv"
    record = object_created_record(BUCKET, key, batch_cloud.put_input(key, CSV))
    assert record["s3"]["object"]["key"] == "input/Q1+sales%2Breturns.csv"
    # WHEN the trigger handles it
    handle(record)
    # THEN the state item and the workflow input name the real key
    [execution] = batch_cloud.executions()
    assert batch_cloud.execution_input(execution["executionArn"])["key"] == key
    assert batch_cloud.state_items()[0]["fileKey"] == key


def test_each_record_of_an_event_is_handled(batch_cloud: BatchCloud) -> None:
    # GIVEN one event announcing two files and a non-input object
    a = object_created_record(BUCKET, "input/a.csv", batch_cloud.put_input("input/a.csv", CSV))
    b = object_created_record(BUCKET, "input/b.csv", batch_cloud.put_input("input/b.csv", CSV))
    other = object_created_record(BUCKET, "output/a.csv", batch_cloud.put_input("output/a.csv", CSV))
    # WHEN it is handled
    summary = handle(a, other, b)
    # THEN both files start
    assert summary == {
        "started": ["input/a.csv", "input/b.csv"],
        "duplicates": [],
        "ignored": ["output/a.csv"],
    }
    assert len(batch_cloud.executions()) == 2


def test_an_unknown_active_region_raises_so_the_event_is_retried(batch_cloud: BatchCloud) -> None:
    # GIVEN no active-region record
    batch_cloud.delete_active_region_record()
    record = object_created_record(BUCKET, KEY, batch_cloud.put_input(KEY, CSV))
    # WHEN / THEN the trigger fails (Lambda retries, then the DLQ keeps the event) and starts nothing
    with pytest.raises(ActiveRegionUnknownError):
        handle(record)
    assert batch_cloud.state_items() == [] and batch_cloud.executions() == []


def test_other_step_functions_errors_raise_so_the_event_is_retried(batch_cloud: BatchCloud) -> None:
    # GIVEN Step Functions is throttling
    class ThrottledStepFunctions:
        def start_execution(self, **_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution"
            )

    # a test double: implements only the calls the code under test makes
    deps = trigger.TriggerDependencies(
        stepfunctions=cast("SFNClient", ThrottledStepFunctions()),
        state_table=batch_cloud.state_table,
        active_region=trigger.dependencies().active_region,
        state_machine_arn=batch_cloud.state_machine_arn,
        region=ACTIVE_REGION,
    )
    version_id = batch_cloud.put_input(KEY, CSV)
    records = S3Event(s3_event(object_created_record(BUCKET, KEY, version_id))).records
    # WHEN / THEN the error propagates
    with pytest.raises(ClientError, match="ThrottlingException"):
        trigger.handle_records(records, deps, now=NOW)
    # AND the retried event, once Step Functions recovers, starts the claimed batch
    assert handle(object_created_record(BUCKET, KEY, version_id))["started"] == [KEY]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_handler_accepts_the_event_s3_sends(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the stored S3 event (input/sales.csv with a versionId), for an object that exists
    event = load_event("batch_s3_object_created.json")
    version_id = batch_cloud.put_input(KEY, CSV)
    event["Records"][0]["s3"]["object"]["versionId"] = version_id
    # WHEN the function is invoked with it
    summary = trigger.lambda_handler(event, lambda_context)
    # THEN the batch starts
    assert summary == {"started": [KEY], "duplicates": [], "ignored": []}


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_s3_test_event_starts_nothing(batch_cloud: BatchCloud, lambda_context: FakeLambdaContext) -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}
    assert trigger.lambda_handler(event, lambda_context) == {"started": [], "duplicates": [], "ignored": []}
    assert batch_cloud.executions() == []
