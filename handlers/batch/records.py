"""The batch record: the CSV users bring, the schema each row must meet, and the enriched output row.

Input files carry the AWS guidance's header (`uuid,Country,Item Type,...`); inside the pipeline a row is a
dict keyed by schema field names (`uuid`, `country`, `itemType`, ...). Output rows carry the input columns
under their original names, then the financial columns, with any cell that starts like a spreadsheet
formula written as text (handlers/batch/csv_safety.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from handlers.batch.csv_safety import neutralise_formula

INPUT_HEADER: tuple[str, ...] = (
    "uuid",
    "Country",
    "Item Type",
    "Sales Channel",
    "Order Priority",
    "Order Date",
    "Region",
    "Ship Date",
)
FIELD_BY_HEADER: dict[str, str] = {
    "uuid": "uuid",
    "Country": "country",
    "Item Type": "itemType",
    "Sales Channel": "salesChannel",
    "Order Priority": "orderPriority",
    "Order Date": "orderDate",
    "Region": "region",
    "Ship Date": "shipDate",
}
RECORD_FIELDS: tuple[str, ...] = tuple(FIELD_BY_HEADER[header] for header in INPUT_HEADER)
FINANCIAL_FIELDS: tuple[str, ...] = (
    "unitsSold",
    "unitPrice",
    "unitCost",
    "totalRevenue",
    "totalCost",
    "totalProfit",
)
FINANCIAL_HEADER: tuple[str, ...] = ("uuid", *FINANCIAL_FIELDS)
OUTPUT_HEADER: tuple[str, ...] = (*INPUT_HEADER, *FINANCIAL_FIELDS)
# Chunk files written by the split step: the 1-based data row number, then the raw cells as uploaded.
CHUNK_HEADER: tuple[str, ...] = ("rowNumber", *RECORD_FIELDS)

# The seed's record schema: every field a required, non-empty string with the seed's length limits.
MAX_LENGTHS: dict[str, int] = {
    "uuid": 9,
    "country": 50,
    "itemType": 30,
    "salesChannel": 10,
    "orderPriority": 5,
    "orderDate": 10,
    "region": 100,
    "shipDate": 10,
}
RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "BatchRecord",
    "type": "object",
    "required": list(RECORD_FIELDS),
    "additionalProperties": False,
    "properties": {
        field: {"type": "string", "minLength": 1, "maxLength": MAX_LENGTHS[field]} for field in RECORD_FIELDS
    },
}

UTF8_BOM = "\ufeff"


class InputFormatError(ValueError):
    """The uploaded file is not a batch CSV (wrong or missing header): nothing in it can be processed."""


def check_header(cells: Sequence[str]) -> None:
    """Accept the guidance's header (surrounding spaces and case ignored, a UTF-8 BOM stripped)."""
    seen = [cell.strip().lower() for cell in cells]
    if seen and seen[0].startswith(UTF8_BOM):
        seen[0] = seen[0][len(UTF8_BOM) :]
    if seen != [header.lower() for header in INPUT_HEADER]:
        raise InputFormatError(
            f"the first line must be the header {','.join(INPUT_HEADER)}; got {','.join(cells)[:300]!r}"
        )


def read_input_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(rowNumber, raw cells) for each data row of an input CSV, numbered from 1; blank lines skipped.

    `lines` may be any iterable of text lines (a decoded streaming body): the csv module keeps quoted
    fields that contain commas or line breaks together, and CRLF line ends are accepted.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise InputFormatError(f"the file is empty; expected the header {','.join(INPUT_HEADER)}")
    check_header(header)
    row_number = 0
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        row_number += 1
        yield row_number, cells


def record_from_cells(cells: Sequence[str]) -> dict[str, str]:
    """The schema-shaped record for one row; raises ValueError naming the column count if it is off."""
    if len(cells) != len(RECORD_FIELDS):
        raise ValueError(
            f"row has {len(cells)} columns, expected {len(RECORD_FIELDS)} ({','.join(INPUT_HEADER)})"
        )
    return dict(zip(RECORD_FIELDS, cells, strict=True))


def output_cells(record: dict[str, str], financials: dict[str, str] | None) -> list[str]:
    """One output CSV row: input columns in header order, then the financial columns (blank if missing).

    Users open the output in spreadsheets: a cell that starts like a formula is written as text. Every
    input column is text (RECORD_SCHEMA: strings); the financial columns are numbers, so a negative
    figure stays one there."""
    values = [neutralise_formula(record.get(field, "")) for field in RECORD_FIELDS]
    figures = [
        neutralise_formula((financials or {}).get(field, ""), numeric=True) for field in FINANCIAL_FIELDS
    ]
    return values + figures


def csv_line(cells: Sequence[str]) -> str:
    """One CSV line (RFC 4180 quoting, CRLF end), as csv.writer writes it."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
