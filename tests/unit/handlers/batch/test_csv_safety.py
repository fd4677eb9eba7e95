"""Spreadsheet formula injection: an output cell that a spreadsheet would run is written as text."""

from __future__ import annotations

import pytest

from handlers.batch.csv_safety import neutralise_formula


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        # OWASP's cases: a formula, DDE, arithmetic, a function, and a start hidden behind tab or CR.
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # A text column holds text: even a cell that reads as a negative number is kept as written.
        ("-5", "'-5"),
        # Anything else is written as it came.
        ("Germany", "Germany"),
        ("Sub-Saharan Africa", "Sub-Saharan Africa"),
        ("Snacks, Dried", "Snacks, Dried"),
        ("10/8/14", "10/8/14"),
        ("'already text", "'already text"),
        ("", ""),
    ],
)
def test_a_text_cell_that_starts_like_a_formula_is_prefixed_with_a_quote(cell: str, written: str) -> None:
    assert neutralise_formula(cell) == written


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        # Figures stay numbers a spreadsheet can sum, a loss included.
        ("934", "934"),
        ("152.50", "152.50"),
        ("-1500.25", "-1500.25"),
        ("", ""),
        # Anything in a numeric column that is not a plain number gets no pass.
        ("-2+3", "'-2+3"),
        ("=1+1", "'=1+1"),
        ("+5", "'+5"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-1\n=1+1", "'-1\n=1+1"),
    ],
)
def test_a_numeric_cell_keeps_a_plain_number_even_a_negative_one(cell: str, written: str) -> None:
    assert neutralise_formula(cell, numeric=True) == written
