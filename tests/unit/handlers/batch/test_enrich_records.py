"""Enrich records: financial data read in batches; a uuid without any is recorded and its row kept blank."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from handlers.batch import contract, enrich_records, financials
from handlers.batch.chunk_work import WorkFileMissingError, put_json_lines
from handlers.batch.enrich_records import enrich_chunk
from handlers.batch.records import FINANCIAL_FIELDS, RECORD_FIELDS
from localcloud.services.elasticache.redis_server import free_port
from samples.batch_records import generate_batch
from tests.unit.workflows.asl import retrier_for
from workflows import chunk_processor

from ..conftest import FakeLambdaContext
from .chunk_fixtures import (  # noqa: F401
    FILE_ID,
    FINANCIALS_TABLE,
    REGION,
    SEED_ROW,
    ChunkCloud,
    chunk_cloud_fixture,
    emitted_metrics,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHUNK_KEY = contract.chunk_key(FILE_ID, 3)
VALID_KEY = contract.valid_key(FILE_ID, "part-00003")


def put_valid_rows(cloud: ChunkCloud, rows: list[tuple[int, tuple[str, ...]]]) -> None:
    """The valid file "Validate records" writes for chunk 3."""
    put_json_lines(
        cloud.s3,
        cloud.bucket,
        VALID_KEY,
        (
            {"rowNumber": number, "record": dict(zip(RECORD_FIELDS, cells, strict=True))}
            for number, cells in rows
        ),
    )


def valid_rows_of(expected_output_rows: tuple[tuple[str, ...], ...]) -> list[tuple[int, tuple[str, ...]]]:
    # Row numbers with gaps, as if rows between them had been rejected.
    return [(3 * n + 1, row[: len(RECORD_FIELDS)]) for n, row in enumerate(expected_output_rows)]


def enrich_input(cloud: ChunkCloud) -> dict[str, Any]:
    return {**cloud.chunk_input(CHUNK_KEY), "validKey": VALID_KEY}


def test_a_uuid_without_financial_data_is_recorded_and_its_row_kept_blank(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 300 valid rows whose financial data lacks 4 uuids
    sample = generate_batch(300, 0, seed=5, missing_financials=4)
    chunk_cloud.load_financials(sample.financials_csv)
    rows = valid_rows_of(sample.expected_output_rows)
    put_valid_rows(chunk_cloud, rows)
    # WHEN the task enriches them
    result = enrich_records.lambda_handler(enrich_input(chunk_cloud), lambda_context)
    # THEN it succeeds, every row is in the enriched file in order, the 4 with financials null
    enriched_key = contract.enriched_key(FILE_ID, "part-00003")
    assert result == {"enrichedKey": enriched_key, "enrichedRows": 300, "missingFinancials": 4}
    lines = chunk_cloud.json_lines(enriched_key)
    assert [line["rowNumber"] for line in lines] == [number for number, _ in rows]
    for line, expected in zip(lines, sample.expected_output_rows, strict=True):
        assert tuple(line["record"][field] for field in RECORD_FIELDS) == expected[: len(RECORD_FIELDS)]
        if line["record"]["uuid"] in sample.missing_uuids:
            assert line["financials"] is None
        else:
            assert (
                tuple(line["financials"][field] for field in FINANCIAL_FIELDS)
                == expected[len(RECORD_FIELDS) :]
            )
    # AND each missing uuid is an "enrich" error naming it, with the row's cells
    errors = chunk_cloud.errors()
    assert [item["reason"] for item in errors] == [
        f"no financial data for uuid {uuid}" for uuid in sample.missing_uuids
    ]
    assert all(
        item["stage"] == "enrich" and item["field"] == "uuid" and item["chunkKey"] == CHUNK_KEY
        for item in errors
    )
    cells_by_number = dict(rows)
    assert all(tuple(item["row"]) == cells_by_number[int(item["rowNumber"])] for item in errors)
    # AND the MissingFinancials metric counts them
    assert emitted_metrics(capsys.readouterr().out) == {"MissingFinancials": 4.0}


class CountingClient:
    """A DynamoDB client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        self.calls.append(name)
        return attribute


def test_financial_data_is_read_in_batches_not_one_call_per_row(chunk_cloud: ChunkCloud) -> None:
    # GIVEN 450 valid rows, two of them for the same uuid
    sample = generate_batch(450, 0, seed=8)
    chunk_cloud.load_financials(sample.financials_csv)
    rows = valid_rows_of(sample.expected_output_rows)
    rows.append((9999, rows[0][1]))
    put_valid_rows(chunk_cloud, rows)
    client = CountingClient(chunk_cloud.dynamodb_client)
    # WHEN they are enriched
    result = enrich_chunk(
        enrich_input(chunk_cloud),
        s3=chunk_cloud.s3,
        dynamodb=cast("DynamoDBClient", client),  # a test double: passes every call on, counting it
        financials_table=FINANCIALS_TABLE,
        errors_table=chunk_cloud.errors_table,
    )
    # THEN five BatchGetItem calls (450 distinct uuids, 100 a call) were all it took
    assert client.calls == ["batch_get_item"] * 5
    assert (result["enrichedRows"], result["missingFinancials"]) == (451, 0)


def test_financial_values_reach_the_enriched_file_as_the_exact_strings_loaded(
    chunk_cloud: ChunkCloud,
) -> None:
    chunk_cloud.load_financials(
        b"uuid,unitsSold,unitPrice,unitCost,totalRevenue,totalCost,totalProfit\n"
        b"535113847,10,9.50,7.00,95.00,70.00,25.00\n"
    )
    put_valid_rows(
        chunk_cloud,
        [(1, SEED_ROW)],
    )
    result = enrich_chunk(
        enrich_input(chunk_cloud),
        s3=chunk_cloud.s3,
        dynamodb=chunk_cloud.dynamodb_client,
        financials_table=FINANCIALS_TABLE,
        errors_table=chunk_cloud.errors_table,
    )
    (line,) = chunk_cloud.json_lines(result["enrichedKey"])
    assert line["financials"] == {
        "unitsSold": "10",
        "unitPrice": "9.50",
        "unitCost": "7.00",
        "totalRevenue": "95.00",
        "totalCost": "70.00",
        "totalProfit": "25.00",
    }


def test_a_missing_valid_file_fails_naming_the_step_that_writes_it(chunk_cloud: ChunkCloud) -> None:
    with pytest.raises(WorkFileMissingError, match='written by "Validate records"'):
        enrich_chunk(
            enrich_input(chunk_cloud),
            s3=chunk_cloud.s3,
            dynamodb=chunk_cloud.dynamodb_client,
            financials_table=FINANCIALS_TABLE,
            errors_table=chunk_cloud.errors_table,
        )


def enrich_state() -> dict[str, Any]:
    """The chunk processor's "Enrich records" task, which runs this handler."""
    definition = chunk_processor.build_item_processor(
        validate_arn="<validate>", enrich_arn="<enrich>", write_arn="<write>"
    )
    state: dict[str, Any] = definition["States"]["Enrich records"]
    return state


class ThrottledTable:
    """BatchGetItem of a table that is throttling: every key comes back unprocessed."""

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}


def test_a_throttled_financials_table_fails_the_task_with_an_error_the_workflow_retries(
    chunk_cloud: ChunkCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN valid rows, and a financials table that throttles every BatchGetItem
    sample = generate_batch(5, 0, seed=9)
    put_valid_rows(chunk_cloud, valid_rows_of(sample.expected_output_rows))
    # (the handler's own backoff between its attempts is not what this test is about: no pauses)
    monkeypatch.setattr(financials, "_backoff_seconds", lambda attempt: 0.0)
    # WHEN the chunk is enriched
    with pytest.raises(financials.FinancialsUnavailableError) as raised:
        enrich_chunk(
            enrich_input(chunk_cloud),
            s3=chunk_cloud.s3,
            dynamodb=cast("DynamoDBClient", ThrottledTable()),  # a test double: BatchGetItem only
            financials_table=FINANCIALS_TABLE,
            errors_table=chunk_cloud.errors_table,
        )
    # THEN the task fails under a name (Lambda reports the class name) that "Enrich records" retries
    assert retrier_for(enrich_state(), type(raised.value).__name__) is not None


def test_an_unreachable_financials_table_fails_the_task_with_an_error_the_workflow_retries(
    chunk_cloud: ChunkCloud,
) -> None:
    # GIVEN valid rows, and DynamoDB at an address where nothing listens (one attempt: no SDK retries)
    sample = generate_batch(5, 0, seed=9)
    put_valid_rows(chunk_cloud, valid_rows_of(sample.expected_output_rows))
    unreachable = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"total_max_attempts": 1}),
    )
    # WHEN the chunk is enriched
    with pytest.raises(EndpointConnectionError) as raised:
        enrich_chunk(
            enrich_input(chunk_cloud),
            s3=chunk_cloud.s3,
            dynamodb=unreachable,
            financials_table=FINANCIALS_TABLE,
            errors_table=chunk_cloud.errors_table,
        )
    # THEN the task fails under botocore's network error, which "Enrich records" retries
    assert retrier_for(enrich_state(), type(raised.value).__name__) is not None
