"""Chaos in localcloud: batches break mid-run in the primary, the standby's runbook takes over, failback.

The scenario (demos/failover.py) uploads several files to the primary, removes one file's
replica from the standby (the outage kept it from replicating), breaks the primary's processing writes
while the batches run, and runs the standby's failover runbook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from demos import batch, failover
from demos.failover import FailoverOutcome
from localcloud.core.cloud import LocalCloud
from tests.e2e.conftest import E2E_CONFIG, running_cloud

FILES, ROWS = 4, 2000


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    # A one-second signal TTL: the runbook waits for readers' caches to expire before reconciling.
    overrides = {
        **E2E_CONFIG,
        "regionflow:failoverReplicationWaitSeconds": "1",
        "regionflow:activeRegionTtlSeconds": "1",
    }
    with running_cloud(request, config=overrides) as running:
        yield running


@pytest.fixture(scope="module")
def outcome(cloud: LocalCloud) -> FailoverOutcome:
    assert failover.active_region(cloud) == batch.primary_region(cloud)
    return failover.fail_over(cloud, files=FILES, rows=ROWS, report=lambda _line: None)


def test_the_standby_runbook_succeeds_and_the_standby_becomes_active(
    cloud: LocalCloud, outcome: FailoverOutcome
) -> None:
    standby = batch.standby_region(cloud)
    assert outcome.runbook["status"] == "SUCCEEDED", outcome.runbook
    assert outcome.runbook["output"]["before"]["activeRegion"] == batch.primary_region(cloud)
    assert outcome.runbook["output"]["activation"]["activeRegion"] == standby
    assert failover.active_region(cloud) == standby


def test_every_unfinished_replicated_file_is_reconciled_and_completed_by_the_standby(
    cloud: LocalCloud, outcome: FailoverOutcome
) -> None:
    standby = batch.standby_region(cloud)
    replicated_unfinished = [key for key in outcome.unfinished_at_failover if key != outcome.never_replicated]
    # GIVEN batches broken mid-run in the primary (the chaos caught at least one in flight)
    assert replicated_unfinished
    # THEN reconciliation re-copied exactly those, and the standby completed each of them
    assert sorted(outcome.reconciliation["reconciled"]) == sorted(replicated_unfinished)
    for key in replicated_unfinished:
        item = outcome.final_items[key]
        assert (item["status"], item["region"]) == ("COMPLETED", standby), item
        assert int(item["rows"]) + int(item["invalidRows"]) == ROWS
    assert outcome.lost == []


def test_each_replicated_file_completes_exactly_once_across_both_regions(
    cloud: LocalCloud, outcome: FailoverOutcome
) -> None:
    for key in outcome.files:
        if key != outcome.never_replicated:
            assert len(failover.succeeded_executions(cloud, key)) == 1, key


def test_a_file_never_replicated_is_reported_missing_not_completed(
    cloud: LocalCloud, outcome: FailoverOutcome
) -> None:
    assert outcome.reconciliation["missing"] == [outcome.never_replicated]
    assert outcome.final_items[outcome.never_replicated].get("status") != "COMPLETED"
    assert failover.succeeded_executions(cloud, outcome.never_replicated) == []


def test_reconciling_again_reprocesses_nothing(cloud: LocalCloud, outcome: FailoverOutcome) -> None:
    # WHEN the standby's reconciliation runs a second time
    standby = batch.standby_region(cloud)
    before = len(batch.executions(cloud, standby))
    response = cloud.client("lambda", standby).invoke(
        FunctionName=cloud.exports["failoverReconcileFunctions"][standby],
        Payload=json.dumps({"region": standby}).encode(),
    )
    summary: dict[str, Any] = json.loads(response["Payload"].read())
    # THEN nothing is re-copied and no batch starts; the unreplicated file is still reported
    assert "FunctionError" not in response, summary
    assert summary["reconciled"] == []
    assert summary["missing"] == [outcome.never_replicated]
    cloud.wait_idle()
    assert len(batch.executions(cloud, standby)) == before


def test_failback_returns_traffic_to_the_primary(cloud: LocalCloud, outcome: FailoverOutcome) -> None:
    # GIVEN the failed-over system (outcome) WHEN the primary's runbook runs
    runbook, after = failover.fail_back(cloud, report=lambda _line: None)
    # THEN the primary is active again and processes new uploads
    primary = batch.primary_region(cloud)
    assert runbook["status"] == "SUCCEEDED", runbook
    assert failover.active_region(cloud) == primary
    assert (after["status"], after["region"]) == ("COMPLETED", primary)
