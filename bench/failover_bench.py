"""Regional failover in localcloud: time from the failover runbook's start to every file COMPLETED.

    ./venv/bin/python -m bench.failover_bench

The chaos scenario of demos/failover.py with the replication wait set to 0: FILES files of
ROWS rows uploaded to the primary and claimed there, one of them kept from replicating, the primary's
processing writes refused mid-run, then the standby's runbook (flip, wait 0 s, reconcile). Figures: the
seconds from StartExecution of the runbook to every replicated file COMPLETED, files reconciled, files
reported missing and files lost (replicated but never COMPLETED: must be 0). The baseline, measured in
the same run, is one file of the same size processed normally in the (then active) standby: the ratio
says how much longer recovering FILES broken batches takes than processing one. Always exits 0.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402
from demos import batch, failover  # noqa: E402
from localcloud.core.cloud import LocalCloud  # noqa: E402
from samples.batch_records import generate_batch  # noqa: E402

FILES, ROWS = 8, 2000
TARGET_SECONDS = 120.0  # ours: eight broken 2,000-row batches recovered within two minutes on a laptop
SECTION = "## Failover to the standby region (issue 6)"


def one_batch_seconds(cloud: LocalCloud, region: str) -> float:
    key = f"input/bench-baseline-{int(time.time() * 1000)}.csv"
    started = time.perf_counter()
    batch.upload(cloud, key, generate_batch(rows=ROWS, invalid_rows=ROWS // 100, seed=13).input_csv, region)
    batch.wait_for_outcome(cloud, key, region=region, timeout_seconds=300)
    return time.perf_counter() - started


def main() -> int:
    overrides = {
        "regionflow:failoverReplicationWaitSeconds": "0",
        # The runbook still waits out the signal's TTL (readers' caches): one second here.
        "regionflow:activeRegionTtlSeconds": "1",
        "regionflow:batchRecordsPerChunk": "200",
    }
    with LocalCloud("local", config_overrides=overrides, time_scale=0.01) as cloud:
        outcome = failover.fail_over(cloud, files=FILES, rows=ROWS, report=print)
        baseline = one_batch_seconds(cloud, batch.standby_region(cloud))
    summary = outcome.reconciliation
    reconciled, missing, lost = (
        len(summary.get("reconciled", [])),
        len(summary.get("missing", [])),
        len(outcome.lost),
    )
    seconds = outcome.seconds_to_all_completed
    expected = len([key for key in outcome.unfinished_at_failover if key != outcome.never_replicated])
    unfinished = len(outcome.unfinished_at_failover)
    lines = [
        f"Machine: {machine_description()}. Stack `local`, replication wait 0 s (signal TTL 1 s), "
        "200 rows per chunk; "
        f"{FILES} files of {ROWS:,} rows uploaded to the primary, one kept from replicating, the primary's "
        "processing writes refused mid-run, then the standby's runbook.",
        f"- runbook {outcome.runbook['status']}; unfinished at failover: {unfinished}; "
        f"reconciled {reconciled}, reported missing {missing}, lost {lost}",
        f"- failover start -> every replicated file COMPLETED: {seconds:.1f} s",
        f"- baseline, one {ROWS:,}-row batch processed normally in the standby: {baseline:.1f} s; "
        f"ratio {seconds / baseline:.2f}x",
        "",
        "```",
        result_line("failover_to_all_completed_seconds", seconds, "s", "<=", TARGET_SECONDS),
        result_line("failover_files_reconciled", reconciled, "files", ">=", expected),
        result_line("failover_files_lost", lost, "files", "<=", 0),
        result_line("failover_vs_one_batch_ratio", seconds / baseline, "x", "<=", float(FILES)),
        "```",
        "",
        "Command: `./venv/bin/python -m bench.failover_bench`",
    ]
    print("\n".join(lines))
    write_benchmarks_md(SECTION, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
