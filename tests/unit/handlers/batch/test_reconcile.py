"""Reconciliation: every file the failed region left unfinished is re-copied here, once, and none is lost."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.batch import contract, reconcile
from handlers.batch.batch_state import timestamp
from handlers.batch.contract import STATUS_COMPLETED, STATUS_FAILED
from handlers.batch.reconcile import ReconcileIncompleteError, ReconcileSummary
from workflows import failover_runbook

from ..conftest import FakeLambdaContext
from .reconcile_fixtures import (  # noqa: F401 - failover_cloud_fixture is a fixture
    ACTIVE_REGION,
    BUCKET,
    FAILED_REGION,
    NOW,
    FailoverCloud,
    emf_lines,
    failover_cloud_fixture,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

KEY = "input/sales.csv"
CSV = (
    "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date\r\n"
    "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East,10/23/14\r\n"
)
MARK_ATTRIBUTES = ("reconciledAt", "reconciledBy", "reconciledVersionId")


def run(cloud: FailoverCloud, *, now: datetime = NOW, **options: Any) -> ReconcileSummary:
    return reconcile.reconcile(cloud.deps, now=now, **options)


def refuse_copies_of(s3: Any, key: str) -> None:
    """Make `s3` fail CopyObject for `key` as S3 would refuse it (before any request is sent)."""

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == key:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "CopyObject")

    s3.meta.events.register("provide-client-params.s3.CopyObject", refuse)


class RacingTable:
    """The state table, with another writer's UpdateItem landing just before this run's first one."""

    def __init__(self, table: Any, **other_write: Any) -> None:
        self._table = table
        self._other_write: dict[str, Any] | None = other_write

    def query(self, **kwargs: Any) -> Any:
        return self._table.query(**kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        return self._table.get_item(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        if self._other_write is not None:
            self._table.update_item(Key=kwargs["Key"], **self._other_write)
            self._other_write = None
        return self._table.update_item(**kwargs)


def test_an_unfinished_file_is_recopied_here_as_a_new_encrypted_version(
    failover_cloud: FailoverCloud,
) -> None:
    # GIVEN a file the failed region claimed and did not finish, replicated here
    upload = failover_cloud.upload_in_failed_region(KEY, CSV)
    replica_id = failover_cloud.replicate(KEY, upload)
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN the file is re-copied in place: a new version (whose ObjectCreated starts the batch here) with
    # the replica's content, encrypted with SSE-S3
    assert summary == ReconcileSummary(region=ACTIVE_REGION, reconciled=[KEY])
    newest, replica = failover_cloud.versions(KEY)
    assert replica["VersionId"] == replica_id and newest["IsLatest"] and newest["ETag"] == replica["ETag"]
    assert failover_cloud.text(KEY) == CSV
    head = failover_cloud.s3.head_object(Bucket=BUCKET, Key=KEY, VersionId=newest["VersionId"])
    assert head["ServerSideEncryption"] == "AES256"
    # AND the item is marked, so no other run copies it again
    item = failover_cloud.item(KEY)
    assert item["reconciledAt"] == timestamp(NOW) and item["reconciledBy"] == ACTIVE_REGION
    assert item["reconciledVersionId"] == replica_id and item["region"] == FAILED_REGION


def test_the_claimed_version_is_copied_when_the_replica_kept_its_version_id(
    failover_cloud: FailoverCloud,
) -> None:
    # GIVEN two versions of the file here, the failed region's batch being the older one (as in AWS,
    # where replicas keep their version ids), and no ETag on the item
    claimed = failover_cloud.put(KEY, CSV)
    failover_cloud.put(KEY, "uuid\r\nnot the batch\r\n")
    failover_cloud.claim(KEY, claimed, with_etag=False)
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN the claimed version, not the latest one, becomes the new version
    assert summary.reconciled == [KEY]
    assert failover_cloud.text(KEY) == CSV and len(failover_cloud.versions(KEY)) == 3
    assert failover_cloud.item(KEY)["reconciledVersionId"] == claimed.version_id


def test_a_replica_under_another_version_id_is_found_by_its_etag(failover_cloud: FailoverCloud) -> None:
    # GIVEN the replica here has a version id of its own (our local emulator's replication)
    upload = failover_cloud.upload_in_failed_region(KEY, CSV)
    replica_id = failover_cloud.replicate(KEY, upload)
    assert replica_id != upload.version_id
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN the replica is recognised by the ETag recorded in the claim and re-copied
    assert summary.reconciled == [KEY] and summary.missing == []
    assert failover_cloud.item(KEY)["reconciledVersionId"] == replica_id
    assert len(failover_cloud.versions(KEY)) == 2


def test_a_file_not_replicated_yet_is_reported_missing_unmarked_until_it_arrives(
    failover_cloud: FailoverCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an unfinished file whose replication has not reached this region
    upload = failover_cloud.upload_in_failed_region(KEY, CSV)
    # AND a file with the same prefix that is here (a prefix listing must not mistake it for the file)
    failover_cloud.put(KEY + ".bak", CSV)
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN the file is reported missing, nothing is copied and the item carries no mark
    assert summary == ReconcileSummary(region=ACTIVE_REGION, missing=[KEY])
    assert failover_cloud.versions(KEY) == []
    assert not set(MARK_ATTRIBUTES) & set(failover_cloud.item(KEY))
    # AND a warning names the key, the version and the region that was processing it
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert KEY in warning and upload.version_id in warning and FAILED_REGION in warning
    # WHEN replication catches up and reconciliation runs again
    failover_cloud.replicate(KEY, upload)
    later = run(failover_cloud)
    # THEN that run re-copies it
    assert later.reconciled == [KEY] and later.missing == []


def test_files_claimed_in_this_region_are_skipped(failover_cloud: FailoverCloud) -> None:
    # GIVEN a file this region is processing and one its workflow failed
    for key, status in (("input/a.csv", "PROCESSING"), ("input/b.csv", STATUS_FAILED)):
        failover_cloud.claim(key, failover_cloud.put(key, CSV), region=ACTIVE_REGION, status=status)
    before = [failover_cloud.item(k) for k in ("input/a.csv", "input/b.csv")]
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN both are counted as skipped and neither is copied nor marked
    assert summary == ReconcileSummary(region=ACTIVE_REGION, skipped_here=2)
    assert [failover_cloud.item(k) for k in ("input/a.csv", "input/b.csv")] == before
    assert len(failover_cloud.versions("input/a.csv")) == len(failover_cloud.versions("input/b.csv")) == 1


def test_completed_batches_are_never_touched(failover_cloud: FailoverCloud) -> None:
    # GIVEN a file the failed region finished, replicated here
    upload = failover_cloud.upload_in_failed_region(KEY, CSV, status=STATUS_COMPLETED)
    failover_cloud.replicate(KEY, upload)
    before = failover_cloud.item(KEY)
    # WHEN this region reconciles
    summary = run(failover_cloud)
    # THEN it is not even considered
    assert summary == ReconcileSummary(region=ACTIVE_REGION)
    assert failover_cloud.item(KEY) == before and len(failover_cloud.versions(KEY)) == 1


def test_a_batch_the_failed_region_marked_failed_is_recopied_too(failover_cloud: FailoverCloud) -> None:
    # GIVEN a file whose workflow failed in the failed region
    upload = failover_cloud.upload_in_failed_region(KEY, CSV, status=STATUS_FAILED)
    failover_cloud.replicate(KEY, upload)
    # WHEN this region reconciles
    # THEN it gets another chance here
    assert run(failover_cloud).reconciled == [KEY]


def test_a_second_run_recopies_nothing(failover_cloud: FailoverCloud) -> None:
    # GIVEN a run has re-copied an unfinished file (and the trigger has not claimed the copy yet)
    failover_cloud.replicate(KEY, failover_cloud.upload_in_failed_region(KEY, CSV))
    assert run(failover_cloud).reconciled == [KEY]
    versions = failover_cloud.versions(KEY)
    # WHEN reconciliation runs again (a retry, or the runbook started twice)
    again = run(failover_cloud, now=NOW + timedelta(seconds=30))
    # THEN it reports the file already reconciled and makes no new version
    assert again == ReconcileSummary(region=ACTIVE_REGION, already_reconciled=[KEY])
    assert failover_cloud.versions(KEY) == versions
    assert failover_cloud.item(KEY)["reconciledAt"] == timestamp(NOW)


def test_a_file_a_concurrent_run_marks_first_is_left_to_it(failover_cloud: FailoverCloud) -> None:
    # GIVEN a concurrent run marks the file between this run's query and its own mark
    failover_cloud.replicate(KEY, failover_cloud.upload_in_failed_region(KEY, CSV))
    racing = RacingTable(
        failover_cloud.state_table,
        UpdateExpression="SET reconciledAt = :at, reconciledBy = :region",
        ExpressionAttributeValues={":at": timestamp(NOW), ":region": ACTIVE_REGION},
    )
    # a test double: implements only the calls the code under test makes
    deps = dataclasses.replace(failover_cloud.deps, state_table=cast("Table", racing))
    # WHEN this run reaches the file
    summary = reconcile.reconcile(deps, now=NOW)
    # THEN the conditional mark fails and this run copies nothing
    assert summary == ReconcileSummary(region=ACTIVE_REGION, already_reconciled=[KEY])
    assert len(failover_cloud.versions(KEY)) == 1


def test_a_batch_that_finished_since_it_was_read_is_left_as_it_is(failover_cloud: FailoverCloud) -> None:
    # GIVEN the failed region's workflow completes the batch between this run's query and its mark
    failover_cloud.replicate(KEY, failover_cloud.upload_in_failed_region(KEY, CSV))
    racing = RacingTable(
        failover_cloud.state_table,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": STATUS_COMPLETED},
    )
    deps = dataclasses.replace(failover_cloud.deps, state_table=cast("Table", racing))
    # WHEN this run reaches the file
    summary = reconcile.reconcile(deps, now=NOW)
    # THEN it is reported superseded, not copied and not marked
    assert summary == ReconcileSummary(region=ACTIVE_REGION, superseded=[KEY])
    assert len(failover_cloud.versions(KEY)) == 1
    assert not set(MARK_ATTRIBUTES) & set(failover_cloud.item(KEY))


def test_every_page_of_the_status_index_is_read(failover_cloud: FailoverCloud) -> None:
    # GIVEN five PROCESSING and two FAILED files of the failed region, all replicated here
    keys = [f"input/file-{n}.csv" for n in range(7)]
    for n, key in enumerate(keys):
        status = STATUS_FAILED if n >= 5 else "PROCESSING"
        failover_cloud.replicate(
            key, failover_cloud.upload_in_failed_region(key, f"{CSV}{n}\r\n", status=status)
        )
    # WHEN reconciliation reads the index two items a page
    summary = run(failover_cloud, page_size=2)
    # THEN it reaches every file
    assert sorted(summary.reconciled) == keys


def test_a_failed_copy_removes_the_mark_and_reports_the_file_failed(failover_cloud: FailoverCloud) -> None:
    # GIVEN two replicated unfinished files, and S3 refusing the copy of one of them
    for key in (KEY, "input/other.csv"):
        failover_cloud.replicate(key, failover_cloud.upload_in_failed_region(key, CSV))
    refusing_s3 = boto3.client("s3", region_name=ACTIVE_REGION)
    refuse_copies_of(refusing_s3, KEY)
    # WHEN this region reconciles
    summary = reconcile.reconcile(dataclasses.replace(failover_cloud.deps, s3=refusing_s3), now=NOW)
    # THEN that file is reported failed and carries no mark, and the other file is still re-copied
    assert summary == ReconcileSummary(region=ACTIVE_REGION, reconciled=["input/other.csv"], failed=[KEY])
    assert not set(MARK_ATTRIBUTES) & set(failover_cloud.item(KEY))
    assert len(failover_cloud.versions(KEY)) == 1
    # AND the retry, once S3 accepts the copy, re-copies it
    assert run(failover_cloud, now=NOW + timedelta(minutes=1)).reconciled == [KEY]


def test_a_mark_left_by_a_run_that_died_before_copying_is_taken_over_once_stale(
    failover_cloud: FailoverCloud,
) -> None:
    # GIVEN a run marked a replicated file and died before copying it
    upload = failover_cloud.upload_in_failed_region(KEY, CSV)
    replica_id = failover_cloud.replicate(KEY, upload)
    marked_at = NOW - timedelta(minutes=1)
    failover_cloud.state_table.update_item(
        Key={"fileKey": KEY},
        UpdateExpression="SET reconciledAt = :at, reconciledBy = :region, reconciledVersionId = :v",
        ExpressionAttributeValues={":at": timestamp(marked_at), ":region": ACTIVE_REGION, ":v": replica_id},
    )
    # WHEN a run comes while that run could still be copying
    early = run(failover_cloud, now=marked_at + timedelta(seconds=reconcile.STALE_MARK_SECONDS - 1))
    # THEN it leaves the file to it
    assert early.already_reconciled == [KEY] and len(failover_cloud.versions(KEY)) == 1
    # WHEN a run comes after the longest a Lambda can run
    late_now = marked_at + timedelta(seconds=reconcile.STALE_MARK_SECONDS)
    late = run(failover_cloud, now=late_now)
    # THEN it takes the mark over and copies the file
    assert late.reconciled == [KEY] and len(failover_cloud.versions(KEY)) == 2
    assert failover_cloud.item(KEY)["reconciledAt"] == timestamp(late_now)


def test_a_stale_mark_whose_copy_landed_is_not_copied_again(
    failover_cloud: FailoverCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a file re-copied long ago whose copy the trigger never claimed (its event is in the DLQ)
    failover_cloud.replicate(KEY, failover_cloud.upload_in_failed_region(KEY, CSV))
    assert run(failover_cloud, now=NOW - timedelta(hours=1)).reconciled == [KEY]
    # WHEN reconciliation runs again
    summary = run(failover_cloud)
    # THEN it copies nothing and points at the trigger's DLQ
    assert summary == ReconcileSummary(region=ACTIVE_REGION, already_reconciled=[KEY])
    assert len(failover_cloud.versions(KEY)) == 2
    assert any("DLQ" in message for message in caplog.messages)


def test_the_handler_reconciles_this_region_and_counts_reconciled_and_missing_files(
    failover_cloud: FailoverCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN one replicated unfinished file, one not replicated yet, and one this region is processing
    failover_cloud.replicate(KEY, failover_cloud.upload_in_failed_region(KEY, CSV))
    failover_cloud.upload_in_failed_region("input/late.csv", CSV)
    failover_cloud.claim("input/here.csv", failover_cloud.put("input/here.csv", CSV), region=ACTIVE_REGION)
    # WHEN the function runs with the environment the component gives it
    result = reconcile.lambda_handler({}, lambda_context)
    # THEN it returns the JSON summary the runbook keeps
    assert json.loads(json.dumps(result)) == {
        "region": ACTIVE_REGION,
        "reconciled": [KEY],
        "missing": ["input/late.csv"],
        "alreadyReconciled": [],
        "superseded": [],
        "failed": [],
        "skippedHere": 1,
    }
    assert len(failover_cloud.versions(KEY)) == 2
    # AND emits both counts under the batch namespace and service
    [emf] = emf_lines(capsys.readouterr().out)
    assert emf[contract.FILES_RECONCILED] == [1.0] and emf[contract.FILES_MISSING_AT_RECONCILIATION] == [1.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == contract.METRICS_NAMESPACE
    assert emf["service"] == contract.METRICS_SERVICE


def test_the_handler_emits_zero_counts_when_nothing_is_unfinished(
    failover_cloud: FailoverCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an empty state table
    # WHEN the function runs
    result = reconcile.lambda_handler({}, lambda_context)
    # THEN it reconciled nothing and says so with data points of 0
    assert result["reconciled"] == [] and result["region"] == ACTIVE_REGION
    [emf] = emf_lines(capsys.readouterr().out)
    assert emf[contract.FILES_RECONCILED] == [0.0] and emf[contract.FILES_MISSING_AT_RECONCILIATION] == [0.0]


def test_the_handler_raises_naming_the_files_it_could_not_copy(
    failover_cloud: FailoverCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two replicated unfinished files, and S3 refusing the function's copy of one of them
    for key in (KEY, "input/other.csv"):
        failover_cloud.replicate(key, failover_cloud.upload_in_failed_region(key, CSV))
    refuse_copies_of(reconcile.dependencies().s3, KEY)
    # WHEN the function runs
    # THEN it fails, naming the file, with the error the runbook's retry catches, so the retry copies it
    with pytest.raises(ReconcileIncompleteError, match=KEY) as raised:
        reconcile.lambda_handler({}, lambda_context)
    assert failover_runbook.RECONCILE_RETRY["ErrorEquals"] == [raised.type.__name__]
    # AND only after handling every file: the other one was copied and counted
    assert len(failover_cloud.versions("input/other.csv")) == 2 and len(failover_cloud.versions(KEY)) == 1
    [emf] = emf_lines(capsys.readouterr().out)
    assert emf[contract.FILES_RECONCILED] == [1.0]
