"""Lambda durations and AWS requests of both designs, measured in-process under moto."""

from __future__ import annotations

import io
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate
from moto import mock_aws

from bench.batch_cost.settings import (
    BUCKET,
    CHECK_CHUNKS,
    CHECK_FILE_ID,
    ERRORS_TABLE,
    FILE_ID,
    FINANCIALS_TABLE,
    INPUT_KEY,
    PER_RECORD_SAMPLES,
    REGION,
    RUNS,
    SAMPLE_ROWS,
    SENDER,
    T,
)
from handlers.batch import contract as layout
from handlers.batch import (
    email_link,
    enrich_records,
    financials,
    merge_chunks,
    split_file,
    validate_records,
    write_chunk,
)
from handlers.batch.chunk_work import get_text
from handlers.batch.records import OUTPUT_HEADER, RECORD_FIELDS, RECORD_SCHEMA, csv_line, output_cells
from samples import dynamodb_tables
from samples.batch_records import BatchSample
from scripts.load_financials import load_financials


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
        self.dynamodb.create_table(**dynamodb_tables.errors_table(ERRORS_TABLE))
        self.dynamodb.create_table(**dynamodb_tables.financials_table(FINANCIALS_TABLE))
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
        self.email_settings = layout.EmailSettings(
            sender_email=SENDER, recipient_emails=("ops@example.com",), link_expiry_seconds=3600
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
