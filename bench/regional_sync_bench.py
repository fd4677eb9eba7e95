"""Regional sync benchmark: host records through write_host_records (BatchWriteItem) vs a put_item loop.

    ./venv/bin/python -m bench.regional_sync_bench

Both write the same 10,000 host deployment records (one build each, so the counts can be checked
apart) into the same host log table, with its build_id GSI, on one real moto server started by
localcloud's Emulator, in the same run. Prints the figures and one
`RESULT <name> <value> <unit> target <op> <value> <met|missed>` line per target, then records them in
BENCHMARKS.md under '## Regional sync (issue 4)'. Always exits 0: it reports.
"""

from __future__ import annotations

import functools
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402
from handlers.artifacts.contract import BUILD_ID_INDEX, RegionalSyncSettings  # noqa: E402
from handlers.artifacts.host_log import count_deployments  # noqa: E402
from handlers.artifacts.regional_sync import (  # noqa: E402
    host_records,
    write_host_records,
)
from localcloud.core.emulator import Emulator  # noqa: E402
from samples.dynamodb_tables import host_log_table  # noqa: E402

HOSTS = 10_000
BATCH_RUNS = 3  # BatchWriteItem is quick enough to repeat; the median is reported
REGION = "us-west-2"
TABLE = "regionflow-bench-host-deployment-logs"
TARGET_ITEMS_PER_SECOND = 1000.0
TARGET_RATIO = 8.0
SECTION = "## Regional sync (issue 4)"


def create_table(dynamodb: Any) -> None:
    """The host log table as the ArtifactDistribution component declares it: (host_id, build_id) + GSI."""
    dynamodb.create_table(**host_log_table(TABLE))


def count_build(dynamodb: Any, build_id: str) -> int:
    return count_deployments(dynamodb, TABLE, build_id)


def records(build_id: str) -> list[dict[str, Any]]:
    return host_records(
        region=REGION,
        bucket="regionflow-artifacts-us-west-2",
        key=f"build-{build_id}.zip",
        hosts=HOSTS,
        deployed_at=datetime.now(UTC),
    )


def timed(write: Callable[[], None]) -> float:
    start = time.perf_counter()
    write()
    return time.perf_counter() - start


def batch_write(dynamodb: Any, items: Sequence[dict[str, Any]]) -> None:
    """What regional_sync does in Lambda: write_host_records with its production settings."""
    write_host_records(
        dynamodb,
        TABLE,
        items,
        max_attempts=RegionalSyncSettings.max_write_attempts,
        sleep=time.sleep,
        max_in_flight=RegionalSyncSettings.max_requests_in_flight,
    )


def put_item_loop(dynamodb: Any, items: Sequence[dict[str, Any]]) -> None:
    for item in items:
        dynamodb.put_item(TableName=TABLE, Item=item)


def main() -> int:
    emulator = Emulator()
    emulator.start()
    try:
        dynamodb = emulator.client("dynamodb", REGION)
        create_table(dynamodb)
        batch_seconds: list[float] = []
        batch_counts: list[int] = []
        for run in range(BATCH_RUNS):
            build_id = f"bench-batch-{run}"
            items = records(build_id)
            batch_seconds.append(timed(functools.partial(batch_write, dynamodb, items)))
            batch_counts.append(count_build(dynamodb, build_id))
        put_items = records("bench-put-item")
        put_seconds = timed(lambda: put_item_loop(dynamodb, put_items))
        put_count = count_build(dynamodb, "bench-put-item")
    finally:
        emulator.stop()

    batch_median = statistics.median(batch_seconds)
    batch_rate = HOSTS / batch_median
    put_rate = HOSTS / put_seconds
    ratio = batch_rate / put_rate
    figures = [
        f"hosts {HOSTS} per run (items of the host deployment log, table with GSI {BUILD_ID_INDEX})",
        f"batch_write_seconds {', '.join(f'{s:.2f}' for s in batch_seconds)} "
        f"(write_host_records, 25 per request, {RegionalSyncSettings.max_requests_in_flight} in flight, "
        f"{BATCH_RUNS} runs)",
        f"batch_write_items_per_second {batch_rate:,.0f} (median run)",
        f"put_item_seconds {put_seconds:.2f} (baseline: one put_item per item, 1 run)",
        f"put_item_items_per_second {put_rate:,.0f}",
        f"counted_via_gsi batch {batch_counts} put_item {put_count} (expected {HOSTS} each)",
        result_line("regional_sync_items_per_second", batch_rate, "items/s", ">=", TARGET_ITEMS_PER_SECOND),
        result_line("regional_sync_vs_put_item_ratio", ratio, "x", ">=", TARGET_RATIO),
    ]
    for line in figures:
        print(line)
    if batch_counts != [HOSTS] * BATCH_RUNS or put_count != HOSTS:
        print("WARNING: a GSI count differs from the number of hosts written")
    write_benchmarks_md(
        SECTION,
        [
            "Command: `./venv/bin/python -m bench.regional_sync_bench`",
            "",
            f"Machine: {machine_description()}.",
            "Both sides write the same 10,000 host records into one host log table (with its build_id GSI) "
            "on one moto server started by `localcloud.core.emulator.Emulator`, in the same run; each side "
            "writes its own build id and the GSI count of each is checked. The moto server shares this "
            "process (and its GIL), so requests in flight barely overlap here; against DynamoDB they "
            "overlap on the network.",
            "",
            "```",
            *figures,
            "```",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
