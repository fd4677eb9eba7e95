"""Audit ingest in localcloud: POST /audit latency by payload size, against a plain S3 put_object.

    ./venv/bin/python -m bench.audit_bench

The real path (HTTP -> gateway -> ingest Lambda -> Redis SET -> StartExecution -> 202) is timed per
request with scripts/audit_client.py, for 1 KB, 1 MB and 5 MB base64 payloads. In the same run, with the
same payload bytes (the decoded bytes the ingest Lambda writes), two baselines: a plain S3 put_object to
a fresh bucket of the same localcloud, and the ingest Lambda's own write on its own (PayloadStore.put,
a Redis SET with the payload TTL) to the same redis-server the deployed function is configured with.
The three are interleaved per iteration, in rotating order, so drift in machine load hits them alike.

Each timed ingest is followed, untimed, by a wait for its workflow to succeed and for every Lambda to
be idle: the workflow's Lambdas and moto share this machine's two cores, which on AWS they would not.
A short back-to-back burst per size (no wait) shows what that sharing costs here. Every response must
be 202 and every workflow SUCCEEDED, or the benchmark fails. Prints a table, then one RESULT line per
reported figure, and records them in BENCHMARKS.md under '## Audit ingest (issue 7)'.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, percentile, result_line, write_benchmarks_md  # noqa: E402
from demos.doors import caller  # noqa: E402
from handlers.audit.contract import RedisSettings  # noqa: E402
from handlers.audit.redis_store import PayloadStore, connect, payload_key  # noqa: E402
from localcloud.core.cloud import LocalCloud  # noqa: E402
from scripts.audit_client import base64_payload, post_message, sample_message  # noqa: E402

SECTION = "## Audit ingest (issue 7)"
INGEST_HANDLER = "handlers.audit.ingest_api.lambda_handler"


@dataclass(frozen=True)
class Size:
    label: str
    name: str  # in RESULT names
    chars: int  # base64 characters in the request's "payload" (multiples of 4); a body over 6 MB is 413
    requests: int  # timed iterations (each: one ingest, one put_object, one Redis SET)


SIZES = (
    Size("1 KB", "1kb", 1_024, 200),
    Size("1 MB", "1mb", 1_048_576, 50),
    Size("5 MB", "5mb", 5_000_000, 40),
)
WARMUP = 5  # per size and per path, excluded
BURST = 20  # back-to-back requests per size (context only, no target)

# Targets (ours; the issue asks for the figures):
# - A producer waits for the 202 before moving on, so it expects a quick ack even for the largest payload;
#   API Gateway's 29 s integration limit is far off. Every ingest percentile is held to 3 s ...
TARGET_INGEST_MS = 3000.0
# - ... and a small message, the common case, to 100 ms at the median.
TARGET_INGEST_1KB_P50_MS = 100.0
# - The design's reason to exist: holding the payload in Redis first is faster than writing it to S3.
#   Its own write (Redis SET) against put_object is the claim; the issue also asks whether the whole
#   ingest path beats a bare put_object. Both held to 1: whatever it measures, met or missed.
TARGET_RATIO = 1.0


@dataclass
class Timings:
    ingest: list[float] = field(default_factory=list)
    s3_put: list[float] = field(default_factory=list)
    redis_set: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)


def p50(samples: list[float]) -> float:
    return percentile(samples, 50)


def p99(samples: list[float]) -> float:
    return percentile(samples, 99)


class AuditBench:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.url = str(cloud.exports["auditUrl"])
        self.sfn = cloud.client("stepfunctions")
        self.s3 = cloud.client("s3")
        machine_arn = str(cloud.exports["auditStateMachineArn"])
        self.execution_prefix = machine_arn.replace(":stateMachine:", ":execution:", 1)
        self.bucket = f"regionflow-audit-bench-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.redis_env = ingest_function_environment(cloud)
        settings = RedisSettings.from_environment(self.redis_env)
        if settings.redis_auth_secret_arn:
            raise RuntimeError("the ingest function's Redis wants an AUTH token: not expected in localcloud")
        self.store = PayloadStore(connect(settings), settings)

    def ingest(self, payload_text: str) -> tuple[float, str]:
        """One POST /audit (the body encoded before the clock starts); seconds and the message id."""
        body = json.dumps(sample_message(payload_text)).encode("utf-8")
        started = time.perf_counter()
        # Signing is part of what a producer pays per request: it is inside the timing.
        response = post_message(self.url, body, caller=caller(self.cloud, "audit"))
        elapsed = time.perf_counter() - started
        if response.status != 202:
            raise RuntimeError(f"POST /audit answered {response.status}, not 202: {response.body}")
        return elapsed, str(response.body["messageId"])

    def wait_for_workflow(self, message_id: str, timeout_seconds: float = 60.0) -> None:
        """Until the message's execution (named for it) SUCCEEDED; anything else fails the benchmark."""
        arn = f"{self.execution_prefix}:{message_id}"
        deadline = time.monotonic() + timeout_seconds
        while True:
            execution = self.sfn.describe_execution(executionArn=arn)
            if execution["status"] == "SUCCEEDED":
                return
            if execution["status"] != "RUNNING":
                raise RuntimeError(f"audit workflow {arn} ended {execution['status']}: {execution}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"audit workflow {arn} still RUNNING after {timeout_seconds} s")
            time.sleep(0.01)

    def quiet_ingest(self, payload_text: str) -> float:
        elapsed, message_id = self.ingest(payload_text)
        self.wait_for_workflow(message_id)
        self.cloud.wait_idle()
        return elapsed

    def s3_put(self, payload: bytes) -> float:
        key = f"bench/{uuid.uuid4()}"
        started = time.perf_counter()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=payload)
        elapsed = time.perf_counter() - started
        self.s3.delete_object(Bucket=self.bucket, Key=key)  # untimed: keeps moto's memory flat
        return elapsed

    def redis_set(self, payload: bytes) -> float:
        key = payload_key(f"bench-{uuid.uuid4()}")
        started = time.perf_counter()
        self.store.put(key, payload)
        elapsed = time.perf_counter() - started
        self.store.delete(key)
        return elapsed

    def measure(self, size: Size) -> Timings:
        timings = Timings()
        for iteration in range(-WARMUP, size.requests):
            text = base64_payload(size.chars)
            payload = base64.b64decode(text)  # the bytes the ingest Lambda writes to Redis
            steps: list[tuple[list[float], Callable[[], float]]] = [
                (timings.ingest, functools.partial(self.quiet_ingest, text)),
                (timings.s3_put, functools.partial(self.s3_put, payload)),
                (timings.redis_set, functools.partial(self.redis_set, payload)),
            ]
            shift = iteration % len(steps)
            for samples, step in steps[shift:] + steps[:shift]:
                elapsed = step()
                if iteration >= 0:
                    samples.append(elapsed * 1000)
        # Context: a producer posting back to back while the previous messages' workflows still run.
        message_ids = []
        for _ in range(BURST):
            elapsed, message_id = self.ingest(base64_payload(size.chars))
            timings.burst.append(elapsed * 1000)
            message_ids.append(message_id)
        for message_id in message_ids:
            self.wait_for_workflow(message_id)
        self.cloud.wait_idle()
        return timings


def ingest_function_environment(cloud: LocalCloud) -> dict[str, str]:
    """The deployed ingest function's environment (REDIS_HOST, REDIS_PORT, ...): the Redis it writes to."""
    functions = cloud.client("lambda").get_paginator("list_functions").paginate()
    names = [
        function["FunctionName"]
        for page in functions
        for function in page["Functions"]
        if function.get("Handler") == INGEST_HANDLER
    ]
    if len(names) != 1:
        raise RuntimeError(f"expected one function with handler {INGEST_HANDLER}, found {names}")
    configuration = cloud.client("lambda").get_function_configuration(FunctionName=names[0])
    return dict(configuration["Environment"]["Variables"])


def table(rows: list[tuple[Size, Timings]]) -> list[str]:
    header = (
        f"{'size':<5} {'chars':>9} {'bytes':>9} {'n':>4} | {'ingest p50':>10} {'p99':>7} | "
        f"{'put p50':>7} {'p99':>6} | {'SET p50':>7} {'p99':>6} | {'ingest/put':>10} {'SET/put':>7} | "
        f"{'burst p50':>9} {'p99':>7}"
    )
    lines = [header, "-" * len(header)]
    for size, t in rows:
        lines.append(
            f"{size.label:<5} {size.chars:>9,} {size.chars // 4 * 3:>9,} {size.requests:>4} | "
            f"{p50(t.ingest):>10.1f} {p99(t.ingest):>7.1f} | "
            f"{p50(t.s3_put):>7.1f} {p99(t.s3_put):>6.1f} | "
            f"{p50(t.redis_set):>7.2f} {p99(t.redis_set):>6.2f} | "
            f"{p50(t.ingest) / p50(t.s3_put):>10.2f} {p50(t.redis_set) / p50(t.s3_put):>7.3f} | "
            f"{p50(t.burst):>9.1f} {p99(t.burst):>7.1f}"
        )
    return lines


def results(rows: list[tuple[Size, Timings]]) -> list[str]:
    lines = []
    for size, t in rows:
        p50_target = TARGET_INGEST_1KB_P50_MS if size.name == "1kb" else TARGET_INGEST_MS
        lines += [
            result_line(f"audit_ingest_{size.name}_p50_ms", p50(t.ingest), "ms", "<=", p50_target),
            result_line(f"audit_ingest_{size.name}_p99_ms", p99(t.ingest), "ms", "<=", TARGET_INGEST_MS),
        ]
    for size, t in rows:
        lines.append(
            result_line(
                f"audit_ingest_vs_s3_put_{size.name}_p50_ratio",
                p50(t.ingest) / p50(t.s3_put),
                "x",
                "<=",
                TARGET_RATIO,
            )
        )
    for size, t in rows:
        lines.append(
            result_line(
                f"audit_redis_set_vs_s3_put_{size.name}_p50_ratio",
                p50(t.redis_set) / p50(t.s3_put),
                "x",
                "<=",
                TARGET_RATIO,
            )
        )
    return lines


def main() -> int:
    started = time.perf_counter()
    rows: list[tuple[Size, Timings]] = []
    with LocalCloud("local", time_scale=0.01) as cloud:
        deploy_seconds = cloud.deploy_seconds
        bench = AuditBench(cloud)
        for size in SIZES:
            rows.append((size, bench.measure(size)))
            print(f"measured {size.label}: {time.perf_counter() - started:.0f} s", flush=True)
    run_seconds = time.perf_counter() - started

    figures = [
        *table(rows),
        "",
        "ms; p50/p99 by nearest rank (below 100 samples, p99 is the largest); ratios are p50 / p50; "
        "bytes: the decoded payload",
        "ingest: POST /audit -> 202 (HTTP -> gateway -> ingest Lambda -> Redis SET -> StartExecution), "
        "each after the previous workflow SUCCEEDED",
        "put: s3.put_object of the decoded payload bytes to a fresh bucket, moto in this process",
        "SET: the ingest Lambda's PayloadStore.put (SET with EX) of the same bytes to the redis-server "
        "its environment names (REDIS_HOST, REDIS_PORT)",
        "s3_first_estimate p50 (ingest - SET + put): "
        + ", ".join(
            f"{size.label} {p50(t.ingest) - p50(t.redis_set) + p50(t.s3_put):.1f} ms" for size, t in rows
        ),
        f"burst: {BURST} more POSTs per size back to back, the previous messages' workflows still running",
        f"run {run_seconds:.0f} s (deploy {deploy_seconds:.1f} s); all {total_requests(rows)} responses 202, "
        "every workflow SUCCEEDED",
    ]
    result_lines = results(rows)
    print("\n".join(["", *figures, "", *result_lines]))

    write_benchmarks_md(
        SECTION,
        [
            "Command: `./venv/bin/python -m bench.audit_bench`",
            "",
            f"Machine: {machine_description()}. Stack `local` in localcloud (time scale 0.01), one run: "
            f"{WARMUP} warm-up iterations per size excluded, then per iteration one POST /audit, one "
            "S3 put_object and one Redis SET of the same payload, in rotating order. Each timed POST is "
            "followed (untimed) by a wait for its workflow to succeed and every Lambda to be idle, "
            "because here the workflow's Lambdas, moto and the benchmark share two cores; the burst "
            f"columns are {BURST} POSTs per size sent back to back without that wait. Targets are ours: "
            "an ack within 3 s at any size, 100 ms at the median for 1 KB, and the issue's question "
            "(is Redis-first faster than S3?) as ratios held to 1.",
            "",
            "```",
            *figures,
            "",
            *result_lines,
            "```",
            "",
            *summary(rows),
            "",
            "What the ratios mean, and don't. localcloud's S3 is moto in this process: put_object costs "
            "the boto3 client's work (checksum, signing, HTTP on loopback) plus moto keeping the bytes "
            "in memory (a spooled buffer, under 5 MB), sharing this process's GIL with the client; none "
            "of AWS S3's network round trips or its durable multi-AZ write. redis-server is a real "
            "server in its own process on loopback; ElastiCache adds a VPC network hop. So SET/put says "
            "what the write itself costs on this machine, not what S3 or ElastiCache cost in a region; "
            "put_object here is a lower bound for S3. The ingest/put ratio compares the whole request "
            "(HTTP, gateway, Lambda invocation over a local socket, JSON parse and schema check, base64 "
            "decode, SHA-256, SET, StartExecution) with a bare write: an S3-first design would pay the same "
            "request path with put_object in place of the SET, so that ratio mostly measures the "
            "request path and cannot judge the design on its own; the s3_first_estimate line swaps "
            "the write to estimate one.",
        ],
    )
    return 0


def summary(rows: list[tuple[Size, Timings]]) -> list[str]:
    """The run's answer to the issue's question, in words (figures from this run)."""
    set_share = ", ".join(f"{size.label} {100 * p50(t.redis_set) / p50(t.s3_put):.0f} %" for size, t in rows)
    path_share = ", ".join(f"{size.label} {100 * p50(t.redis_set) / p50(t.ingest):.0f} %" for size, t in rows)
    difference = ", ".join(f"{size.label} {p50(t.s3_put) - p50(t.redis_set):+.1f} ms" for size, t in rows)
    faster = [size.label for size, t in rows if p50(t.redis_set) < p50(t.s3_put)]
    if len(faster) == len(rows):
        verdict = "the Redis-first write is faster here at every size"
    elif faster:
        verdict = f"the Redis-first write is faster here only at {', '.join(faster)}"
    else:
        verdict = "the Redis-first write is not faster here at any size"
    return [
        f"In this run the Redis SET took {set_share} of a put_object's time at p50: {verdict} "
        f"(put p50 - SET p50: {difference}). Of the ingest request's p50 the SET is {path_share}; "
        "the rest is the request path both designs share.",
    ]


def total_requests(rows: list[tuple[Size, Timings]]) -> int:
    return sum(size.requests + WARMUP + BURST for size, _ in rows)


if __name__ == "__main__":
    sys.exit(main())
