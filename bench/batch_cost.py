"""Batch cost per 1M records: regionflow's workflows vs the seed's per-record design, from the definitions.

    ./venv/bin/python bench/batch_cost.py

Counts come from the state machine definitions, walked by bench/asl_cost.py: regionflow's (built by
workflows.batch_processing and workflows.chunk_processor with placeholder ARNs) and the seed's, rebuilt
here from its description - a STANDARD main workflow (split, an inline Map starting one STANDARD chunk
execution per chunk, merge, email) whose chunk execution reads the chunk, then for EVERY row runs a
"Validate Data" Lambda and a "Get Financial Data" API Gateway call (a Lambda doing one DynamoDB GetItem),
then writes the output chunk. Memory sizes, machine types, records per chunk and table replicas come
from the primary stack built under recording mocks. Lambda durations are measured in this run: the
chunk tasks, split, merge and email on a generated 1,000-row chunk (37 invalid rows) and the seed's
per-record work, in-process under moto's mock_aws, whose latencies stand in for S3's and DynamoDB's.
The AWS requests each task makes (S3 and DynamoDB, with request units) are counted as they are made.

Priced at AWS's us-east-1 list prices as published (PRICES, checked PRICES_CHECKED; not fetched by this
run; free tiers ignored). Prints a table per 1M records, the ratio and one
`RESULT <name> <value> <unit> target <op> <value> <met|missed>` line, then records them in
BENCHMARKS.md under SECTION. Always exits 0: it reports.
"""

from __future__ import annotations

import io
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# Set before the handlers are imported (Powertools reads these when it creates its objects), and so that
# boto3 only ever talks to moto in this process.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "regionflow",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.asl_cost import (  # noqa: E402
    EXPRESS,
    STANDARD,
    Machine,
    StateMachineType,
    Usage,
    Workload,
    execution_usage,
)
from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402
from handlers.batch import (  # noqa: E402
    email_link,
    enrich_records,
    errors_table,
    financials,
    layout,
    merge_chunks,
    split_file,
    validate_records,
    write_chunk,
)
from handlers.batch.chunk_work import get_text  # noqa: E402
from handlers.batch.records import OUTPUT_HEADER, RECORD_FIELDS, RECORD_SCHEMA, csv_line, output_cells  # noqa: E402
from samples.batch_records import BatchSample, generate_batch  # noqa: E402
from scripts.load_financials import load_financials  # noqa: E402
from tests.unit.components.conftest import build_stack  # noqa: E402
from workflows import batch_processing, chunk_processor  # noqa: E402

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
TARGET_RATIO = 50.0
SECTION = "## Issue 5: batch cost per 1M records"
COMMAND = "./venv/bin/python bench/batch_cost.py"

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

# ---- prices ---------------------------------------------------------------------------------------------
PRICES_CHECKED = "2026-11"
STEP_FUNCTIONS_PRICING = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
API_GATEWAY_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float  # per one unit
    published: str  # the figure as the page publishes it (us-east-1)
    url: str


PRICES: dict[str, Price] = {
    "standard_transitions": Price(
        0.025 / 1000, "Standard workflows: $0.025 per 1,000 state transitions", STEP_FUNCTIONS_PRICING
    ),
    "express_requests": Price(
        1.00 / 1_000_000, "Express workflows: $1.00 per 1M requests", STEP_FUNCTIONS_PRICING
    ),
    "express_gb_seconds": Price(
        0.00001667,
        "Express workflows: $0.00001667 per GB-second ($0.06 per GB-hour), first 1,000 GB-hours",
        STEP_FUNCTIONS_PRICING,
    ),
    "lambda_requests": Price(0.20 / 1_000_000, "Lambda: $0.20 per 1M requests", LAMBDA_PRICING),
    "lambda_gb_seconds": Price(
        0.0000166667, "Lambda x86: $0.0000166667 for every GB-second (first 6 billion)", LAMBDA_PRICING
    ),
    "api_gateway_requests": Price(
        3.50 / 1_000_000, "REST APIs: $3.50 per million requests (first 333 million)", API_GATEWAY_PRICING
    ),
    "dynamodb_rru": Price(
        0.125 / 1_000_000, "on-demand: $0.125 per million read request units", DYNAMODB_PRICING
    ),
    "dynamodb_wru": Price(
        0.625 / 1_000_000, "on-demand: $0.625 per million write request units", DYNAMODB_PRICING
    ),
    "dynamodb_replicated_wru": Price(
        0.625 / 1_000_000,
        "global tables on-demand: $0.625 per million replicated write request units",
        DYNAMODB_PRICING,
    ),
    "s3_put_requests": Price(
        0.005 / 1000, "S3 Standard: PUT, COPY, POST, LIST requests $0.005 per 1,000", S3_PRICING
    ),
    "s3_get_requests": Price(
        0.0004 / 1000, "S3 Standard: GET, SELECT and all other requests $0.0004 per 1,000", S3_PRICING
    ),
}

# S3 operations billed at the PUT, COPY, POST, LIST price; every other request is billed as a GET.
S3_PUT_CLASS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjects",
        "ListObjectsV2",
    }
)

# ---- the definitions -------------------------------------------------------------------------------------
ACCOUNT_PREFIX = f"{REGION}:123456789012"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{ACCOUNT_PREFIX}:function:{name}"


OURS_MAIN: dict[str, Any] = {
    "split_arn": function_arn("split-file"),
    "merge_arn": function_arn("merge-chunks"),
    "email_arn": function_arn("email-link"),
    "chunk_processor_arn": f"arn:aws:states:{ACCOUNT_PREFIX}:stateMachine:chunk-processor",
    "batch_state_table": "batch-state",
}
OURS_CHUNK = {
    "validate_arn": function_arn("validate-records"),
    "enrich_arn": function_arn("enrich-records"),
    "write_arn": function_arn("write-chunk"),
}
SEED = {
    "split": function_arn("seed-split-input-file"),
    "read": function_arn("seed-read"),
    "validate": function_arn("seed-validate-data"),
    "write": function_arn("seed-write-output-file"),
    "merge": function_arn("seed-merge-all-files"),
    "email": function_arn("seed-email-the-file"),
    "financials_api": function_arn("seed-financial-data-api"),  # behind API Gateway, not in a definition
    "chunk_processor": f"arn:aws:states:{ACCOUNT_PREFIX}:stateMachine:seed-chunk-processor",
    "api_endpoint": "abc123.execute-api.us-east-1.amazonaws.com",
}


def _seed_lambda(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "ResultSelector": {"Payload.$": "$.Payload"},
        **fields,
    }


def seed_main_definition() -> dict[str, Any]:
    """The seed's main workflow (STANDARD), from its description: split, one chunk execution per chunk
    through an inline Map, merge, email."""
    return {
        "Comment": "The seed's main workflow: split, run the chunk processor per chunk, merge, email",
        "StartAt": "Split Input File into chunks",
        "States": {
            "Split Input File into chunks": _seed_lambda(
                SEED["split"], Next="Call Step Functions for each chunk"
            ),
            "Call Step Functions for each chunk": {
                "Type": "Map",
                "ItemsPath": "$.Payload.chunks",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Call Step Functions",
                    "States": {
                        "Call Step Functions": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::states:startExecution.sync:2",
                            "Parameters": {"StateMachineArn": SEED["chunk_processor"], "Input.$": "$"},
                            "End": True,
                        }
                    },
                },
                "Next": "Merge all Files",
            },
            "Merge all Files": _seed_lambda(SEED["merge"], Next="Email the file"),
            "Email the file": _seed_lambda(SEED["email"], End=True),
        },
    }


def seed_chunk_definition() -> dict[str, Any]:
    """The seed's chunk processor (STANDARD): read the chunk into the state, then for EVERY row one
    "Validate Data" Lambda and one "Get Financial Data" REST API call, then write the output file."""
    return {
        "Comment": "The seed's chunk processor: one Lambda and one API call per record",
        "StartAt": "Read",
        "States": {
            "Read": _seed_lambda(SEED["read"], Next="Process messages"),
            "Process messages": {
                "Type": "Map",
                "ItemsPath": "$.Payload",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Validate Data",
                    "States": {
                        "Validate Data": _seed_lambda(SEED["validate"], Next="Get Financial Data"),
                        "Get Financial Data": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::apigateway:invoke",
                            "Parameters": {
                                "ApiEndpoint": SEED["api_endpoint"],
                                "Method": "GET",
                                "Stage": "prod",
                                "Path.$": "States.Format('/financials/{}', $.Payload.uuid)",
                                "AuthType": "IAM_ROLE",
                            },
                            "End": True,
                        },
                    },
                },
                "Next": "Write output file",
            },
            "Write output file": _seed_lambda(SEED["write"], End=True),
        },
    }


# ---- the stack -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackFacts:
    """What the deployed component declares, read from the stack built under recording mocks."""

    memory_mb: dict[str, int]  # handler module (validate_records, ...) -> MemorySize
    architecture: str
    records_per_chunk: int
    main_type: StateMachineType
    chunk_type: StateMachineType
    errors_table_replicas: int
    state_table_replicas: int


def _one(values: Iterable[T], what: str) -> T:
    distinct = set(values)
    if len(distinct) != 1:
        raise ValueError(f"expected one {what} across the stack's regions, got {sorted(map(str, distinct))}")
    return distinct.pop()


def stack_facts(stack: str) -> StackFacts:
    built = build_stack(stack)
    by_handler: dict[str, list[dict[str, Any]]] = {}
    for resource in built.resources_of("aws:lambda/function:Function"):
        handler = str(resource.inputs.get("handler", ""))
        if handler.startswith("handlers.batch."):
            by_handler.setdefault(handler.split(".")[2], []).append(resource.inputs)
    memory = {
        module: _one((int(inputs["memorySize"]) for inputs in functions), f"{module} memory size")
        for module, functions in by_handler.items()
    }
    architecture = _one(
        (
            arch
            for functions in by_handler.values()
            for inputs in functions
            for arch in inputs["architectures"]
        ),
        "architecture",
    )
    records_per_chunk = _one(
        (int(inputs["environment"]["variables"]["RECORDS_PER_CHUNK"]) for inputs in by_handler["split_file"]),
        "RECORDS_PER_CHUNK",
    )

    def machine_type(suffix: str) -> StateMachineType:
        kind = _one(
            (
                r.inputs["type"]
                for r in built.resources_of("aws:sfn/stateMachine:StateMachine")
                if r.name.endswith(suffix)
            ),
            f"type of {suffix}",
        )
        return EXPRESS if kind == EXPRESS else STANDARD

    def replicas(logical_name: str) -> int:
        return len(built.named(logical_name).inputs.get("replicas") or [])

    return StackFacts(
        memory_mb=memory,
        architecture=architecture,
        records_per_chunk=records_per_chunk,
        main_type=machine_type("-batch-workflow-machine"),
        chunk_type=machine_type("-chunk-processor-machine"),
        errors_table_replicas=replicas("batch-errors"),
        state_table_replicas=replicas("batch-batch-state"),
    )


# ---- measuring -------------------------------------------------------------------------------------------
@dataclass
class Calls:
    """AWS requests made ("service:Operation" -> count), the DynamoDB request units they consume and
    the milliseconds spent in them (in moto, here)."""

    requests: dict[str, float] = field(default_factory=dict)
    read_units: float = 0.0
    write_units: float = 0.0
    aws_ms: float = 0.0

    def __add__(self, other: Calls) -> Calls:
        requests = dict(self.requests)
        for name, count in other.requests.items():
            requests[name] = requests.get(name, 0.0) + count
        return Calls(
            requests,
            self.read_units + other.read_units,
            self.write_units + other.write_units,
            self.aws_ms + other.aws_ms,
        )

    def times(self, factor: float) -> Calls:
        return Calls(
            {name: count * factor for name, count in self.requests.items()},
            self.read_units * factor,
            self.write_units * factor,
            self.aws_ms * factor,
        )

    def of(self, service: str) -> dict[str, float]:
        """Operation -> requests of one service."""
        prefix = f"{service}:"
        return {name[len(prefix) :]: n for name, n in self.requests.items() if name.startswith(prefix)}


def _write_units(item: Mapping[str, Any]) -> int:
    # The item's wire JSON is at least as long as its DynamoDB size: an upper bound of the 1 KB units.
    return max(1, math.ceil(len(json.dumps(item, separators=(",", ":")).encode()) / 1024))


class CallCounter:
    """Counts every request the watched clients send, and the request units DynamoDB bills for it:
    eventually consistent reads 0.5 RRU per item up to 4 KB (the financial items are ~100 bytes),
    writes 1 WRU per started KB of each item. Also times each request, from before-call to after-call."""

    def __init__(self) -> None:
        self._calls = Calls()
        self._sent = 0.0

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-call", self._count)
        client.meta.events.register("after-call", self._answered)

    def _answered(self, **_: Any) -> None:
        self._calls.aws_ms += (time.perf_counter() - self._sent) * 1000

    def take(self) -> Calls:
        calls, self._calls = self._calls, Calls()
        return calls

    def _count(self, event_name: str, params: Mapping[str, Any], **_: Any) -> None:
        self._sent = time.perf_counter()
        service, operation = event_name.split(".", 2)[1:]
        name = f"{service}:{operation}"
        self._calls.requests[name] = self._calls.requests.get(name, 0.0) + 1
        if service != "dynamodb":
            return
        body = json.loads(params.get("body") or b"{}")
        read = 1.0 if body.get("ConsistentRead") else 0.5
        if operation == "BatchGetItem":
            for request in body["RequestItems"].values():
                unit = 1.0 if request.get("ConsistentRead") else 0.5
                self._calls.read_units += unit * len(request["Keys"])
        elif operation == "GetItem":
            self._calls.read_units += read
        elif operation == "BatchWriteItem":
            for writes in body["RequestItems"].values():
                for write in writes:
                    self._calls.write_units += _write_units(write.get("PutRequest", {}).get("Item", {}))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self._calls.write_units += _write_units(body.get("Item", {}))


def timed(call: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


@dataclass(frozen=True)
class Measured:
    """Median milliseconds of one invocation and the AWS requests it made, per step, from this run."""

    ms: dict[str, float]
    aws_ms: dict[str, float]  # of ms, the part spent in AWS requests (moto's handling, here)
    calls: dict[str, Calls]
    processed_part_bytes: int  # one 1,000-row output chunk, as merge concatenates it
    request_model_check: dict[str, tuple[dict[str, float], dict[str, float]]]  # step -> (counted, modelled)


class Cloud:
    """The bucket, the errors and financials tables and SES, in moto, with every request counted."""

    def __init__(self, sample: BatchSample) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.dynamodb.create_table(**errors_table.table_definition(ERRORS_TABLE))
        self.dynamodb.create_table(**financials.table_definition(FINANCIALS_TABLE))
        self.dynamodb_client = boto3.client("dynamodb", region_name=REGION)
        self.errors = self.dynamodb.Table(ERRORS_TABLE)
        self.financials = self.dynamodb.Table(FINANCIALS_TABLE)
        self.ses = boto3.client("sesv2", region_name=REGION)
        self.ses.create_email_identity(EmailIdentity=SENDER)
        self.presigner = email_link.presigning_client(None)
        load_financials(self.financials, io.StringIO(sample.financials_csv.decode("utf-8"), newline=""))
        self.s3.put_object(Bucket=BUCKET, Key=INPUT_KEY, Body=sample.input_csv)
        self.counter = CallCounter()
        for client in (self.s3, self.dynamodb.meta.client, self.dynamodb_client):
            self.counter.watch(client)
        self.email_settings = email_link.EmailSettings(
            sender=SENDER, recipients=("ops@example.com",), link_expiry_seconds=3600
        )


def run_ours(cloud: Cloud) -> dict[str, tuple[float, Calls]]:
    """One file of one chunk through regionflow's tasks, as the workflows run them: ms and calls per step."""
    steps: dict[str, tuple[float, Calls]] = {}

    def step(name: str, call: Callable[[], T]) -> T:
        cloud.counter.take()
        ms, result = timed(call)
        steps[name] = (ms, cloud.counter.take())
        return result

    split = step(
        "split_file",
        lambda: split_file.split_file(
            cloud.s3,
            bucket=BUCKET,
            key=INPUT_KEY,
            version_id=None,
            file_id=FILE_ID,
            records_per_chunk=SAMPLE_ROWS,
        ),
    )
    assert split["chunkCount"] == 1, split
    chunk = {"bucket": BUCKET, "fileId": FILE_ID, "chunkKey": layout.chunk_key(FILE_ID, 1)}
    validation = step(
        "validate_records",
        lambda: validate_records.validate_chunk(chunk, s3=cloud.s3, errors_table=cloud.errors),
    )
    enrichment = step(
        "enrich_records",
        lambda: enrich_records.enrich_chunk(
            {**chunk, "validKey": validation["validKey"]},
            s3=cloud.s3,
            dynamodb=cloud.dynamodb_client,
            financials_table=FINANCIALS_TABLE,
            errors_table=cloud.errors,
        ),
    )
    step(
        "write_chunk",
        lambda: write_chunk.write_chunk(
            {
                **chunk,
                "enrichedKey": enrichment["enrichedKey"],
                "invalidRows": validation["invalidRows"],
                "missingFinancials": enrichment["missingFinancials"],
            },
            s3=cloud.s3,
        ),
    )
    merged = step(
        "merge_chunks",
        lambda: merge_chunks.merge_chunks(
            cloud.s3, bucket=BUCKET, key=INPUT_KEY, file_id=FILE_ID, chunk_count=1
        ),
    )
    step(
        "email_link",
        lambda: email_link.email_download_link(
            cloud.presigner,
            cloud.ses,
            cloud.email_settings,
            bucket=BUCKET,
            key=INPUT_KEY,
            output_key=merged["outputKey"],
            rows=merged["rows"],
            invalid_rows=merged["invalidRows"],
            missing_financials=merged["missingFinancials"],
        ),
    )
    # Powertools keeps metrics in class-level storage shared by every Metrics: the tasks ran without
    # their handlers, so nothing flushes them.
    validate_records.metrics.clear_metrics()
    return steps


def seed_read(s3: Any, chunk_key: str) -> str:
    """The seed's "Read": the chunk as the JSON array of records its Lambda returns into the state."""
    rows = validate_records.read_chunk_rows(
        get_text(s3, BUCKET, chunk_key, written_by="the split"), chunk_key=chunk_key
    )
    return json.dumps([dict(zip(RECORD_FIELDS, row.cells, strict=False)) for row in rows])


def seed_validate(record: Mapping[str, Any]) -> bool:
    """The seed's "Validate Data" Lambda: one Powertools validate of one record."""
    try:
        validate(event=record, schema=RECORD_SCHEMA)
    except SchemaValidationError:
        return False
    return True


def seed_write(s3: Any, payload: str, key: str) -> None:
    """The seed's "Write output file": the Map's output (records with their financial data) as CSV."""
    lines = [csv_line(OUTPUT_HEADER)]
    lines.extend(csv_line(output_cells(row["record"], row["financials"])) for row in json.loads(payload))
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(lines).encode("utf-8"))


def seed_map_output(cloud: Cloud) -> str:
    """What the seed's "Process messages" Map hands "Write output file": each valid record with its
    financial data (prepared with our batch reads: only the write is timed)."""
    chunk_key = layout.chunk_key(FILE_ID, 1)
    text = get_text(cloud.s3, BUCKET, chunk_key, written_by="the split")
    valid = validate_records.validate_rows(validate_records.read_chunk_rows(text, chunk_key=chunk_key)).valid
    found = financials.get_many(cloud.dynamodb_client, FINANCIALS_TABLE, (r["uuid"] for _, r in valid))
    return json.dumps([{"record": r, "financials": found.get(r["uuid"])} for _, r in valid])


def run_seed_chunk(cloud: Cloud, map_output: str) -> dict[str, tuple[float, float]]:
    """The seed's per-chunk Lambdas on the same chunk, once: (ms, of which in AWS requests) per step."""
    cloud.counter.take()
    read_ms, _ = timed(lambda: seed_read(cloud.s3, layout.chunk_key(FILE_ID, 1)))
    read_aws_ms = cloud.counter.take().aws_ms
    write_ms, _ = timed(lambda: seed_write(cloud.s3, map_output, f"seed/{layout.part_name(1)}.csv"))
    return {"seed_read": (read_ms, read_aws_ms), "seed_write": (write_ms, cloud.counter.take().aws_ms)}


def split_requests(chunks: int, *, manifest: bool) -> dict[str, float]:
    """split_file: one streamed GET of the input, one PUT per chunk, one PUT of the manifest."""
    return {"GetObject": 1, "PutObject": chunks + (1 if manifest else 0)}


def merge_requests(chunks: int, output_bytes: int) -> dict[str, float]:
    """merge_chunks: list the parts (1,000 keys a page), GET each, then one PUT or a multipart upload."""
    requests: dict[str, float] = {"ListObjectsV2": math.ceil(chunks / 1000), "GetObject": chunks}
    if output_bytes < merge_chunks.UPLOAD_PART_BYTES:
        return {**requests, "PutObject": 1}
    parts = math.ceil(output_bytes / merge_chunks.UPLOAD_PART_BYTES)
    return {**requests, "CreateMultipartUpload": 1, "UploadPart": parts, "CompleteMultipartUpload": 1}


def check_request_model(
    cloud: Cloud, processed_key: str
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Split and merge of CHECK_CHUNKS chunks, counted, next to what split_requests/merge_requests say."""
    cloud.counter.take()
    split_file.split_file(
        cloud.s3,
        bucket=BUCKET,
        key=INPUT_KEY,
        version_id=None,
        file_id=CHECK_FILE_ID,
        records_per_chunk=SAMPLE_ROWS // CHECK_CHUNKS,
    )
    split_counted = cloud.counter.take().of("s3")
    for part in range(1, CHECK_CHUNKS + 1):  # the same processed part CHECK_CHUNKS times, metadata kept
        cloud.s3.copy_object(
            Bucket=BUCKET,
            Key=layout.processed_key(CHECK_FILE_ID, layout.part_name(part)),
            CopySource={"Bucket": BUCKET, "Key": processed_key},
        )
    cloud.counter.take()
    merged = merge_chunks.merge_chunks(
        cloud.s3, bucket=BUCKET, key=INPUT_KEY, file_id=CHECK_FILE_ID, chunk_count=CHECK_CHUNKS
    )
    merge_counted = cloud.counter.take().of("s3")
    output_bytes = cloud.s3.head_object(Bucket=BUCKET, Key=merged["outputKey"])["ContentLength"]
    validate_records.metrics.clear_metrics()
    return {
        "split": (split_counted, split_requests(CHECK_CHUNKS, manifest=True)),
        "merge": (merge_counted, merge_requests(CHECK_CHUNKS, output_bytes)),
    }


def measure(sample: BatchSample) -> Measured:
    with mock_aws():
        cloud = Cloud(sample)
        run_ours(cloud)  # warm-up: imports, compiled schema, allocator
        map_output = seed_map_output(cloud)
        run_seed_chunk(cloud, map_output)
        ours = [run_ours(cloud) for _ in range(RUNS)]
        seed = [run_seed_chunk(cloud, map_output) for _ in range(RUNS)]
        ms = {name: statistics.median(run[name][0] for run in ours) for name in ours[0]}
        ms |= {name: statistics.median(run[name][0] for run in seed) for name in seed[0]}
        calls = {name: calls for name, (_, calls) in ours[-1].items()}
        aws_ms = {name: statistics.median(run[name][1].aws_ms for run in ours) for name in ours[0]}
        aws_ms |= {name: statistics.median(run[name][1] for run in seed) for name in seed[0]}

        records = json.loads(seed_read(cloud.s3, layout.chunk_key(FILE_ID, 1)))[:PER_RECORD_SAMPLES]
        ms["seed_validate"] = statistics.median(timed(partial(seed_validate, r))[0] for r in records)
        valid = [r["uuid"] for r in records if seed_validate(r)]
        cloud.counter.take()
        ms["seed_financials_api"] = statistics.median(
            timed(partial(financials.get_one, cloud.financials, u))[0] for u in valid
        )
        lookups = cloud.counter.take()
        calls["seed_financials_api"] = lookups.times(1 / len(valid))
        aws_ms["seed_financials_api"] = calls["seed_financials_api"].aws_ms

        processed_key = layout.processed_key(FILE_ID, layout.part_name(1))
        part_bytes = cloud.s3.head_object(Bucket=BUCKET, Key=processed_key)["ContentLength"]
        check = check_request_model(cloud, processed_key)
    return Measured(
        ms=ms, aws_ms=aws_ms, calls=calls, processed_part_bytes=part_bytes, request_model_check=check
    )


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
    for (kind, arn), count in usage.executions.items():
        if kind != EXPRESS:
            continue
        one = execution_usage(workload.machines[arn], workload, label=arn)
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
    chunk_definition = chunk_processor.build_definition(**OURS_CHUNK)
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
        workload=lambda chunks: Workload(
            map_items={"Process chunks": chunks},
            machines={OURS_MAIN["chunk_processor_arn"]: Machine(chunk_definition, facts.chunk_type)},
        ),
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


CHUNK_STEPS = ("validate_records", "enrich_records", "write_chunk")


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
