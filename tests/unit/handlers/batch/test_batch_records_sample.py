"""samples/batch_records.py: deterministic, in the guidance's format, and its answers are right."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from handlers.batch.records import FINANCIAL_HEADER, INPUT_HEADER, RECORD_SCHEMA, record_from_cells
from samples.batch_records import FORMULA_CELLS, INVALID_KINDS, generate_batch, main

from .chunk_fixtures import input_rows

US_DATE = re.compile(r"(1[0-2]|[1-9])/(3[01]|[12][0-9]|[1-9])/[0-9]{2}")


def financial_lines(financials_csv: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(financials_csv.decode("utf-8"), newline="")))


def test_the_same_arguments_give_the_same_bytes_and_another_seed_other_bytes() -> None:
    assert generate_batch(500, 20, missing_financials=3) == generate_batch(500, 20, missing_financials=3)
    assert generate_batch(500, 20, seed=1).input_csv != generate_batch(500, 20, seed=2).input_csv


def test_the_input_file_is_in_the_guidance_format_with_quoted_commas() -> None:
    # GIVEN a 1,000-row sample
    sample = generate_batch(1000, 37)
    text = sample.input_csv.decode("utf-8")
    # THEN the header is exactly the guidance's and the dates are M/D/YY
    assert text.split("\r\n", 1)[0] == ",".join(INPUT_HEADER)
    assert all(US_DATE.fullmatch(row[5]) and US_DATE.fullmatch(row[7]) for row in sample.expected_output_rows)
    # AND cells with commas are quoted, and non-ASCII names are there
    for quoted in (
        '"Snacks, Dried"',
        '"Household, Large"',
        '"Congo, Democratic Republic of the"',
        '"Korea, South"',
    ):
        assert quoted in text
    assert "Middle East and North Africa" in text and not text.isascii()


def test_valid_rows_meet_the_schema_and_each_invalid_row_breaks_it_as_its_kind_says() -> None:
    # GIVEN a sample with every kind of invalid row several times
    sample = generate_batch(1000, 37)
    rows = dict(input_rows(sample))
    validator = Draft7Validator(RECORD_SCHEMA)
    invalid = dict(zip(sample.invalid_row_numbers, sample.invalid_kinds, strict=True))
    # THEN valid rows pass and invalid ones fail in the kind's field (or by their column count)
    assert set(sample.invalid_kinds) == set(INVALID_KINDS)
    for number, cells in rows.items():
        kind = invalid.get(number)
        if kind is None:
            assert validator.is_valid(record_from_cells(cells)), number
        elif INVALID_KINDS[kind] is None:
            assert len(cells) != len(INPUT_HEADER), kind
        else:
            (error,) = validator.iter_errors(record_from_cells(cells))
            assert list(error.path) == [INVALID_KINDS[kind]], kind


def test_invalid_rows_are_spread_through_the_whole_file() -> None:
    sample = generate_batch(1000, 37)
    numbers = sample.invalid_row_numbers
    assert len(set(numbers)) == 37 and list(numbers) == sorted(numbers)
    # One in each 1/37th of the file: none of the tenths of the file is without one.
    assert {(number - 1) // 100 for number in numbers} == set(range(10))


def test_uuids_are_unique_and_valid_ones_numeric_with_at_most_9_digits() -> None:
    sample = generate_batch(2000, 50)
    uuids = [cells[0] for _, cells in input_rows(sample)]
    assert len(set(uuids)) == 2000
    assert all(row[0].isdigit() and len(row[0]) <= 9 for row in sample.expected_output_rows)


def test_financials_have_one_line_per_uuid_except_the_missing_ones() -> None:
    # GIVEN a sample with 6 valid uuids left out of the financial data
    sample = generate_batch(1000, 37, missing_financials=6)
    header, *lines = financial_lines(sample.financials_csv)
    uuids = {cells[0] for _, cells in input_rows(sample)}
    # THEN the file has the financial header and a line for every other uuid
    assert tuple(header) == FINANCIAL_HEADER
    assert len(sample.missing_uuids) == 6
    assert sorted(line[0] for line in lines) == sorted(uuids - set(sample.missing_uuids))
    # AND the missing uuids are valid rows, whose expected output has blank financial columns
    expected = {row[0]: row for row in sample.expected_output_rows}
    assert all(expected[uuid][len(INPUT_HEADER) :] == ("",) * 6 for uuid in sample.missing_uuids)


def test_expected_output_rows_carry_consistent_financial_columns() -> None:
    sample = generate_batch(500, 10)
    by_uuid = {line[0]: line[1:] for line in financial_lines(sample.financials_csv)[1:]}
    assert len(sample.expected_output_rows) == 490
    for row in sample.expected_output_rows:
        units, price, cost, revenue, total_cost, profit = row[len(INPUT_HEADER) :]
        assert list(row[len(INPUT_HEADER) :]) == by_uuid[row[0]]
        assert Decimal(units) * Decimal(price) == Decimal(revenue)
        assert Decimal(units) * Decimal(cost) == Decimal(total_cost)
        assert Decimal(revenue) - Decimal(total_cost) == Decimal(profit)
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", price)


def test_formula_rows_are_valid_and_expected_in_the_output_as_quoted_text() -> None:
    # GIVEN a sample with twice as many formula rows as there are formula cells
    sample = generate_batch(200, 10, missing_financials=4, formula_rows=2 * len(FORMULA_CELLS))
    rows = dict(input_rows(sample))
    validator = Draft7Validator(RECORD_SCHEMA)
    expected_by_uuid = {row[0]: row for row in sample.expected_output_rows}
    # THEN each formula row meets the schema and carries one formula cell, every one of them in turn
    planted = []
    for number in sample.formula_row_numbers:
        record = record_from_cells(rows[number])
        assert validator.is_valid(record), number
        [(field, uploaded)] = [
            (field, value)
            for field, value in record.items()
            if any(value == cell for _, cell, _ in FORMULA_CELLS)
        ]
        planted.append((field, uploaded))
        # AND its expected output row holds that cell behind a single quote, the other cells as uploaded
        [output] = [shown for name, cell, shown in FORMULA_CELLS if (name, cell) == (field, uploaded)]
        expected = expected_by_uuid[record["uuid"]]
        assert expected[: len(INPUT_HEADER)] == tuple(
            output if name == field else value for name, value in record.items()
        )
    assert planted == [(field, cell) for field, cell, _ in FORMULA_CELLS] * 2
    # AND formula rows are neither invalid nor missing financial data
    assert not set(sample.formula_row_numbers) & set(sample.invalid_row_numbers)
    assert not {record_from_cells(rows[number])["uuid"] for number in sample.formula_row_numbers} & set(
        sample.missing_uuids
    )


def test_a_sample_without_formula_rows_has_no_cell_that_starts_like_a_formula() -> None:
    sample = generate_batch(1000, 37, missing_financials=5)
    assert sample.formula_row_numbers == ()
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        for row in sample.expected_output_rows
        for cell in row
    )


@pytest.mark.parametrize(
    ("rows", "invalid", "missing", "formulas", "message"),
    [
        (10, 11, 0, 0, "invalid_rows <= rows"),
        (10, 5, 6, 0, "missing_financials must be between 0 and the 5"),
        (10, 5, 2, 4, "formula_rows must be between 0 and the 3"),
    ],
)
def test_impossible_arguments_are_refused(
    rows: int, invalid: int, missing: int, formulas: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate_batch(rows, invalid, missing_financials=missing, formula_rows=formulas)


def test_the_cli_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                *("--rows", "100", "--invalid", "4", "--missing-financials", "2", "--formula-rows", "3"),
                *("--out-dir", str(tmp_path)),
            ]
        )
        == 0
    )
    sample = generate_batch(100, 4, missing_financials=2, formula_rows=3)
    assert (tmp_path / "testfile.csv").read_bytes() == sample.input_csv
    assert (tmp_path / "financials.csv").read_bytes() == sample.financials_csv
    assert "(100 rows, 4 invalid)" in capsys.readouterr().out
