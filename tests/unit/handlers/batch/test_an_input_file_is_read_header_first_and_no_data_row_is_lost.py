"""records.check_header and records.read_input_rows called directly, as any reader of an input CSV does.

The split step decodes with utf-8-sig, so a BOM never reaches the header check there; these tests cover
the guarantees a caller reading plain UTF-8 text relies on (check_header's docstring), the error a wrong
or empty file gets, and which lines count as blank.
"""

from __future__ import annotations

import re

import pytest

from handlers.batch.records import InputFormatError, check_header, read_input_rows

from .chunk_fixtures import SEED_ROW

HEADER_LINE = "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date"
SEED_LINE = "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East and North Africa,10/23/14"
SEED_CELLS = list(SEED_ROW)


def test_a_header_with_a_utf8_bom_is_accepted() -> None:
    # GIVEN the header as a spreadsheet saves it, decoded as plain UTF-8: a BOM before the first cell
    cells = ["\ufeffuuid", *HEADER_LINE.split(",")[1:]]
    # WHEN it is checked THEN it is the guidance's header (no error)
    check_header(cells)


def test_a_header_with_a_bom_is_read_and_its_rows_numbered_from_1() -> None:
    # GIVEN an input file read as plain UTF-8 text, so its first line starts with a BOM
    lines = [f"\ufeff{HEADER_LINE}\r\n", f"{SEED_LINE}\r\n"]
    # WHEN its rows are read THEN the header is recognised and the one data row comes back as row 1
    assert list(read_input_rows(lines)) == [(1, SEED_CELLS)]


def test_a_wrong_header_is_quoted_back_as_the_line_the_user_wrote() -> None:
    # GIVEN a file whose first line is a data row, not the header
    # WHEN it is checked THEN the error names the expected header and quotes the line found, commas and all
    with pytest.raises(InputFormatError, match=re.escape(f"got '{SEED_LINE}'")) as raised:
        check_header(SEED_CELLS)
    assert f"the header {HEADER_LINE};" in str(raised.value)


@pytest.mark.parametrize(
    ("length", "quoted"), [(299, 299), (300, 300), (301, 300)], ids=["under", "at", "over"]
)
def test_a_wrong_header_is_quoted_back_up_to_300_characters(length: int, quoted: int) -> None:
    # GIVEN a first line of 299, 300 or 301 characters that is not the header
    cells = ["x" * length]
    # WHEN it is checked THEN the error quotes the line whole up to 300 characters, and cuts it there
    with pytest.raises(InputFormatError, match=re.escape("; got '" + "x" * quoted + "'") + "$"):
        check_header(cells)


def test_an_empty_file_is_refused_naming_the_header_it_needs() -> None:
    # GIVEN a file with no line at all
    # WHEN its rows are read THEN the error says it is empty and spells out the expected header
    with pytest.raises(
        InputFormatError,
        match=re.escape(
            "the file is empty; expected the header "
            "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date"
        ),
    ):
        list(read_input_rows([]))


def test_a_row_with_one_cell_or_a_blank_first_cell_is_kept_for_validation_to_judge() -> None:
    # GIVEN a file with a row missing its uuid, a row of one cell, a blank line, a line of spaces, and the
    # seed row
    lines = [
        f"{HEADER_LINE}\n",
        ",Azerbaijan,Snacks,Online,C,10/8/14,Middle East and North Africa,10/23/14\n",
        " ,Azerbaijan\n",
        "535113847\n",
        "\n",
        "   \n",
        f"{SEED_LINE}\n",
    ]
    # WHEN its rows are read
    rows = list(read_input_rows(lines))
    # THEN only the blank line and the line of spaces are skipped: the incomplete rows keep their numbers,
    # so validation rejects them by row number instead of their disappearing from the batch
    assert rows == [
        (1, ["", *SEED_CELLS[1:]]),
        (2, [" ", "Azerbaijan"]),
        (3, ["535113847"]),
        (4, SEED_CELLS),
    ]
