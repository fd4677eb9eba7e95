"""Fixtures for the chunk processor tasks, the financial data and the batch scripts, in moto.

Imported explicitly by the tests that use them (`from .chunk_fixtures import chunk_cloud_fixture`), so
they never clash with this directory's conftest. The parent conftest (tests/unit/handlers/conftest.py)
has set the fake AWS environment before any of these modules is imported.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import boto3
import pytest
from moto import mock_aws

from handlers.batch import (
    contract,
    enrich_records,
    errors_table,
    financials_api,
    validate_records,
    write_chunk,
)
from handlers.batch.records import CHUNK_HEADER, read_input_rows
from samples import dynamodb_tables as tables
from samples.batch_records import BatchSample
from scripts.load_financials import load_financials

from ..conftest import load_event

REGION: Final = "eu-west-1"
BUCKET = "regionflow-batch-eu-west-1"
ERRORS_TABLE = "regionflow-batch-errors"
FINANCIALS_TABLE = "regionflow-batch-financials"
# The seed's sample row (the AWS guidance's CSV), valid and with financial data in the fixtures.
SEED_ROW = (
    "535113847",
    "Azerbaijan",
    "Snacks",
    "Online",
    "C",
    "10/8/14",
    "Middle East and North Africa",
    "10/23/14",
)
FILE_ID = contract.file_id("input/testfile.csv", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


def chunk_csv(rows: Iterable[tuple[int, Sequence[str]]]) -> bytes:
    """A chunk file as the split step writes it: CHUNK_HEADER, then rowNumber and the raw cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CHUNK_HEADER)
    for row_number, cells in rows:
        writer.writerow([str(row_number), *cells])
    return buffer.getvalue().encode("utf-8")


def input_rows(sample: BatchSample) -> list[tuple[int, list[str]]]:
    """(rowNumber, raw cells) of every data row of a sample's input file, as the split step reads them."""
    return list(read_input_rows(io.StringIO(sample.input_csv.decode("utf-8"), newline="")))


def financials_event(uuid: str) -> dict[str, Any]:
    """GET /financials/{uuid} as API Gateway v2 delivers it (tests/events/batch_financials_get.json)."""
    event = copy.deepcopy(load_event("batch_financials_get.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/financials/{uuid}"
    event["pathParameters"] = {"uuid": uuid}
    return event


@dataclass
class ChunkCloud:
    """The regional bucket, the errors table and the financial-data table, in moto."""

    s3: Any
    dynamodb: Any  # resource
    dynamodb_client: Any
    bucket: str
    errors_table: Any
    financials_table: Any

    def put_chunk(self, rows: Iterable[tuple[int, Sequence[str]]], *, part: int = 1) -> str:
        key = contract.chunk_key(FILE_ID, part)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=chunk_csv(rows))
        return key

    def load_financials(self, csv_bytes: bytes) -> int:
        return load_financials(self.financials_table, io.StringIO(csv_bytes.decode("utf-8"), newline=""))

    def text(self, key: str) -> str:
        return str(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8"))

    def json_lines(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text(key).split("\n") if line]

    def errors(self) -> list[dict[str, Any]]:
        return errors_table.errors_for_file(self.errors_table, FILE_ID)

    def chunk_input(self, chunk_key: str) -> dict[str, Any]:
        """What the chunk processor passes its first task (the Map item)."""
        return {"bucket": self.bucket, "fileId": FILE_ID, "chunkKey": chunk_key}


def _reset_module_state() -> None:
    validate_records.dependencies.cache_clear()
    enrich_records.dependencies.cache_clear()
    write_chunk.s3_client.cache_clear()
    financials_api.financials_table.cache_clear()
    # Powertools keeps metrics in class-level storage: a task called without its handler leaves them behind.
    validate_records.metrics.clear_metrics()


@pytest.fixture(name="chunk_cloud")
def chunk_cloud_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChunkCloud]:
    """A bucket and both tables, plus the environment the component gives the functions; cached clients
    are rebuilt under moto."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**tables.errors_table(ERRORS_TABLE))
        dynamodb.create_table(**tables.financials_table(FINANCIALS_TABLE))
        monkeypatch.setenv("ERRORS_TABLE", ERRORS_TABLE)
        monkeypatch.setenv("FINANCIALS_TABLE", FINANCIALS_TABLE)
        _reset_module_state()
        yield ChunkCloud(
            s3=s3,
            dynamodb=dynamodb,
            dynamodb_client=boto3.client("dynamodb", region_name=REGION),
            bucket=BUCKET,
            errors_table=dynamodb.Table(ERRORS_TABLE),
            financials_table=dynamodb.Table(FINANCIALS_TABLE),
        )
        _reset_module_state()


def emitted_metrics(stdout: str) -> dict[str, Any]:
    """Metric name -> value from the CloudWatch EMF blobs Powertools printed."""
    values: dict[str, Any] = {}
    for line in stdout.splitlines():
        if not line.startswith("{") or "_aws" not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values[metric["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values
