"""scripts/load_financials.py: loads the financials CSV as strings; a bad file writes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from handlers.batch.financials import get_many
from handlers.batch.records import INPUT_HEADER
from samples.batch_records import generate_batch
from scripts.load_financials import load_financials, main

from .chunk_fixtures import FINANCIALS_TABLE, REGION, ChunkCloud, chunk_cloud_fixture  # noqa: F401

HEADER = b"uuid,unitsSold,unitPrice,unitCost,totalRevenue,totalCost,totalProfit"


def test_loading_puts_one_item_per_line_with_the_values_as_written(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a generated financials file for 260 orders (more than ten BatchWriteItem requests)
    sample = generate_batch(260, 0, seed=2)
    # WHEN it is loaded
    count = load_financials(
        chunk_cloud.financials_table, io.StringIO(sample.financials_csv.decode(), newline="")
    )
    # THEN every line is an item whose fields read back exactly as the file has them
    assert count == 260
    found = get_many(chunk_cloud.dynamodb, FINANCIALS_TABLE, [row[0] for row in sample.expected_output_rows])
    assert [tuple(found[row[0]].values()) for row in sample.expected_output_rows] == [
        row[len(INPUT_HEADER) :] for row in sample.expected_output_rows
    ]


def test_a_uuid_listed_twice_keeps_its_last_line(chunk_cloud: ChunkCloud) -> None:
    lines = io.StringIO(f"{HEADER.decode()}\n7,1,1.00,1.00,1.00,1.00,0.00\n7,2,1.00,1.00,2.00,2.00,0.00\n")
    assert load_financials(chunk_cloud.financials_table, lines) == 2
    assert chunk_cloud.financials_table.scan()["Items"] == [
        {
            "uuid": "7",
            "unitsSold": "2",
            "unitPrice": "1.00",
            "unitCost": "1.00",
            "totalRevenue": "2.00",
            "totalCost": "2.00",
            "totalProfit": "0.00",
        }
    ]


def test_the_cli_loads_a_file_with_a_bom_and_crlf_and_prints_the_count(
    chunk_cloud: ChunkCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a file saved by a spreadsheet: UTF-8 BOM, CRLF line ends
    path = tmp_path / "financials.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + HEADER + b"\r\n535113847,934,152.58,97.44,142509.72,91008.96,51500.76\r\n"
    )
    # WHEN the CLI loads it
    code = main(["--table", FINANCIALS_TABLE, "--region", REGION, "--file", str(path)])
    # THEN it succeeds, says how many it loaded, and the item is there
    assert code == 0
    assert f"loaded 1 financial records from {path} into table {FINANCIALS_TABLE}" in capsys.readouterr().out
    assert (
        get_many(chunk_cloud.dynamodb, FINANCIALS_TABLE, ["535113847"])["535113847"]["totalProfit"]
        == "51500.76"
    )


def test_a_bad_file_exits_2_naming_the_line_and_writes_nothing(
    chunk_cloud: ChunkCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a file whose 40th line is short, after 38 good ones
    good = b"".join(f"{n},1,1.00,1.00,1.00,1.00,0.00\n".encode() for n in range(38))
    path = tmp_path / "financials.csv"
    path.write_bytes(HEADER + b"\n" + good + b"99,1,1.00\n")
    # WHEN the CLI is given it
    code = main(["--table", FINANCIALS_TABLE, "--region", REGION, "--file", str(path)])
    # THEN it exits 2 naming the line, and the table is still empty
    assert code == 2
    assert "financials line 40 has 3 columns, expected 7" in capsys.readouterr().err
    assert chunk_cloud.financials_table.scan()["Items"] == []
