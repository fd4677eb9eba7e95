"""Reconciliation after a failover, when a failed copy's mark cannot be removed: the file is still taken
over, later.

handlers/batch/reconcile.py marks an item before re-copying its file and removes the mark when the copy
fails, so that a retry copies it. If that removal fails too (DynamoDB throttling or unreachable), _unmark
logs it and does not raise: raising would abandon the rest of the run, whose other files are independent.
The file is not lost: it is reported failed, and its mark, which names no copy that landed, goes stale
after STALE_MARK_SECONDS (the longest a Lambda can run), when a later run takes it over and copies it.
Until then runs leave it alone, as they must for a mark that may belong to a run still copying.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from handlers.batch import reconcile
from handlers.batch.batch_state import timestamp
from handlers.batch.contract import ReconcileIncompleteError, ReconcileMarkStuckError
from handlers.batch.reconcile import ReconcileSummary
from workflows import failover_runbook
from workflows.states import LAMBDA_SERVICE_ERRORS

from .reconcile_fixtures import (  # noqa: F401 - failover_cloud_fixture is a fixture
    ACTIVE_REGION,
    NOW,
    FailoverCloud,
    failover_cloud_fixture,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

KEY = "input/sales.csv"
OTHER_KEY = "input/other.csv"
CSV = (
    "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date\r\n"
    "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East,10/23/14\r\n"
)


class CopyRefused:
    """This region's S3 client, refusing CopyObject onto `key` (as S3 does when access is denied)."""

    def __init__(self, s3: Any, key: str) -> None:
        self._s3 = s3
        self.key = key

    def copy_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self.key:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "CopyObject")
        return self._s3.copy_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


class UnmarkThrottled:
    """The batch-state table, throttling every UpdateItem that removes a mark (and nothing else)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.refused_removals = 0

    def update_item(self, **kwargs: Any) -> Any:
        if kwargs["UpdateExpression"].startswith("REMOVE reconciledAt"):
            self.refused_removals += 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}},
                "UpdateItem",
            )
        return self._table.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_a_failed_copy_whose_mark_cannot_be_removed_is_reported_and_taken_over_once_the_mark_is_stale(
    failover_cloud: FailoverCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN two replicated unfinished files; S3 refuses the copy of one, and DynamoDB its mark's removal
    for key in (KEY, OTHER_KEY):
        failover_cloud.replicate(key, failover_cloud.upload_in_failed_region(key, CSV))
    table = UnmarkThrottled(failover_cloud.state_table)
    faulty = dataclasses.replace(
        failover_cloud.deps,
        s3=cast("S3Client", CopyRefused(failover_cloud.s3, KEY)),
        state_table=cast("Table", table),
    )
    # WHEN this region reconciles
    summary = reconcile.reconcile(faulty, now=NOW)
    # THEN the run completes: that file is reported failed, and the other one is still re-copied
    assert summary == ReconcileSummary(
        region=ACTIVE_REGION, reconciled=[OTHER_KEY], failed=[KEY], marks_left=[KEY]
    )
    # AND the run's error tells the runbook to come back once the mark is stale, not at once
    with pytest.raises(
        ReconcileMarkStuckError, match=rf"marks of {KEY} could not be removed: a run after 900 s"
    ):
        reconcile.run_result(summary)
    assert table.refused_removals == 1
    assert len(failover_cloud.versions(KEY)) == 1 and len(failover_cloud.versions(OTHER_KEY)) == 2
    # AND the file keeps this run's mark, and the log names it and when it will be taken over
    item = failover_cloud.item(KEY)
    assert (item["reconciledAt"], item["reconciledBy"]) == (timestamp(NOW), ACTIVE_REGION)
    assert any(
        KEY in message and f"a run after {reconcile.STALE_MARK_SECONDS} s takes the file over" in message
        for message in caplog.messages
    )
    # WHEN a run comes while the mark could still belong to a run that is copying
    early = reconcile.reconcile(failover_cloud.deps, now=NOW + timedelta(minutes=1))
    # THEN it leaves the file alone (and the other file, whose copy this region's trigger has yet to claim)
    assert sorted(early.already_reconciled) == [OTHER_KEY, KEY] and early.reconciled == []
    assert len(failover_cloud.versions(KEY)) == 1
    # WHEN a run comes once the mark is stale
    late_now = NOW + timedelta(seconds=reconcile.STALE_MARK_SECONDS)
    late = reconcile.reconcile(failover_cloud.deps, now=late_now)
    # THEN it takes the file over and copies it, once (the other file's copy landed: it is not copied again)
    assert (late.reconciled, late.already_reconciled, late.failed) == ([KEY], [OTHER_KEY], [])
    assert len(failover_cloud.versions(KEY)) == 2 and len(failover_cloud.versions(OTHER_KEY)) == 2
    assert failover_cloud.item(KEY)["reconciledAt"] == timestamp(late_now)


def test_a_failed_copy_whose_mark_was_removed_is_retried_at_once() -> None:
    # GIVEN a run whose copy failed but whose mark was removed
    summary = ReconcileSummary(region=ACTIVE_REGION, reconciled=[OTHER_KEY], failed=[KEY])
    # THEN its error is the one the runbook retries within seconds, and the result lists no mark left
    with pytest.raises(ReconcileIncompleteError, match=rf"could not re-copy {KEY}; their marks were removed"):
        reconcile.run_result(summary)
    assert "marksLeft" not in summary.as_dict()


def test_the_runbook_runs_the_reconciliation_again_only_after_a_stuck_mark_is_stale() -> None:
    # GIVEN the failover runbook
    definition = failover_runbook.build_definition(
        read_state_arn="<read>", activate_arn="<activate>", reconcile_arn="<reconcile>", region="us-west-2"
    )
    states = definition["States"]
    first = states["Reconcile unfinished files"]
    # WHEN the reconciliation reports a stuck mark
    (stuck,) = [catch for catch in first["Catch"] if ReconcileMarkStuckError.__name__ in catch["ErrorEquals"]]
    # THEN that catch comes before the catch-all, and is not retried at once (a retry would find it fresh)
    assert first["Catch"].index(stuck) == 0
    assert all(ReconcileMarkStuckError.__name__ not in retrier["ErrorEquals"] for retrier in first["Retry"])
    # AND the runbook waits until the mark is stale, then runs the same reconciliation once more
    wait = states[stuck["Next"]]
    assert wait["Type"] == "Wait" and wait["Seconds"] >= reconcile.STALE_MARK_SECONDS
    again = states[wait["Next"]]
    assert again["Parameters"] == first["Parameters"] and again["Next"] == first["Next"]
    # AND a second stuck mark fails the runbook (which alarms) instead of waiting forever
    assert [catch["Next"] for catch in again["Catch"]] == ["Runbook failed"]
    # AND an ordinary failed copy is still retried within seconds, Lambda's own errors too
    retried = {name: retrier for retrier in first["Retry"] for name in retrier["ErrorEquals"]}
    assert retried[ReconcileIncompleteError.__name__]["IntervalSeconds"] < 60
    assert set(LAMBDA_SERVICE_ERRORS) <= set(retried)
