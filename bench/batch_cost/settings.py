"""Fixed inputs of the batch cost benchmark: volumes, sample, billing granularity, method."""

from __future__ import annotations

from typing import TypeVar

from handlers.batch import contract as layout

T = TypeVar("T")

RECORDS = 1_000_000
STACK = "primary"
SAMPLE_ROWS = 1000
SAMPLE_INVALID = 37
SAMPLE_SEED = 0
RUNS = 5  # timed runs of each task after one warm-up; the median is used
PER_RECORD_SAMPLES = 200  # seed per-record calls timed one by one; the median is used
SENSITIVITY_RECORDS_PER_CHUNK = (100, 10_000)
SEED_LAMBDA_MEMORY_MB = 128  # assumed: the seed's own Lambdas (read, per-record validate, API, write)
EXPRESS_MEMORY_MB = 64  # Express bills memory in 64 MB increments; a chunk's state is a few hundred bytes
EXPRESS_BILLING_MS = 100  # Express rounds each execution's duration up to the next 100 ms
LAMBDA_BILLING_MS = 1  # Lambda rounds each invocation up to the next 1 ms
ONE_VCPU_MB = 1769  # Lambda gives a function one vCPU's worth of CPU at 1,769 MB, a share below it
TARGET_RATIO = 300.0  # issue 19 (issue 5 asked for 50)
SECTION = "## Issue 5: batch cost per 1M records"
COMMAND = "./venv/bin/python -m bench.batch_cost"

METHOD = (
    "Per 1M records, both designs are counted from their state machine definitions by "
    "`bench/asl_cost.py` on the success path: a Standard execution bills each state it enters, a "
    "Distributed Map one transition per child execution it starts, an Express execution a request and "
    "its duration. The seed's definitions are rebuilt from its description: per chunk a Standard "
    "execution that runs one `Validate Data` Lambda and one `Get Financial Data` REST API call (a Lambda "
    "doing one GetItem) for every record. Lambda durations are measured in the same run on a generated "
    "1,000-row chunk, in-process under moto, whose latencies stand in for S3's and DynamoDB's (and on "
    "Lambda a function below 1,769 MB gets less than one vCPU: see the cpu_share line). Memory sizes, "
    "records per chunk, machine types and table replicas come from the primary stack. Not counted for "
    "either design: the upload trigger, S3 storage, data transfer and replication, CloudWatch Logs and "
    "metrics, the user's download, and retries (every step succeeds at its first attempt)."
)

REGION = "us-east-1"
BUCKET = "regionflow-bench-batch"
ERRORS_TABLE = "regionflow-bench-batch-errors"
FINANCIALS_TABLE = "regionflow-bench-batch-financials"
SENDER = "batch@example.com"
INPUT_KEY = "input/testfile.csv"
FILE_ID = layout.file_id(INPUT_KEY, None)
CHECK_FILE_ID = layout.file_id("input/request-model-check.csv", None)
CHECK_CHUNKS = 4
CHUNK_STEPS = ("validate_records", "enrich_records", "write_chunk")
