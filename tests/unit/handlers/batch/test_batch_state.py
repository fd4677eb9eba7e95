"""Batch-state table: one claim per object version; the same version again tells the caller what exists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from handlers.batch import contract
from handlers.batch.batch_state import Claim, claim_batch, timestamp
from handlers.batch.contract import STATUS_INDEX, STATUS_PROCESSING

from .conftest import ACTIVE_REGION, BUCKET, STANDBY_REGION, BatchCloud

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

KEY = "input/sales.csv"
NOW = datetime(2024, 6, 1, 10, 0, 2, 123000, tzinfo=UTC)


def claim(cloud: BatchCloud, version_id: str | None, *, region: str = ACTIVE_REGION) -> Claim:
    return claim_batch(
        cloud.state_table, key=KEY, version_id=version_id, bucket=BUCKET, region=region, now=NOW
    )


def test_a_first_claim_records_the_batch_as_processing_in_this_region(batch_cloud: BatchCloud) -> None:
    # GIVEN no item for the key
    # WHEN the active region claims version v1
    result = claim(batch_cloud, "v1")
    # THEN the batch is new and the item carries the contract's attributes
    file_id = contract.file_id(KEY, "v1")
    assert result == Claim(
        file_id=file_id, execution_name=contract.execution_name(file_id), started=True, processing_here=True
    )
    assert batch_cloud.state_items() == [
        {
            "fileKey": KEY,
            "versionId": "v1",
            "fileId": file_id,
            "bucket": BUCKET,
            "region": ACTIVE_REGION,
            "status": STATUS_PROCESSING,
            "executionName": contract.execution_name(file_id),
            "startedAt": "2024-06-01T10:00:02.123Z",
            "updatedAt": "2024-06-01T10:00:02.123Z",
        }
    ]


def test_the_etag_is_stored_without_quotes_when_given(batch_cloud: BatchCloud) -> None:
    # GIVEN the object's ETag, as the S3 API quotes it
    # WHEN the batch is claimed with it
    claim_batch(
        batch_cloud.state_table,
        key=KEY,
        version_id="v1",
        bucket=BUCKET,
        region=ACTIVE_REGION,
        now=NOW,
        etag='"b21b84d653bb07b05b1e6b33684dc11b"',
    )
    # THEN the item carries it bare, as S3 events spell it, for reconciliation to match replicas by
    [item] = batch_cloud.state_items()
    assert item["etag"] == "b21b84d653bb07b05b1e6b33684dc11b" and item["versionId"] == "v1"


def test_the_same_version_again_is_not_a_new_batch_and_reports_it_processing_here(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN v1 claimed in this region
    claim(batch_cloud, "v1")
    # WHEN v1 is claimed again (a duplicate or redelivered event)
    again = claim(batch_cloud, "v1")
    # THEN nothing new is recorded, and the caller learns the batch is PROCESSING here
    assert not again.started and again.processing_here and again.needs_execution
    assert again.existing is not None and again.existing["versionId"] == "v1"
    assert len(batch_cloud.state_items()) == 1


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED"])
def test_a_finished_batch_of_the_same_version_needs_nothing(batch_cloud: BatchCloud, status: str) -> None:
    # GIVEN v1's batch has finished (the workflow's UpdateItem)
    claim(batch_cloud, "v1")
    batch_cloud.state_table.update_item(
        Key={"fileKey": KEY},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": status},
    )
    # WHEN v1 is claimed again
    again = claim(batch_cloud, "v1")
    # THEN the caller must do nothing
    assert not again.needs_execution and again.existing is not None and again.existing["status"] == status


def test_a_batch_processing_in_the_other_region_needs_nothing_here(batch_cloud: BatchCloud) -> None:
    # GIVEN v1 claimed by the other region
    claim(batch_cloud, "v1", region=STANDBY_REGION)
    # WHEN this region sees v1
    again = claim(batch_cloud, "v1")
    # THEN it leaves it alone
    assert not again.needs_execution
    assert batch_cloud.state_items()[0]["region"] == STANDBY_REGION


def test_a_new_version_of_the_same_name_is_a_new_batch_replacing_the_item(batch_cloud: BatchCloud) -> None:
    # GIVEN v1 completed with the workflow's completion attributes
    claim(batch_cloud, "v1")
    batch_cloud.state_table.update_item(
        Key={"fileKey": KEY},
        UpdateExpression="SET #s = :s, outputKey = :o",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "COMPLETED", ":o": "output/sales.csv"},
    )
    # WHEN v2 of the same name arrives
    second = claim(batch_cloud, "v2")
    # THEN it is a new batch and the item describes v2 only
    assert second.started and second.file_id == contract.file_id(KEY, "v2") != contract.file_id(KEY, "v1")
    [item] = batch_cloud.state_items()
    assert item["versionId"] == "v2" and item["status"] == STATUS_PROCESSING and "outputKey" not in item


def test_an_unversioned_object_is_claimed_once(batch_cloud: BatchCloud) -> None:
    assert claim(batch_cloud, None).started
    again = claim(batch_cloud, None)
    assert not again.started and again.existing is not None and again.existing["versionId"] == "null"


def test_without_the_old_item_in_the_error_a_consistent_read_finds_it(batch_cloud: BatchCloud) -> None:
    # GIVEN a table (an emulator) that does not return ALL_OLD on a failed condition
    claim(batch_cloud, "v1")

    class NoOldItemTable:
        def put_item(self, **_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "PutItem"
            )

        def get_item(self, **kwargs: Any) -> Any:
            assert kwargs["ConsistentRead"] is True
            return batch_cloud.state_table.get_item(**kwargs)

    # a test double: implements only the calls the code under test makes
    table = cast("Table", NoOldItemTable())
    # WHEN the same version is claimed
    again = claim_batch(table, key=KEY, version_id="v1", bucket=BUCKET, region=ACTIVE_REGION, now=NOW)
    # THEN the stored item still decides
    assert not again.started and again.processing_here


def test_other_dynamodb_errors_raise() -> None:
    class ThrottledTable:
        def put_item(self, **_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "PutItem",
            )

    # a test double: implements only the calls the code under test makes
    table = cast("Table", ThrottledTable())
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        claim_batch(table, key=KEY, version_id="v1", bucket=BUCKET, region=ACTIVE_REGION, now=NOW)


def test_unfinished_batches_are_found_through_the_status_index(batch_cloud: BatchCloud) -> None:
    # GIVEN two files processing and one completed
    for key in ("input/a.csv", "input/b.csv", "input/c.csv"):
        claim_batch(
            batch_cloud.state_table, key=key, version_id="v1", bucket=BUCKET, region=ACTIVE_REGION, now=NOW
        )
    batch_cloud.state_table.update_item(
        Key={"fileKey": "input/c.csv"},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "COMPLETED"},
    )
    # WHEN reconciliation queries the GSI for PROCESSING
    found = batch_cloud.state_table.query(
        IndexName=STATUS_INDEX,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": STATUS_PROCESSING},
    )["Items"]
    # THEN it sees exactly the unfinished files, with every attribute (projection ALL)
    assert sorted(item["fileKey"] for item in found) == ["input/a.csv", "input/b.csv"]
    assert all(item["bucket"] == BUCKET for item in found)


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    assert timestamp(datetime(2024, 6, 1, 12, 0, 2, 123456, tzinfo=UTC)) == "2024-06-01T12:00:02.123Z"
