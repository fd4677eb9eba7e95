"""Regional failover of the batch system, end to end: break the primary, fail over, reconcile, fail back.

The scenario the e2e chaos test, the benchmark and the demo share:
1. financial data loaded; several files uploaded to the primary, each claimed there (batches in flight);
2. one file's replica removed from the standby (a file the outage kept from replicating);
3. the primary's processing broken mid-run: its bucket refuses the chunk processors' writes, as the FIS
   experiment's network cut does on AWS;
4. failover: the standby's runbook flips the signal, waits for replication and reconciles;
5. every unfinished replicated file is processed by the standby; the unreplicated one is reported missing.
Failback (`fail_back`) repairs the primary and runs the primary's runbook.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from demos.batch import (
    batch_state,
    load_financial_data,
    primary_region,
    standby_region,
    upload,
    wait_for_outcome,
)
from demos.waiting import wait_until
from handlers.active_region.signal import (
    ActiveRegionSource,
    ActiveRegionUnknownError,
    Route53ActiveRegion,
    RoutingControlActiveRegion,
)
from handlers.batch import contract
from localcloud.core.clients import emulator_client
from localcloud.core.cloud import LocalCloud
from samples.batch_records import generate_batch

Report = Callable[[str], None]
# What the primary's chunk processors and merge write: refusing them breaks every batch mid-run.
PROCESSING_PREFIXES = (contract.WORK_PREFIX, contract.PROCESSED_PREFIX, contract.OUTPUT_PREFIX)
FINAL_EXECUTION_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def signal_reader(cloud: LocalCloud) -> ActiveRegionSource:
    """The stack's active-region signal, read uncached as the runbook reads it: ARC's routing controls
    through the cluster's endpoints where ARC drives it, else the record through the Route 53 API."""
    controls = cloud.exports.get("activeRegionRoutingControls") or {}
    if controls:
        return RoutingControlActiveRegion(
            routing_controls=controls,
            cluster_endpoints=cloud.exports["activeRegionClusterEndpoints"],
            cache_seconds=0,
            client_factory=lambda url, region: emulator_client(url, "route53-recovery-cluster", region),
        )
    return Route53ActiveRegion(
        cloud.client("route53"),
        zone_id=cloud.exports["activeRegionZoneId"],
        record_name=cloud.exports["activeRegionRecordName"],
        cache_seconds=0,
    )


def active_region(cloud: LocalCloud) -> str:
    """What the signal says now."""
    return signal_reader(cloud).active_region()


def activate_first_region(cloud: LocalCloud, report: Report) -> None:
    """After a stack's first deploy with ARC every routing control is Off, so no region processes batches:
    README's first step after `pulumi up` is to run the primary's runbook once. The record signal starts
    at the primary already."""
    try:
        report(f"active region: {active_region(cloud)}")
    except ActiveRegionUnknownError as unknown:
        report(f"no active region yet ({unknown}); running the primary's runbook once, as README says")
        primary = primary_region(cloud)
        runbook = run_runbook(cloud, primary)
        report(f"runbook in {primary}: {runbook['status']}; active region now {active_region(cloud)}")


@contextmanager
def processing_broken(cloud: LocalCloud, region: str) -> Iterator[None]:
    """The region's batch bucket refuses processing writes (work/, processed/, output/) until exit."""
    bucket = cloud.exports["batchBuckets"][region]
    s3 = cloud.client("s3", region)
    original = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    policy = json.loads(original)
    policy["Statement"].append(
        {
            "Sid": "ChaosRefuseProcessingWrites",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in PROCESSING_PREFIXES],
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=original)


def _versions_in(cloud: LocalCloud, key: str, region: str) -> list[dict[str, Any]]:
    """Every version of exactly `key` in `region`'s batch bucket."""
    listed = cloud.client("s3", region).list_object_versions(
        Bucket=cloud.exports["batchBuckets"][region], Prefix=key
    )
    return [version for version in listed.get("Versions", []) if version["Key"] == key]


def remove_replica(cloud: LocalCloud, key: str, region: str) -> None:
    """Once `key` has replicated into `region`, delete every version of it there: never replicated."""
    s3 = cloud.client("s3", region)
    for version in wait_until(partial(_versions_in, cloud, key, region), f"{key} replicated to {region}", 30):
        s3.delete_object(
            Bucket=cloud.exports["batchBuckets"][region], Key=key, VersionId=version["VersionId"]
        )


def run_runbook(cloud: LocalCloud, region: str, timeout_seconds: float = 120.0) -> dict[str, Any]:
    """Start `region`'s failover runbook and return its finished execution (status, parsed output)."""
    sfn = cloud.client("stepfunctions", region)
    arn = sfn.start_execution(stateMachineArn=cloud.exports["failoverRunbookArns"][region], input="{}")[
        "executionArn"
    ]

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return execution if execution["status"] in FINAL_EXECUTION_STATUSES else None

    execution: dict[str, Any] = wait_until(finished, f"the {region} runbook finishing", timeout_seconds)
    return {**execution, "output": json.loads(execution.get("output") or "{}")}


def succeeded_executions(cloud: LocalCloud, key: str) -> list[str]:
    """Regions of every SUCCEEDED batch execution of `key`, across both regions."""
    return executions_of(cloud, key, "SUCCEEDED")


def executions_of(cloud: LocalCloud, key: str, status: str) -> list[str]:
    """Regions of every batch execution of `key` in `status`, across both regions."""
    found = []
    for region, machine in cloud.exports["batchStateMachineArns"].items():
        sfn = cloud.client("stepfunctions", region)
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine, statusFilter=status
        ):
            for execution in page["executions"]:
                started_with = json.loads(
                    sfn.describe_execution(executionArn=execution["executionArn"])["input"]
                )
                if started_with.get("key") == key:
                    found.append(region)
    return found


@dataclass
class FailoverOutcome:
    files: list[str]
    never_replicated: str
    unfinished_at_failover: list[str]  # not COMPLETED when the runbook started
    runbook: dict[str, Any]
    seconds_to_all_completed: float  # from the runbook's start to every replicated file COMPLETED
    final_items: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reconciliation(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.runbook["output"].get("reconciliation", {}).get("summary", {})
        return summary

    @property
    def lost(self) -> list[str]:
        """Replicated files that did not end COMPLETED: must be none."""
        return [
            key
            for key in self.files
            if key != self.never_replicated and self.final_items.get(key, {}).get("status") != "COMPLETED"
        ]


def fail_over(
    cloud: LocalCloud, *, files: int = 4, rows: int = 2000, report: Report = print
) -> FailoverOutcome:
    """Steps 1-5 of the module docstring; leaves the standby active and the primary broken-then-repaired."""
    primary, standby = primary_region(cloud), standby_region(cloud)
    sample = generate_batch(rows=rows, invalid_rows=rows // 100, seed=11)
    load_financial_data(cloud, sample)
    stamp = int(time.time() * 1000)
    keys = [f"input/failover-{stamp}-{number:02d}.csv" for number in range(files)]
    never_replicated = keys[-1]
    for key in keys:
        upload(cloud, key, sample.input_csv, primary)
    for key in keys:
        wait_until(partial(batch_state, cloud, key, primary), f"{key} claimed in {primary}", 30)
    report(f"{files} files of {rows:,} rows uploaded to {primary} and claimed there")
    remove_replica(cloud, never_replicated, standby)
    report(f"{never_replicated} removed from {standby}: the outage kept it from replicating")
    with processing_broken(cloud, primary):
        report(f"{primary}: the bucket now refuses processing writes (batches break mid-run)")
        # An operator fails over once the alarm says batches fail; the runbook's wait (15 minutes on AWS)
        # covers replication, which locally is made explicit (each file's batch state and replica) so a
        # short wait cannot race it.
        for key in keys:
            outcome = wait_for_outcome(cloud, key, region=primary, timeout_seconds=120)
            wait_until(
                partial(_replicated_as, cloud, key, standby, outcome), f"{key}'s outcome in {standby}", 60
            )
            if key != never_replicated:
                wait_until(partial(_versions_in, cloud, key, standby), f"{key} replicated to {standby}", 60)
        unfinished = [
            key for key in keys if (batch_state(cloud, key, standby) or {}).get("status") != "COMPLETED"
        ]
        started = time.monotonic()
        runbook = run_runbook(cloud, standby)
        reconciliation = runbook["output"].get("reconciliation")
        report(f"runbook in {standby}: {runbook['status']}; reconciliation {reconciliation}")
        # Wait only for what the runbook handed over: anything else is reported as it stands, so a
        # failed runbook or reconciliation shows at once in the outcome instead of as a timeout.
        handed_over = set(
            runbook["output"].get("reconciliation", {}).get("summary", {}).get("reconciled", [])
        )
        items = {
            key: (
                wait_for_outcome_in(cloud, key, standby, timeout_seconds=300)
                if key in handed_over
                else batch_state(cloud, key, standby) or {}
            )
            for key in keys
        }
        seconds = time.monotonic() - started
        # A batch records its outcome a state before its execution ends: the outcome is read once every
        # execution of the files has ended (a test counting SUCCEEDED ones must not see one RUNNING).
        for key in keys:
            wait_until(partial(_batch_ended, cloud, key), f"{key}'s batch ended", 60)
    return FailoverOutcome(
        files=keys,
        never_replicated=never_replicated,
        unfinished_at_failover=unfinished,
        runbook=runbook,
        seconds_to_all_completed=seconds,
        final_items=items,
    )


def _batch_ended(cloud: LocalCloud, key: str) -> bool:
    return not executions_of(cloud, key, "RUNNING")


def _replicated_as(cloud: LocalCloud, key: str, region: str, expected: dict[str, Any]) -> bool:
    return batch_state(cloud, key, region) == expected


def wait_for_outcome_in(
    cloud: LocalCloud, key: str, region: str, *, timeout_seconds: float
) -> dict[str, Any]:
    """The item once COMPLETED (or FAILED) by `region`: earlier outcomes recorded elsewhere do not count."""

    def settled() -> dict[str, Any] | None:
        item = batch_state(cloud, key, region)
        if item is None:
            return None
        if item.get("status") == "COMPLETED" or (
            item.get("region") == region and item.get("status") == "FAILED"
        ):
            return item
        return None

    try:
        item: dict[str, Any] = wait_until(settled, f"{key} settled by {region}", timeout_seconds)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; its batch state there: {batch_state(cloud, key, region)}") from error
    return item


def fail_back(cloud: LocalCloud, report: Report = print) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the primary's runbook, then prove the primary processes new uploads again."""
    primary = primary_region(cloud)
    runbook = run_runbook(cloud, primary)
    report(f"runbook in {primary}: {runbook['status']}; active region now {active_region(cloud)}")
    key = f"input/after-failback-{int(time.time() * 1000)}.csv"
    upload(cloud, key, generate_batch(rows=200, invalid_rows=2, seed=12).input_csv, primary)
    item = wait_for_outcome(cloud, key, region=primary)
    report(f"{key} after failback: {item['status']} in {item.get('region')}")
    return runbook, item


def run(cloud: LocalCloud, report: Report) -> bool:
    report("== Regional failover of the batch system")
    primary, standby = primary_region(cloud), standby_region(cloud)
    report(f"active region: {active_region(cloud)}")
    outcome = fail_over(cloud, report=report)
    summary = outcome.reconciliation
    report(
        f"all replicated files COMPLETED {outcome.seconds_to_all_completed:.1f} s after the runbook started; "
        f"reconciled {len(summary.get('reconciled', []))}, missing {summary.get('missing')}, "
        f"lost {len(outcome.lost)}"
    )
    runbook, after = fail_back(cloud, report)
    checks = [
        ("failover runbook SUCCEEDED", outcome.runbook["status"] == "SUCCEEDED"),
        ("no replicated file lost", outcome.lost == []),
        ("the unreplicated file reported missing", summary.get("missing") == [outcome.never_replicated]),
        (
            "each file completed exactly once",
            all(
                len(succeeded_executions(cloud, key)) == 1
                for key in outcome.files
                if key != outcome.never_replicated
            ),
        ),
        ("failback runbook SUCCEEDED", runbook["status"] == "SUCCEEDED"),
        ("the primary is active again and processes uploads", after.get("region") == primary),
    ]
    report(f"standby was {standby}")
    for label, passed in checks:
        report(f"  [{'ok' if passed else 'FAILED'}] {label}")
    return all(passed for _, passed in checks)
