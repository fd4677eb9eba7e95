"""Run the batch cost benchmark: `./venv/bin/python -m bench.batch_cost` (see the package docstring)."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping

from bench.batch_cost.billing import Design, Quantities, Timing, bill, designs
from bench.batch_cost.measurement import Calls, Measured, measure
from bench.batch_cost.prices import PRICES, PRICES_CHECKED
from bench.batch_cost.settings import (
    CHECK_CHUNKS,
    CHUNK_STEPS,
    COMMAND,
    EXPRESS_MEMORY_MB,
    LAMBDA_BILLING_MS,
    METHOD,
    ONE_VCPU_MB,
    PER_RECORD_SAMPLES,
    RECORDS,
    RUNS,
    SAMPLE_INVALID,
    SAMPLE_ROWS,
    SAMPLE_SEED,
    SECTION,
    SEED_LAMBDA_MEMORY_MB,
    SENSITIVITY_RECORDS_PER_CHUNK,
    STACK,
    TARGET_RATIO,
)
from bench.batch_cost.stack_facts import stack_facts
from bench.reporting import machine_description, result_line, write_benchmarks_md
from samples.batch_records import generate_batch

# ---- reporting -------------------------------------------------------------------------------------------
LINE_ITEMS: list[tuple[str, str]] = [
    ("standard_transitions", "Step Functions Standard state transitions"),
    ("express_requests", "Step Functions Express requests"),
    ("express_gb_seconds", "Step Functions Express GB-s"),
    ("lambda_requests", "Lambda requests"),
    ("lambda_gb_seconds", "Lambda GB-s"),
    ("api_gateway_requests", "API Gateway REST requests"),
    ("dynamodb_rru", "DynamoDB read request units"),
    ("dynamodb_wru", "DynamoDB write request units"),
    ("dynamodb_replicated_wru", "DynamoDB replicated write request units"),
    ("s3_put_requests", "S3 PUT/COPY/POST/LIST requests"),
    ("s3_get_requests", "S3 GET requests"),
]
INFO_ITEMS: list[tuple[str, str]] = [
    ("standard_executions", "(info) Standard executions"),
    ("express_states", "(info) states entered in Express runs"),
    ("dynamodb_requests", "(info) DynamoDB requests"),
]


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value == 0 or value >= 100 else f"{value:,.1f}"


def table(seed: Design, seed_bill: Quantities, ours: Design, ours_bill: Quantities) -> list[str]:
    width = 42
    lines = [
        f"{f'per {RECORDS:,} records':<{width}} {seed.name:>26} {ours.name:>26}",
        f"{'':<{width}} {'quantity':>14} {'usd':>11} {'quantity':>14} {'usd':>11}",
    ]
    seed_usd, ours_usd = seed_bill.usd(), ours_bill.usd()
    for key, label in LINE_ITEMS:
        lines.append(
            f"{label:<{width}} {_quantity(getattr(seed_bill, key)):>14} {seed_usd[key]:>11.4f} "
            f"{_quantity(getattr(ours_bill, key)):>14} {ours_usd[key]:>11.4f}"
        )
    lines.append(
        f"{'total':<{width}} {'':>14} {seed_bill.total_usd():>11.4f} {'':>14} {ours_bill.total_usd():>11.4f}"
    )
    lines.extend(
        f"{label:<{width}} {_quantity(getattr(seed_bill, key)):>14} {'':>11} "
        f"{_quantity(getattr(ours_bill, key)):>14}"
        for key, label in INFO_ITEMS
    )
    return lines


def _ops(requests: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {count:g}" for name, count in sorted(requests.items()))


def step_ms(measured: Measured, step: str) -> str:
    return f"{step} {measured.ms[step]:.1f} (moto {measured.aws_ms[step]:.1f})"


def sensitivity_line(label: str, seed: Design, ours: Design, records_per_chunk: int, timing: Timing) -> str:
    seed_usd = bill(seed, records_per_chunk, timing).total_usd()
    ours_usd = bill(ours, records_per_chunk, timing).total_usd()
    return (
        f"sensitivity {label}: seed {seed_usd:.4f} usd, regionflow {ours_usd:.4f} usd, "
        f"ratio {seed_usd / ours_usd:.1f} x"
    )


def main() -> int:
    start = time.perf_counter()
    facts = stack_facts(STACK)
    if facts.architecture != "x86_64":
        print(f"WARNING: the functions run on {facts.architecture}; PRICES hold the x86 Lambda price")
    sample = generate_batch(SAMPLE_ROWS, SAMPLE_INVALID, seed=SAMPLE_SEED)
    measured = measure(sample)
    seed, ours = designs(facts, measured)
    rpc = facts.records_per_chunk
    seed_bill, ours_bill = bill(seed, rpc), bill(ours, rpc)
    ratio = seed_bill.total_usd() / ours_bill.total_usd()

    ms = measured.ms
    sensitivity = [
        sensitivity_line(f"records_per_chunk {other}", seed, ours, other, "measured")
        for other in SENSITIVITY_RECORDS_PER_CHUNK
    ]
    sensitivity.append(
        sensitivity_line(
            f"cpu_share (durations x {ONE_VCPU_MB} MB / memory, below one vCPU)", seed, ours, rpc, "cpu_share"
        )
    )
    sensitivity.append(
        sensitivity_line("no_moto (time in moto's answers removed, compute only)", seed, ours, rpc, "no_moto")
    )
    checks = [
        f"{step} {'ok' if counted == modelled else 'DIFFERS'} (counted {_ops(counted)}; "
        f"modelled {_ops(modelled)})"
        for step, (counted, modelled) in measured.request_model_check.items()
    ]
    chunk_calls = sum((measured.calls[step] for step in CHUNK_STEPS), Calls())
    figures = [
        f"records {RECORDS:,} in one file; records_per_chunk {rpc} (stack {STACK}: batchRecordsPerChunk) "
        f"= {math.ceil(RECORDS / rpc):,} chunks, same chunking for the seed",
        f"prices: us-east-1 list prices as published on {PRICES_CHECKED} (PRICES_CHECKED; not fetched "
        "by this run), free tiers ignored",
        *(f"  {name}: {price.published} - {price.url}" for name, price in PRICES.items()),
        f"memory_mb ours {dict(sorted(facts.memory_mb.items()))} (stack {STACK}); seed's own Lambdas "
        f"{SEED_LAMBDA_MEMORY_MB} (assumed), its split/merge/email as ours; Express billed at "
        f"{EXPRESS_MEMORY_MB} MB, 100 ms steps",
        f"measured_ms per invocation, median of {RUNS} runs in-process; '(moto N)' is the part spent in "
        "S3/DynamoDB/SES requests answered by moto, whose latencies stand in for AWS's:",
        f"  per 1,000-row chunk ({SAMPLE_INVALID} invalid): "
        + ", ".join(step_ms(measured, step) for step in CHUNK_STEPS),
        "  per file (split and merge measured on 1,000 rows and scaled to the file's rows): "
        + ", ".join(step_ms(measured, step) for step in ("split_file", "merge_chunks", "email_link")),
        f"  seed: validate one record {ms['seed_validate']:.2f}, financial GetItem "
        f"{ms['seed_financials_api']:.2f} (median of {PER_RECORD_SAMPLES} records; a Lambda bills at least "
        f"{LAMBDA_BILLING_MS} ms, in {LAMBDA_BILLING_MS} ms steps); read chunk {ms['seed_read']:.1f}, "
        f"write chunk {ms['seed_write']:.1f}",
        "requests per 1,000-row chunk (counted): "
        + _ops(chunk_calls.requests)
        + f"; {chunk_calls.read_units:g} RRU, {chunk_calls.write_units:g} WRU "
        f"(+ the same replicated to each of {facts.errors_table_replicas} replica region)",
        f"s3_request_model_check ({CHECK_CHUNKS} chunks): {'; '.join(checks)}",
        "",
        *table(seed, seed_bill, ours, ours_bill),
        "",
        f"seed_cost_per_million_records {seed_bill.total_usd():.4f} usd (baseline, same run)",
        f"batch_cost_per_million_records {ours_bill.total_usd():.4f} usd",
        *sensitivity,
        result_line("batch_cost_ratio", ratio, "x", ">=", TARGET_RATIO),
    ]
    for line in figures:
        print(line)
    print(f"(ran in {time.perf_counter() - start:.1f} s)")
    write_benchmarks_md(
        SECTION,
        [
            f"Command: `{COMMAND}`",
            "",
            f"Machine: {machine_description()}.",
            METHOD,
            "",
            "```",
            *figures,
            "```",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
