"""Blank lines in a chunk's work files are skipped: they hold no row, and every row around them is kept.

The chunk tasks read what the previous step wrote: the split step's CSV chunk (validate_records'
read_chunk_rows) and the JSON-lines valid and enriched files (chunk_work.read_json_lines, read by enrich
and write). Our writers end each row with a newline, so a file ends with an empty line, and a file edited
or re-uploaded by hand to redrive a chunk may carry blank lines, whitespace or CRLF line ends. None of
those is a row: skipping them changes no count and no row number, whereas refusing them would fail a whole
chunk over nothing. A line that holds something and is not a row is still refused, by the CSV reader,
naming the line.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from handlers.batch import contract, validate_records, write_chunk
from handlers.batch.chunk_work import read_json_lines
from handlers.batch.records import CHUNK_HEADER, OUTPUT_HEADER, record_from_cells
from handlers.batch.validate_records import ChunkFormatError, ChunkRow, read_chunk_rows

from ..conftest import FakeLambdaContext
from .chunk_fixtures import FILE_ID, SEED_ROW, ChunkCloud, chunk_cloud_fixture  # noqa: F401

OTHER_ROW = ("100640618", "Norway", "Cereal", "Offline", "M", "10/8/14", "Europe", "11/6/14")
FIRST = {"rowNumber": 2, "record": record_from_cells(SEED_ROW)}
SECOND = {"rowNumber": 5, "record": record_from_cells(OTHER_ROW)}
HEADER = ",".join(CHUNK_HEADER)


def line(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":"))


@pytest.mark.parametrize(
    "text",
    [
        f"{line(FIRST)}\n{line(SECOND)}\n",
        f"\n{line(FIRST)}\n\n\n{line(SECOND)}",
        f"{line(FIRST)}\n   \n\t\n{line(SECOND)}\n \n",
        f"{line(FIRST)}\r\n\r\n{line(SECOND)}\r\n",
    ],
    ids=["trailing-newline", "empty-lines", "whitespace-lines", "crlf"],
)
def test_json_lines_skip_blank_lines_and_keep_every_row_in_order(text: str) -> None:
    # GIVEN a JSON-lines work file with blank or whitespace-only lines around and between its rows
    # WHEN it is read
    # THEN exactly its rows come back, in order
    assert list(read_json_lines(text)) == [FIRST, SECOND]


@pytest.mark.parametrize("text", ["", "\n", "\n\n \r\n"])
def test_a_json_lines_file_of_blank_lines_holds_no_row(text: str) -> None:
    assert list(read_json_lines(text)) == []


@pytest.mark.parametrize(
    "text",
    [
        f"{HEADER}\r\n2,{','.join(SEED_ROW)}\r\n\r\n5,{','.join(OTHER_ROW)}\r\n",
        f"{HEADER}\n\n2,{','.join(SEED_ROW)}\n   \n5,{','.join(OTHER_ROW)}\n\n",
    ],
    ids=["crlf", "lf-and-whitespace"],
)
def test_chunk_csv_rows_skip_blank_lines_and_keep_their_row_numbers(text: str) -> None:
    # GIVEN a chunk file with blank lines between and after its rows
    # WHEN it is read
    # THEN exactly its rows come back, numbered as the split step numbered them
    assert read_chunk_rows(text, chunk_key="chunk") == [ChunkRow(2, SEED_ROW), ChunkRow(5, OTHER_ROW)]


def test_a_chunk_line_of_empty_cells_is_no_blank_line_and_is_refused() -> None:
    # GIVEN a chunk file with a line of empty cells (it holds a row of nothing, not a blank line)
    text = f"{HEADER}\n2,{','.join(SEED_ROW)}\n,,,,,,,,\n"
    # WHEN it is read
    # THEN it is refused, naming the line and who writes chunk files
    with pytest.raises(
        ChunkFormatError, match=r"chunk chunk line 3 has no row number .*written by the split step"
    ):
        read_chunk_rows(text, chunk_key="chunk")


def test_validate_records_counts_no_blank_line_as_a_row(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a chunk file, re-uploaded by hand, with blank lines between its two rows
    chunk_key = contract.chunk_key(FILE_ID, 1)
    text = f"{HEADER}\r\n2,{','.join(SEED_ROW)}\r\n\r\n  \r\n5,{','.join(OTHER_ROW)}\r\n\r\n"
    chunk_cloud.s3.put_object(Bucket=chunk_cloud.bucket, Key=chunk_key, Body=text.encode("utf-8"))
    # WHEN the task validates it
    result = validate_records.lambda_handler(chunk_cloud.chunk_input(chunk_key), lambda_context)
    # THEN both rows are valid, no error is recorded, and the valid file holds them alone
    assert (result["validRows"], result["invalidRows"]) == (2, 0)
    assert chunk_cloud.errors() == []
    assert chunk_cloud.json_lines(result["validKey"]) == [FIRST, SECOND]


def test_write_chunk_counts_no_blank_line_as_a_row(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an enriched file with blank lines between and after its rows (the second without financials)
    enriched_key = contract.enriched_key(FILE_ID, "part-00001")
    financials = {
        "unitsSold": "934",
        "unitPrice": "152.58",
        "unitCost": "97.44",
        "totalRevenue": "142509.72",
        "totalCost": "91008.96",
        "totalProfit": "51500.76",
    }
    rows = [{**FIRST, "financials": financials}, {**SECOND, "financials": None}]
    text = f"\n{line(rows[0])}\n\n \n{line(rows[1])}\n\n"
    chunk_cloud.s3.put_object(Bucket=chunk_cloud.bucket, Key=enriched_key, Body=text.encode("utf-8"))
    event = {
        **chunk_cloud.chunk_input(contract.chunk_key(FILE_ID, 1)),
        "enrichedKey": enriched_key,
        "invalidRows": 0,
        "missingFinancials": 1,
    }
    # WHEN the task writes the output chunk
    result = write_chunk.lambda_handler(event, lambda_context)
    # THEN it holds the header and the two rows, and its counts name two rows, one without financials
    assert result["rows"] == 2
    written = chunk_cloud.s3.get_object(Bucket=chunk_cloud.bucket, Key=result["outputChunkKey"])
    output = list(csv.reader(io.StringIO(written["Body"].read().decode("utf-8"), newline="")))
    assert output[0] == list(OUTPUT_HEADER) and [cells[0] for cells in output[1:]] == [
        "535113847",
        "100640618",
    ]
    assert written["Metadata"] == {"valid-rows": "2", "invalid-rows": "0", "missing-financials": "1"}
