"""Transform benchmark: rule-applying transform vs plain xmltodict + json on a ~3 MB orders document.

    ./venv/bin/python -m bench.transform_bench

Prints the figures and one `RESULT <name> <value> <unit> target <op> <value> <met|missed>` line per
target, then records them in BENCHMARKS.md under '## Transform (issue 2)'. Always exits 0: it reports.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import xmltodict

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402
from handlers.transform.rules import RuleSet, parse_rule_set  # noqa: E402
from handlers.transform.transform import transform_document  # noqa: E402
from samples.transform_documents import generate_orders_xml  # noqa: E402

DOCUMENT_BYTES = 3_000_000
RUNS = 21
IMPORT_RUNS = 5
TARGET_RATIO = 1.25
TARGET_PEAK_MEMORY_X = 12.0
TARGET_IMPORT_MS = 1500.0
SECTION = "## Transform (issue 2)"

# One rule of each kind: forceList, remove, cast, default, rename, root.
BENCH_RULES = {
    "ruleId": "bench-six",
    "forceList": ["orders/order/item"],
    "remove": ["orders/order/internalNote"],
    "cast": {"orders/order/item/qty": "int"},
    "default": {"orders/order/currency": "EUR"},
    "rename": {"orders/order/@id": "orderId"},
    "root": "orders",
}

IMPORT_PROBE = (
    "import time; start = time.perf_counter(); "
    "import handlers.transform.transform_worker; "
    "print((time.perf_counter() - start) * 1000)"
)


def baseline(document: bytes) -> str:
    return json.dumps(xmltodict.parse(document))


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure_times(document: bytes, rules: RuleSet) -> tuple[list[float], list[float]]:
    """Alternate the two so drift in machine load hits both alike."""
    transform_times: list[float] = []
    baseline_times: list[float] = []
    transform_document(document, rules)  # warm-up: imports, allocator
    baseline(document)
    for run in range(RUNS):
        if run % 2 == 0:
            transform_times.append(timed(lambda: transform_document(document, rules)))
            baseline_times.append(timed(lambda: baseline(document)))
        else:
            baseline_times.append(timed(lambda: baseline(document)))
            transform_times.append(timed(lambda: transform_document(document, rules)))
    return transform_times, baseline_times


def measure_peak_memory(document: bytes, rules: RuleSet) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        transform_document(document, rules)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def measure_import_ms() -> float:
    """Cold import of the worker in a fresh interpreter, with tracing on as in Lambda."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
        "AWS_LAMBDA_FUNCTION_NAME": "regionflow-transform-bench",
        "POWERTOOLS_TRACE_DISABLED": "false",
    }
    samples = []
    for _ in range(IMPORT_RUNS):
        completed = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(completed.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> int:
    document = generate_orders_xml(DOCUMENT_BYTES)
    rules = parse_rule_set(BENCH_RULES)
    transform_times, baseline_times = measure_times(document, rules)
    transform_ms = statistics.median(transform_times) * 1000
    baseline_ms = statistics.median(baseline_times) * 1000
    # Each pair runs back to back, so the median of per-pair ratios cancels drift in machine load.
    ratio = statistics.median(t / b for t, b in zip(transform_times, baseline_times, strict=True))
    peak_x = measure_peak_memory(document, rules) / len(document)
    import_ms = measure_import_ms()

    figures = [
        f"document_bytes {len(document)}",
        f"runs {RUNS} pairs (alternating transform / baseline; ratio = median of per-pair ratios)",
        f"transform_median_ms {transform_ms:.1f}",
        f"baseline_median_ms {baseline_ms:.1f} (json.dumps(xmltodict.parse(doc)))",
    ]
    results = [
        result_line("transform_ratio", ratio, "x", "<=", TARGET_RATIO),
        result_line("transform_peak_memory_x", peak_x, "x", "<=", TARGET_PEAK_MEMORY_X),
        result_line("worker_import_ms", import_ms, "ms", "<=", TARGET_IMPORT_MS),
    ]
    for line in figures + results:
        print(line)

    machine = machine_description()
    write_benchmarks_md(
        SECTION,
        [
            "Command: `./venv/bin/python -m bench.transform_bench`",
            "",
            f"Machine: {machine}.",
            "Rule set: one rule of each kind (forceList, remove, cast, default, rename, root) on a "
            f"{len(document) / 1e6:.1f} MB generated orders document; {RUNS} alternating pairs of runs; "
            "peak memory by tracemalloc; import time of handlers.transform.transform_worker in a fresh "
            f"interpreter (median of {IMPORT_RUNS}, tracing on).",
            "",
            "```",
            *figures,
            *results,
            "```",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
