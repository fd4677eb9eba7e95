"""Validate records: invalid rows are recorded with a readable reason and never fail the chunk."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate
from jsonschema import Draft7Validator

from handlers.batch import contract, validate_records
from handlers.batch.chunk_work import ChunkTaskInputError, WorkFileMissingError
from handlers.batch.records import RECORD_SCHEMA, record_from_cells
from handlers.batch.validate_records import (
    ChunkFormatError,
    ChunkRow,
    first_schema_errors,
    validate_chunk,
    validate_rows,
)
from samples.batch_records import INVALID_KINDS, generate_batch

from ..conftest import FakeLambdaContext
from .chunk_fixtures import (  # noqa: F401
    FILE_ID,
    SEED_ROW,
    ChunkCloud,
    chunk_cloud_fixture,
    emitted_metrics,
    input_rows,
)
from .conftest import CountingRecordsSchema


def with_cell(field_index: int, value: str) -> tuple[str, ...]:
    cells = list(SEED_ROW)
    cells[field_index] = value
    return tuple(cells)


def test_invalid_rows_are_recorded_and_do_not_fail_the_chunk(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a 1,000-row chunk of which 37 rows break the schema in every way the generator knows
    sample = generate_batch(1000, 37)
    rows = input_rows(sample)
    chunk_key = chunk_cloud.put_chunk(rows)
    # WHEN the task validates it
    result = validate_records.lambda_handler(chunk_cloud.chunk_input(chunk_key), lambda_context)
    # THEN it succeeds with the counts and the key of the valid file
    valid_key = contract.valid_key(FILE_ID, "part-00001")
    assert result == {"validKey": valid_key, "validRows": 963, "invalidRows": 37}
    # AND the valid file holds the 963 other rows, in row order, as schema records
    invalid = set(sample.invalid_row_numbers)
    assert chunk_cloud.json_lines(valid_key) == [
        {"rowNumber": number, "record": record_from_cells(cells)}
        for number, cells in rows
        if number not in invalid
    ]
    # AND every invalid row is one errors-table item with its raw cells, the field to blame and a reason
    errors = chunk_cloud.errors()
    assert [item["rowNumber"] for item in errors] == list(sample.invalid_row_numbers)
    cells_by_number = dict(rows)
    for item, kind in zip(errors, sample.invalid_kinds, strict=True):
        assert item["stage"] == "validate" and item["chunkKey"] == chunk_key
        assert item["row"] == cells_by_number[int(item["rowNumber"])]
        assert item.get("field") == INVALID_KINDS[kind], kind
        assert item["reason"] and "data[" not in item["reason"]
    # AND the counts are published as metrics
    assert emitted_metrics(capsys.readouterr().out) == {"ValidRows": 963.0, "InvalidRows": 37.0}


@pytest.mark.parametrize(
    ("cells", "reason", "field"),
    [
        (with_cell(0, "1234567890"), "uuid must be at most 9 characters (got 10)", "uuid"),
        (with_cell(1, "C" * 51), "Country must be at most 50 characters (got 51)", "country"),
        (with_cell(2, ""), "Item Type must not be empty", "itemType"),
        (with_cell(4, "Urgent"), "Order Priority must be at most 5 characters (got 6)", "orderPriority"),
        (SEED_ROW[:7], "row has 7 columns, expected 8 (uuid,Country,Item Type,", None),
        ((*SEED_ROW, "extra"), "row has 9 columns, expected 8 (uuid,Country,Item Type,", None),
    ],
)
def test_a_rejected_row_gets_a_reason_naming_the_column_and_the_rule(
    cells: tuple[str, ...], reason: str, field: str | None
) -> None:
    # GIVEN one bad row between two good ones
    rows = [ChunkRow(1, SEED_ROW), ChunkRow(2, cells), ChunkRow(3, SEED_ROW)]
    # WHEN the rows are validated
    outcome = validate_rows(rows)
    # THEN the good rows pass and the bad one is rejected in words a user can act on
    assert [number for number, _ in outcome.valid] == [1, 3]
    (rejection,) = outcome.invalid
    assert (rejection.row_number, rejection.cells, rejection.field) == (2, cells, field)
    assert rejection.reason.startswith(reason)


def test_a_row_with_the_wrong_number_of_columns_is_recorded_with_both_counts(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a chunk whose second row lost a cell (an unquoted comma elsewhere would add one)
    chunk_key = chunk_cloud.put_chunk([(1, SEED_ROW), (2, SEED_ROW[:6]), (3, SEED_ROW)])
    # WHEN it is validated
    result = validate_chunk(
        chunk_cloud.chunk_input(chunk_key), s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table
    )
    # THEN the chunk succeeds and the row is an error naming the counts, with its cells as they were
    assert (result["validRows"], result["invalidRows"]) == (2, 1)
    (item,) = chunk_cloud.errors()
    assert item["reason"].startswith("row has 6 columns, expected 8")
    assert item["row"] == list(SEED_ROW[:6]) and "field" not in item


def test_batched_validation_finds_exactly_the_records_an_independent_validator_rejects() -> None:
    # GIVEN the records of a generated 3,000-row file with 240 invalid rows
    records = []
    for _, cells in input_rows(generate_batch(3000, 240, seed=3)):
        try:
            records.append(record_from_cells(cells))
        except ValueError:
            continue
    # WHEN they are validated in batches as arrays
    batched = first_schema_errors(records)
    # THEN the rejected records are exactly those the jsonschema package (another engine) rejects
    oracle = Draft7Validator(RECORD_SCHEMA)
    assert [index for index, _ in batched] == [
        i for i, record in enumerate(records) if not oracle.is_valid(record)
    ]
    # AND each error names the record's own field, as a one-record validate call would
    for index, error in batched[:20]:
        with pytest.raises(SchemaValidationError) as single:
            validate(event=records[index], schema=RECORD_SCHEMA)
        assert (error.path or [])[2:] == (single.value.path or [])[1:] and error.rule == single.value.rule


def test_validation_costs_one_call_per_invalid_row_plus_one_per_batch(
    counting_records_schema: CountingRecordsSchema,
) -> None:
    calls = counting_records_schema.calls
    # GIVEN 2,500 records of which 4 are invalid
    rows = [
        ChunkRow(n, with_cell(0, "1234567890") if n in (10, 11, 1500, 2500) else SEED_ROW)
        for n in range(1, 2501)
    ]
    # WHEN they are validated
    outcome = validate_rows(rows)
    # THEN at most one call per invalid row plus one per VALIDATION_BATCH_ROWS records was made
    assert [rejection.row_number for rejection in outcome.invalid] == [10, 11, 1500, 2500]
    assert len(calls) <= 4 + -(-2500 // validate_records.VALIDATION_BATCH_ROWS)
    assert all(size <= validate_records.VALIDATION_BATCH_ROWS for size in calls)


def test_a_chunk_with_no_valid_rows_still_writes_an_empty_valid_file(chunk_cloud: ChunkCloud) -> None:
    chunk_key = chunk_cloud.put_chunk([(1, with_cell(0, "")), (2, ("only one cell",))])
    result = validate_chunk(
        chunk_cloud.chunk_input(chunk_key), s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table
    )
    assert (result["validRows"], result["invalidRows"]) == (0, 2)
    assert chunk_cloud.text(result["validKey"]) == ""


def test_a_retried_chunk_rewrites_the_same_error_items(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a chunk validated once
    sample = generate_batch(200, 9)
    chunk_key = chunk_cloud.put_chunk(input_rows(sample))
    event = chunk_cloud.chunk_input(chunk_key)
    first = validate_chunk(event, s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table)
    # WHEN the workflow retries the task
    second = validate_chunk(event, s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table)
    # THEN the result is the same and the errors are not duplicated
    assert first == second
    assert len(chunk_cloud.errors()) == 9


def test_a_chunk_not_written_by_the_split_step_fails_the_task(chunk_cloud: ChunkCloud) -> None:
    key = contract.chunk_key(FILE_ID, 1)
    chunk_cloud.s3.put_object(Bucket=chunk_cloud.bucket, Key=key, Body=b"uuid,Country\n1,x\n")
    with pytest.raises(ChunkFormatError, match="must start with the header rowNumber,uuid,country"):
        validate_chunk(chunk_cloud.chunk_input(key), s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table)


def test_a_missing_chunk_fails_naming_the_step_that_writes_it(chunk_cloud: ChunkCloud) -> None:
    event = chunk_cloud.chunk_input(contract.chunk_key(FILE_ID, 7))
    with pytest.raises(
        WorkFileMissingError, match=r"part-00007.csv does not exist; it is written by the split"
    ):
        validate_chunk(event, s3=chunk_cloud.s3, errors_table=chunk_cloud.errors_table)


def test_a_task_input_without_a_chunk_key_fails(chunk_cloud: ChunkCloud) -> None:
    with pytest.raises(ChunkTaskInputError, match="chunk task input has no chunkKey"):
        validate_chunk(
            {"bucket": chunk_cloud.bucket, "fileId": FILE_ID},
            s3=chunk_cloud.s3,
            errors_table=chunk_cloud.errors_table,
        )
