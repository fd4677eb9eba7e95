"""Spreadsheet formula injection: output cells a spreadsheet would run as a formula are written as text.

Users open the batch output in Excel, LibreOffice or Google Sheets, which evaluate a cell that starts with
=, +, - or @ (and some do after a leading tab or carriage return): an uploaded cell such as
=HYPERLINK("http://x","y") or +cmd|' /C calc'!A0 (DDE) would run on the reader's machine. These cells
meet the record schema (any text within its lengths), so validation keeps them, as it should: they are
the user's data. OWASP's advice for CSV output is to prefix such a cell with a single quote, which
spreadsheets show as text; the data is kept, only its first character is shielded.

Numeric columns are the exception: a negative figure (a loss) starts with "-" and must stay a number.
Only a plain decimal number passes there; anything else in a numeric column is shielded like text.
"""

from __future__ import annotations

import re

# OWASP's list of the characters a spreadsheet may take as the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_PREFIX = "'"
# What the financial columns hold (units and amounts as exported, negative for a loss).
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def neutralise_formula(cell: str, *, numeric: bool = False) -> str:
    """The cell as the output CSV carries it: behind a single quote when it starts like a formula, unless
    the column is numeric and the cell is a plain number."""
    if not cell.startswith(FORMULA_TRIGGERS) or (numeric and _PLAIN_NUMBER.fullmatch(cell)):
        return cell
    return TEXT_PREFIX + cell
