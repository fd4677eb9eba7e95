"""Per-1M-record bills of both designs from counted units, measured durations and prices."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bench.asl_cost import (
    EXPRESS,
    STANDARD,
    Machine,
    Usage,
    Workload,
    distributed_children,
    execution_usage,
)
from bench.batch_cost.definitions import (
    OURS_CHUNK,
    OURS_MAIN,
    SEED,
    seed_chunk_definition,
    seed_main_definition,
)
from bench.batch_cost.measurement import Calls, Measured, merge_requests, split_requests
from bench.batch_cost.prices import PRICES, S3_PUT_CLASS
from bench.batch_cost.settings import (
    CHUNK_STEPS,
    EXPRESS_BILLING_MS,
    EXPRESS_MEMORY_MB,
    LAMBDA_BILLING_MS,
    ONE_VCPU_MB,
    RECORDS,
    SAMPLE_ROWS,
    SEED_LAMBDA_MEMORY_MB,
)
from bench.batch_cost.stack_facts import StackFacts
from workflows import batch_processing

# ---- pricing ---------------------------------------------------------------------------------------------
Scaling = Literal["per_record", "per_chunk", "per_file_rows", "per_file"]
# measured: as measured here; cpu_share: slowed by Lambda's CPU share below one vCPU (1,769 MB);
# no_moto: with the time spent in moto's answers removed (compute only, a lower bound).
Timing = Literal["measured", "cpu_share", "no_moto"]


@dataclass(frozen=True)
class LambdaProfile:
    """One function's memory and the duration of one invocation, from the run's 1,000-row measurements."""

    memory_mb: int
    measured_ms: float
    aws_ms: float  # of measured_ms, the time spent in AWS requests (moto's answers)
    scaling: Scaling  # how one invocation's duration grows: with the chunk's rows, the file's, or not

    def ms(self, records_per_chunk: int, timing: Timing) -> float:
        ms = self.measured_ms - (self.aws_ms if timing == "no_moto" else 0.0)
        if self.scaling == "per_chunk":
            ms *= records_per_chunk / SAMPLE_ROWS
        elif self.scaling == "per_file_rows":
            ms *= RECORDS / SAMPLE_ROWS
        if timing == "cpu_share":
            ms *= max(1.0, ONE_VCPU_MB / self.memory_mb)
        return ms

    def billed_ms(self, records_per_chunk: int, timing: Timing) -> float:
        ms = self.ms(records_per_chunk, timing)
        return max(LAMBDA_BILLING_MS, math.ceil(ms / LAMBDA_BILLING_MS) * LAMBDA_BILLING_MS)


@dataclass(frozen=True)
class Quantities:
    """Billable units per RECORDS records; the keys of PRICES, plus counts shown for information."""

    standard_transitions: float = 0.0
    express_requests: float = 0.0
    express_gb_seconds: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0
    api_gateway_requests: float = 0.0
    dynamodb_rru: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_replicated_wru: float = 0.0
    s3_put_requests: float = 0.0
    s3_get_requests: float = 0.0
    # for information: not priced on their own
    standard_executions: float = 0.0
    express_states: float = 0.0
    dynamodb_requests: float = 0.0

    def usd(self) -> dict[str, float]:
        return {name: getattr(self, name) * price.usd for name, price in PRICES.items()}

    def total_usd(self) -> float:
        return sum(self.usd().values())


@dataclass(frozen=True)
class Design:
    name: str
    machine: Machine
    workload: Callable[[int], Workload]  # chunks per RECORDS records -> Workload
    lambdas: Mapping[str, LambdaProfile]  # FunctionName -> profile
    # AWS requests the functions make (not in the definitions): chunks per RECORDS records -> Calls
    task_calls: Callable[[int], Calls]
    api_backend: str | None = None  # the function behind each apigateway:invoke, if any
    replicas_per_write: int = 0  # global-table replicas that each write is replicated to


def bill(design: Design, records_per_chunk: int, timing: Timing = "measured") -> Quantities:
    chunks = math.ceil(RECORDS / records_per_chunk)
    workload = design.workload(chunks)
    usage = execution_usage(design.machine, workload)
    invocations = dict(usage.lambda_invocations)
    api_calls = usage.service_requests.get("apigateway:invoke", 0.0)
    if design.api_backend is not None:
        invocations[design.api_backend] = invocations.get(design.api_backend, 0.0) + api_calls

    def gb_seconds(function: str) -> float:
        profile = design.lambdas[function]
        return profile.billed_ms(records_per_chunk, timing) / 1000 * profile.memory_mb / 1024

    express_gb_seconds = 0.0
    machines = {**workload.machines, **distributed_children(design.machine)}
    for (kind, arn), count in usage.executions.items():
        if kind != EXPRESS:
            continue
        one = execution_usage(machines[arn], workload, label=arn)
        wall_ms = sum(
            n * design.lambdas[f].ms(records_per_chunk, timing) for f, n in one.lambda_invocations.items()
        )
        billed_ms = max(1, math.ceil(wall_ms / EXPRESS_BILLING_MS)) * EXPRESS_BILLING_MS
        express_gb_seconds += count * billed_ms / 1000 * EXPRESS_MEMORY_MB / 1024

    calls = design.task_calls(chunks) + _definition_calls(usage)
    s3 = calls.of("s3")
    return Quantities(
        standard_transitions=usage.standard_transitions,
        express_requests=usage.executions_of(EXPRESS),
        express_gb_seconds=express_gb_seconds,
        lambda_requests=sum(invocations.values()),
        lambda_gb_seconds=sum(n * gb_seconds(f) for f, n in invocations.items()),
        api_gateway_requests=api_calls,
        dynamodb_rru=calls.read_units,
        dynamodb_wru=calls.write_units,
        dynamodb_replicated_wru=calls.write_units * design.replicas_per_write,
        s3_put_requests=sum(n for op, n in s3.items() if op in S3_PUT_CLASS),
        s3_get_requests=sum(n for op, n in s3.items() if op not in S3_PUT_CLASS),
        standard_executions=usage.executions_of(STANDARD),
        express_states=usage.express_states,
        dynamodb_requests=sum(calls.of("dynamodb").values()),
    )


def _definition_calls(usage: Usage) -> Calls:
    """Requests Step Functions itself makes: ItemReader GETs and DynamoDB service tasks (small items)."""
    calls = Calls()
    for action, count in usage.service_requests.items():
        service, _, operation = action.partition(":")
        if service not in ("s3", "dynamodb"):
            continue
        calls += Calls({f"{service}:{operation[0].upper()}{operation[1:]}": count})
        if operation in ("putItem", "updateItem", "deleteItem"):
            calls.write_units += count  # the batch-state item is well under 1 KB
        elif operation == "getItem":
            calls.read_units += 0.5 * count
    return calls


def from_counts(s3: Mapping[str, float]) -> Calls:
    return Calls({f"s3:{operation}": count for operation, count in s3.items()})


def designs(facts: StackFacts, measured: Measured) -> tuple[Design, Design]:
    memory = facts.memory_mb

    def profile(memory_mb: int, step: str, scaling: Scaling) -> LambdaProfile:
        return LambdaProfile(memory_mb, measured.ms[step], measured.aws_ms.get(step, 0.0), scaling)

    split = profile(memory["split_file"], "split_file", "per_file_rows")
    merge = profile(memory["merge_chunks"], "merge_chunks", "per_file_rows")
    email = profile(memory["email_link"], "email_link", "per_file")
    ours_chunk_calls = sum((measured.calls[step] for step in CHUNK_STEPS), Calls())

    def ours_calls(chunks: int) -> Calls:
        output_bytes = measured.processed_part_bytes * RECORDS // SAMPLE_ROWS
        return (
            ours_chunk_calls.times(RECORDS / SAMPLE_ROWS)
            + from_counts(split_requests(chunks, manifest=True))
            + from_counts(merge_requests(chunks, output_bytes))
        )

    ours = Design(
        name="regionflow",
        machine=Machine(batch_processing.build_definition(**OURS_MAIN), facts.main_type),
        workload=lambda chunks: Workload(map_items={"Process chunks": chunks}),
        lambdas={
            OURS_MAIN["split_arn"]: split,
            OURS_MAIN["merge_arn"]: merge,
            OURS_MAIN["email_arn"]: email,
            **{
                OURS_CHUNK[f"{step}_arn"]: profile(memory[module], module, "per_chunk")
                for step, module in (
                    ("validate", "validate_records"),
                    ("enrich", "enrich_records"),
                    ("write", "write_chunk"),
                )
            },
        },
        task_calls=ours_calls,
        replicas_per_write=facts.errors_table_replicas,
    )
    if facts.state_table_replicas != facts.errors_table_replicas:
        raise ValueError("the batch-state and errors tables have different replicas: price them apart")

    seed_chunk = Machine(seed_chunk_definition(), STANDARD)
    api_calls = measured.calls["seed_financials_api"]

    def seed_calls(chunks: int) -> Calls:
        output_bytes = measured.processed_part_bytes * RECORDS // SAMPLE_ROWS
        return (
            api_calls.times(RECORDS)  # one GetItem per record behind the API
            + from_counts({"GetObject": chunks, "PutObject": chunks})  # Read and Write, per chunk
            + from_counts(split_requests(chunks, manifest=False))  # chunk keys travel in the state
            + from_counts(merge_requests(chunks, output_bytes))
        )

    seed_memory = SEED_LAMBDA_MEMORY_MB
    seed = Design(
        name="seed per-record",
        machine=Machine(seed_main_definition(), STANDARD),
        workload=lambda chunks: Workload(
            map_items={
                "Call Step Functions for each chunk": chunks,
                "Process messages": RECORDS / chunks,
            },
            machines={SEED["chunk_processor"]: seed_chunk},
        ),
        lambdas={
            # Split, merge and email do the same work as ours: the same profiles (memory included).
            SEED["split"]: split,
            SEED["merge"]: merge,
            SEED["email"]: email,
            SEED["read"]: profile(seed_memory, "seed_read", "per_chunk"),
            SEED["write"]: profile(seed_memory, "seed_write", "per_chunk"),
            SEED["validate"]: profile(seed_memory, "seed_validate", "per_record"),
            SEED["financials_api"]: profile(seed_memory, "seed_financials_api", "per_record"),
        },
        task_calls=seed_calls,
        api_backend=SEED["financials_api"],
    )
    return seed, ours
