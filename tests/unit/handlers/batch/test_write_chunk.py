"""Write output chunk, and the three chunk tasks chained as the chunk processor runs them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from handlers.batch import contract, enrich_records, validate_records, write_chunk
from handlers.batch.chunk_work import ChunkTaskInputError, WorkFileMissingError, put_json_lines
from handlers.batch.records import OUTPUT_HEADER
from samples.batch_records import FORMULA_CELLS, generate_batch

from ..conftest import FakeLambdaContext
from .chunk_fixtures import FILE_ID, ChunkCloud, chunk_cloud_fixture, input_rows  # noqa: F401

CHUNK_KEY = contract.chunk_key(FILE_ID, 2)
ENRICHED_KEY = contract.enriched_key(FILE_ID, "part-00002")
RECORD = {
    "uuid": "535113847",
    "country": "Congo, Democratic Republic of the",
    "itemType": "Snacks, Dried",
    "salesChannel": "Online",
    "orderPriority": "C",
    "orderDate": "10/8/14",
    "region": "Sub-Saharan Africa",
    "shipDate": "10/23/14",
}
FINANCIALS = {
    "unitsSold": "934",
    "unitPrice": "152.58",
    "unitCost": "97.44",
    "totalRevenue": "142509.72",
    "totalCost": "91008.96",
    "totalProfit": "51500.76",
}


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def write_input(cloud: ChunkCloud, **counts: Any) -> dict[str, Any]:
    return {
        **cloud.chunk_input(CHUNK_KEY),
        "enrichedKey": ENRICHED_KEY,
        "invalidRows": 0,
        "missingFinancials": 0,
        **counts,
    }


def test_the_three_tasks_chained_turn_a_1000_row_chunk_into_963_enriched_output_rows(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a 1,000-row chunk with 37 invalid rows, and financial data for all valid uuids but 5
    sample = generate_batch(1000, 37, seed=11, missing_financials=5)
    chunk_cloud.load_financials(sample.financials_csv)
    chunk_key = chunk_cloud.put_chunk(input_rows(sample), part=4)
    chunk = chunk_cloud.chunk_input(chunk_key)
    # WHEN the chunk processor runs its three tasks, passing on what its definition passes on
    validation = validate_records.lambda_handler(chunk, lambda_context)
    enrichment = enrich_records.lambda_handler({**chunk, "validKey": validation["validKey"]}, lambda_context)
    output = write_chunk.lambda_handler(
        {
            **chunk,
            "enrichedKey": enrichment["enrichedKey"],
            "invalidRows": validation["invalidRows"],
            "missingFinancials": enrichment["missingFinancials"],
        },
        lambda_context,
    )
    # THEN the processed chunk holds the 963 valid rows in input order with their financial columns
    output_key = contract.processed_key(FILE_ID, "part-00004")
    assert output == {"outputChunkKey": output_key, "rows": 963}
    header, *rows = csv_rows(chunk_cloud.text(output_key))
    assert tuple(header) == OUTPUT_HEADER
    assert [tuple(row) for row in rows] == list(sample.expected_output_rows)
    # AND its metadata carries the chunk's counts for the merge step
    metadata = chunk_cloud.s3.head_object(Bucket=chunk_cloud.bucket, Key=output_key)["Metadata"]
    assert metadata == {"valid-rows": "963", "invalid-rows": "37", "missing-financials": "5"}
    # AND the errors table holds 37 validation errors and 5 missing-financials errors, each with a reason
    errors = chunk_cloud.errors()
    assert [int(item["rowNumber"]) for item in errors if item["stage"] == "validate"] == list(
        sample.invalid_row_numbers
    )
    assert sorted(item["reason"] for item in errors if item["stage"] == "enrich") == sorted(
        f"no financial data for uuid {uuid}" for uuid in sample.missing_uuids
    )
    assert len(errors) == 42 and all(item["reason"] for item in errors)


def test_input_cells_that_start_like_formulas_reach_the_output_as_text(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a chunk whose valid rows include cells a spreadsheet would run (=HYPERLINK, DDE, -2+3, ...)
    sample = generate_batch(200, 7, seed=3, formula_rows=2 * len(FORMULA_CELLS))
    chunk_cloud.load_financials(sample.financials_csv)
    chunk = chunk_cloud.chunk_input(chunk_cloud.put_chunk(input_rows(sample), part=2))
    # WHEN the chunk processor runs its three tasks
    validation = validate_records.lambda_handler(chunk, lambda_context)
    enrichment = enrich_records.lambda_handler({**chunk, "validKey": validation["validKey"]}, lambda_context)
    output = write_chunk.lambda_handler(
        {
            **chunk,
            "enrichedKey": enrichment["enrichedKey"],
            "invalidRows": validation["invalidRows"],
            "missingFinancials": enrichment["missingFinancials"],
        },
        lambda_context,
    )
    # THEN those rows are valid input and are in the output, each formula cell behind a single quote
    assert (validation["invalidRows"], output["rows"]) == (7, 193)
    _, *rows = csv_rows(chunk_cloud.text(output["outputChunkKey"]))
    assert [tuple(row) for row in rows] == list(sample.expected_output_rows)
    shown = {cell for row in rows for cell in row if cell.startswith("'")}
    assert shown == {written for _, _, written in FORMULA_CELLS}
    # AND no cell of the file starts like a formula any more
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_a_negative_figure_stays_a_number_while_a_formula_in_a_figure_is_text(
    chunk_cloud: ChunkCloud,
) -> None:
    # GIVEN an enriched row at a loss, and one whose financial data holds a formula instead of a figure
    loss = {**FINANCIALS, "totalProfit": "-1500.25"}
    forged = {**FINANCIALS, "unitPrice": "=1+1", "totalProfit": "-2+3"}
    put_json_lines(
        chunk_cloud.s3,
        chunk_cloud.bucket,
        ENRICHED_KEY,
        [
            {"rowNumber": 1, "record": RECORD, "financials": loss},
            {"rowNumber": 2, "record": RECORD, "financials": forged},
        ],
    )
    # WHEN the output chunk is written
    result = write_chunk.write_chunk(write_input(chunk_cloud), s3=chunk_cloud.s3)
    # THEN the loss is written as the number it is, and the forged figures as quoted text
    assert csv_rows(chunk_cloud.text(result["outputChunkKey"]))[1:] == [
        [*RECORD.values(), *loss.values()],
        [*RECORD.values(), *{**forged, "unitPrice": "'=1+1", "totalProfit": "'-2+3"}.values()],
    ]


def test_cells_with_commas_quotes_and_non_ascii_survive_the_csv(chunk_cloud: ChunkCloud) -> None:
    # GIVEN an enriched row with commas, a quote and non-ASCII letters, and one without financial data
    record = {**RECORD, "country": "Côte d'Ivoire", "itemType": 'Snacks, "Dried"'}
    put_json_lines(
        chunk_cloud.s3,
        chunk_cloud.bucket,
        ENRICHED_KEY,
        [
            {"rowNumber": 1, "record": RECORD, "financials": FINANCIALS},
            {"rowNumber": 2, "record": record, "financials": None},
        ],
    )
    # WHEN the output chunk is written
    result = write_chunk.write_chunk(
        write_input(chunk_cloud, invalidRows=3, missingFinancials=1), s3=chunk_cloud.s3
    )
    # THEN a CSV reader gets every cell back; the row without financial data has blank financial columns
    assert result == {"outputChunkKey": contract.processed_key(FILE_ID, "part-00002"), "rows": 2}
    assert csv_rows(chunk_cloud.text(result["outputChunkKey"]))[1:] == [
        [*RECORD.values(), *FINANCIALS.values()],
        [*record.values(), "", "", "", "", "", ""],
    ]
    head = chunk_cloud.s3.head_object(Bucket=chunk_cloud.bucket, Key=result["outputChunkKey"])
    assert head["Metadata"] == {"valid-rows": "2", "invalid-rows": "3", "missing-financials": "1"}
    assert head["ContentType"] == "text/csv; charset=utf-8"


def test_a_chunk_with_no_valid_rows_is_a_header_only_csv(chunk_cloud: ChunkCloud) -> None:
    put_json_lines(chunk_cloud.s3, chunk_cloud.bucket, ENRICHED_KEY, [])
    result = write_chunk.write_chunk(write_input(chunk_cloud, invalidRows=1000), s3=chunk_cloud.s3)
    assert result["rows"] == 0
    assert csv_rows(chunk_cloud.text(result["outputChunkKey"])) == [list(OUTPUT_HEADER)]


@pytest.mark.parametrize("count", ["3", -1, None, True])
def test_a_task_input_without_a_proper_count_fails(chunk_cloud: ChunkCloud, count: Any) -> None:
    with pytest.raises(ChunkTaskInputError, match="invalidRows must be a count"):
        write_chunk.write_chunk(write_input(chunk_cloud, invalidRows=count), s3=chunk_cloud.s3)


def test_a_missing_enriched_file_fails_naming_the_step_that_writes_it(chunk_cloud: ChunkCloud) -> None:
    with pytest.raises(WorkFileMissingError, match='written by "Enrich records"'):
        write_chunk.write_chunk(write_input(chunk_cloud), s3=chunk_cloud.s3)
