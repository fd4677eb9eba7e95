"""Deterministic batch input and financial data for tests, benchmarks and the demo.

    python -m samples.batch_records --rows 1000 --invalid 37 --out-dir /tmp/batch
        [--missing-financials 5] [--formula-rows 6] [--seed 0]

writes testfile.csv (the AWS guidance's header, `M/D/YY` dates, quoted cells with commas, non-ASCII
country names) and financials.csv (one line per uuid, except the valid uuids left out on purpose).
The invalid rows are spread through the file and cycle through the kinds in INVALID_KINDS; formula rows
are valid rows with one text cell that a spreadsheet would run as a formula (FORMULA_CELLS).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from handlers.batch.records import (
    FINANCIAL_FIELDS,
    FINANCIAL_HEADER,
    INPUT_HEADER,
    RECORD_FIELDS,
)

# Region -> countries, as in the guidance's sample file; some names carry commas or non-ASCII letters.
_COUNTRIES_BY_REGION: dict[str, tuple[str, ...]] = {
    "Middle East and North Africa": ("Azerbaijan", "Libya", "Morocco", "Saudi Arabia", "Iran"),
    "Sub-Saharan Africa": (
        "Côte d'Ivoire",
        "Congo, Democratic Republic of the",
        "Mali",
        "São Tomé and Príncipe",
    ),
    "Europe": ("Bosnia and Herzegovina", "Iceland", "Germany", "Macedonia", "Åland Islands"),
    "Asia": ("Korea, South", "Mongolia", "Sri Lanka", "Vietnam"),
    "Central America and the Caribbean": ("Saint Kitts and Nevis", "Trinidad and Tobago", "Honduras"),
    "Australia and Oceania": ("Federated States of Micronesia", "Solomon Islands", "Tuvalu"),
    "North America": ("Canada", "Mexico", "Greenland"),
}
_REGIONS = tuple(_COUNTRIES_BY_REGION)
# Item type -> (unit price, unit cost) in cents.
_ITEM_TYPES: dict[str, tuple[int, int]] = {
    "Snacks": (15258, 9744),
    "Snacks, Dried": (15250, 9740),
    "Cosmetics": (43720, 26333),
    "Office Supplies": (65121, 52496),
    "Baby Food": (25528, 15942),
    "Personal Care": (8173, 5667),
    "Clothes": (10928, 3584),
    "Cereal": (20570, 11711),
    "Beverages": (4745, 3179),
    "Fruits": (933, 692),
    "Meat": (42189, 36469),
    "Household, Large": (66827, 50254),
    "Vegetables": (15406, 9093),
}
_ITEM_NAMES = tuple(_ITEM_TYPES)
_SALES_CHANNELS = ("Online", "Offline")
_PRIORITIES = ("C", "H", "L", "M")
_FIRST_ORDER_DATE = date(2010, 1, 1)
_ORDER_DAYS = 8 * 365
_MAX_SHIP_DAYS = 50

# The ways a generated row breaks the record schema, in the order they are used: kind -> field to blame
# (None: the row has the wrong number of columns).
INVALID_KINDS: dict[str, str | None] = {
    "uuid too long": "uuid",
    "country too long": "country",
    "empty itemType": "itemType",
    "too few columns": None,
    "orderPriority too long": "orderPriority",
    "salesChannel too long": "salesChannel",
    "too many columns": None,
    "region too long": "region",
    "empty shipDate": "shipDate",
    "orderDate too long": "orderDate",
}
_KIND_NAMES = tuple(INVALID_KINDS)

# Cells that meet the record schema yet start like a spreadsheet formula (OWASP's CSV injection cases:
# a formula, DDE, arithmetic, a function, and a formula behind a tab or a carriage return), used in turn
# by the formula rows: (field, cell as uploaded, cell as the output must carry it: text, behind a quote).
FORMULA_CELLS: tuple[tuple[str, str, str], ...] = (
    ("country", '=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("itemType", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("region", "-2+3", "'-2+3"),
    ("salesChannel", "@SUM(A1)", "'@SUM(A1)"),
    ("country", "\t=1+1", "'\t=1+1"),
    ("region", "\r=1+1", "'\r=1+1"),
)


@dataclass(frozen=True)
class BatchSample:
    input_csv: bytes
    financials_csv: bytes
    invalid_row_numbers: tuple[int, ...]  # 1-based data row numbers, ascending
    invalid_kinds: tuple[str, ...]  # INVALID_KINDS key of each invalid row, same order
    expected_output_rows: tuple[tuple[str, ...], ...]  # OUTPUT_HEADER cells of each valid row, in order
    missing_uuids: tuple[str, ...]  # valid rows' uuids left out of financials_csv, in row order
    formula_row_numbers: tuple[int, ...] = ()  # valid rows holding a FORMULA_CELLS cell, ascending

    @property
    def rows(self) -> int:
        return len(self.expected_output_rows) + len(self.invalid_row_numbers)


def _money(cents: int) -> str:
    # Integer cents keep every figure exact; `9330.50` keeps its trailing zero as real exports do.
    return f"{cents // 100}.{cents % 100:02d}"


def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year % 100:02d}"


def _valid_cells(rng: random.Random, uuid: str) -> list[str]:
    region = rng.choice(_REGIONS)
    ordered = _FIRST_ORDER_DATE + timedelta(days=rng.randrange(_ORDER_DAYS))
    return [
        uuid,
        rng.choice(_COUNTRIES_BY_REGION[region]),
        rng.choice(_ITEM_NAMES),
        rng.choice(_SALES_CHANNELS),
        rng.choice(_PRIORITIES),
        _us_date(ordered),
        region,
        _us_date(ordered + timedelta(days=rng.randrange(_MAX_SHIP_DAYS + 1))),
    ]


# Values a real export might hold that are longer than the schema allows.
_TOO_LONG: dict[str, str] = {
    "country": "United Kingdom of Great Britain and Northern Ireland, The",
    "orderPriority": "Critical",
    "salesChannel": "Marketplace",
    "orderDate": "2014-10-08T09:30:00Z",
    "region": "Middle East and North Africa, including the Gulf Cooperation Council states, the Levant "
    "and the Maghreb",
}


def _break(cells: list[str], kind: str, number: int) -> list[str]:
    """The row's cells broken the way `kind` says; `number` (the row number) keeps broken uuids unique."""
    broken = list(cells)
    position = {field: index for index, field in enumerate(RECORD_FIELDS)}
    if kind == "uuid too long":
        broken[0] = str(1_000_000_000 + number)
    elif kind == "too few columns":
        broken.pop()
    elif kind == "too many columns":
        broken.append("unexpected")
    elif kind.startswith("empty "):
        broken[position[kind.removeprefix("empty ")]] = ""
    else:
        field = kind.removesuffix(" too long")
        broken[position[field]] = _TOO_LONG[field]
    return broken


def _financial_cells(rng: random.Random, uuid: str, item_type: str) -> list[str]:
    price, cost = _ITEM_TYPES.get(item_type, _ITEM_TYPES["Snacks"])
    units = rng.randint(1, 10_000)
    revenue, total_cost = units * price, units * cost
    return [
        uuid,
        str(units),
        _money(price),
        _money(cost),
        _money(revenue),
        _money(total_cost),
        _money(revenue - total_cost),
    ]


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def generate_batch(
    rows: int, invalid_rows: int, *, seed: int = 0, missing_financials: int = 0, formula_rows: int = 0
) -> BatchSample:
    """`rows` data rows of which `invalid_rows` break the schema and `formula_rows` (other valid rows
    than the `missing_financials` ones) hold a cell that starts like a formula; the same arguments give
    the same bytes, and without formula rows the same bytes as before they existed."""
    if rows < 0 or not 0 <= invalid_rows <= rows:
        raise ValueError(f"need 0 <= invalid_rows <= rows, got rows={rows}, invalid_rows={invalid_rows}")
    if not 0 <= missing_financials <= rows - invalid_rows:
        raise ValueError(
            f"missing_financials must be between 0 and the {rows - invalid_rows} valid rows, "
            f"got {missing_financials}"
        )
    if not 0 <= formula_rows <= rows - invalid_rows - missing_financials:
        raise ValueError(
            f"formula_rows must be between 0 and the {rows - invalid_rows - missing_financials} valid rows "
            f"with financial data, got {formula_rows}"
        )
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    uuids = [str(uuid) for uuid in rng.sample(range(100_000_000, 1_000_000_000), rows)]
    # One invalid row in each of `invalid_rows` equal stretches of the file: spread from start to end.
    invalid_numbers = tuple(
        rng.randrange(part * rows // invalid_rows, (part + 1) * rows // invalid_rows) + 1
        for part in range(invalid_rows)
    )
    kind_by_number = {
        number: _KIND_NAMES[ordinal % len(_KIND_NAMES)] for ordinal, number in enumerate(invalid_numbers)
    }
    valid_numbers = [number for number in range(1, rows + 1) if number not in kind_by_number]
    missing_numbers = set(rng.sample(valid_numbers, missing_financials))
    # Drawn only when asked for, so samples without formula rows keep their bytes.
    formula_numbers = (
        sorted(
            rng.sample([number for number in valid_numbers if number not in missing_numbers], formula_rows)
        )
        if formula_rows
        else []
    )
    formula_by_number = {
        number: FORMULA_CELLS[ordinal % len(FORMULA_CELLS)] for ordinal, number in enumerate(formula_numbers)
    }
    position = {field: index for index, field in enumerate(RECORD_FIELDS)}

    input_rows: list[Sequence[str]] = [INPUT_HEADER]
    financial_rows: list[list[str]] = []
    expected: list[tuple[str, ...]] = []
    missing_uuids: list[str] = []
    for number, uuid in enumerate(uuids, start=1):
        cells = _valid_cells(rng, uuid)
        financial = _financial_cells(rng, uuid, cells[2])
        kind = kind_by_number.get(number)
        if kind is not None:
            cells = _break(cells, kind, number)
            financial[0] = cells[0]
            financial_rows.append(financial)
        elif number in missing_numbers:
            missing_uuids.append(uuid)
            expected.append((*cells, *([""] * len(FINANCIAL_FIELDS))))
        elif number in formula_by_number:
            field, uploaded, output = formula_by_number[number]
            cells[position[field]] = uploaded
            financial_rows.append(financial)
            output_cells = list(cells)
            output_cells[position[field]] = output
            expected.append((*output_cells, *financial[1:]))
        else:
            financial_rows.append(financial)
            expected.append((*cells, *financial[1:]))
        input_rows.append(cells)
    rng.shuffle(financial_rows)  # the table is looked up by key: its file order means nothing
    return BatchSample(
        input_csv=_csv(input_rows),
        financials_csv=_csv([FINANCIAL_HEADER, *financial_rows]),
        invalid_row_numbers=invalid_numbers,
        invalid_kinds=tuple(kind_by_number[number] for number in invalid_numbers),
        expected_output_rows=tuple(expected),
        missing_uuids=tuple(missing_uuids),
        formula_row_numbers=tuple(formula_numbers),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a deterministic batch input file and its financial data."
    )
    parser.add_argument("--rows", type=int, required=True, help="data rows in testfile.csv")
    parser.add_argument("--invalid", type=int, default=0, help="rows that break the record schema")
    parser.add_argument(
        "--missing-financials", type=int, default=0, help="valid uuids left out of financials.csv"
    )
    parser.add_argument(
        "--formula-rows", type=int, default=0, help="valid rows with a cell that starts like a formula"
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files")
    parser.add_argument(
        "--out-dir", type=Path, required=True, help="directory for testfile.csv and financials.csv"
    )
    args = parser.parse_args(argv)
    try:
        sample = generate_batch(
            args.rows,
            args.invalid,
            seed=args.seed,
            missing_financials=args.missing_financials,
            formula_rows=args.formula_rows,
        )
    except ValueError as error:
        parser.error(str(error))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "testfile.csv").write_bytes(sample.input_csv)
    (args.out_dir / "financials.csv").write_bytes(sample.financials_csv)
    invalid, missing = len(sample.invalid_row_numbers), len(sample.missing_uuids)
    print(
        f"wrote {args.out_dir / 'testfile.csv'} ({sample.rows} rows, {invalid} invalid) "
        f"and {args.out_dir / 'financials.csv'} ({missing} valid uuids left out)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
