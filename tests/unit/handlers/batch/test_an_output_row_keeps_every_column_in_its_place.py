"""records.output_cells: one output row, input columns in header order then the financial columns.

A cell with nothing to write is blank, never a placeholder and never an error, so every later cell stays
under its own header.
"""

from __future__ import annotations

from handlers.batch.records import output_cells

from .chunk_fixtures import SEED_ROW

FINANCIALS = {
    "unitsSold": "934",
    "unitPrice": "152.58",
    "unitCost": "97.44",
    "totalRevenue": "142509.72",
    "totalCost": "91008.96",
    "totalProfit": "-51500.76",
}


def test_a_record_missing_a_field_gets_a_blank_cell_and_the_later_columns_stay_in_place() -> None:
    # GIVEN a record without its region, and the order's financial data
    record = {
        "uuid": "535113847",
        "country": "Azerbaijan",
        "itemType": "Snacks",
        "salesChannel": "Online",
        "orderPriority": "C",
        "orderDate": "10/8/14",
        "shipDate": "10/23/14",
    }
    # WHEN its output row is built
    cells = output_cells(record, FINANCIALS)
    # THEN the Region column is blank and every other cell is under its header, the loss still a number
    assert cells == [
        "535113847",
        "Azerbaijan",
        "Snacks",
        "Online",
        "C",
        "10/8/14",
        "",
        "10/23/14",
        "934",
        "152.58",
        "97.44",
        "142509.72",
        "91008.96",
        "-51500.76",
    ]


def test_an_order_without_financial_data_gets_blank_financial_columns() -> None:
    # GIVEN a complete record whose uuid has no financial data (none at all, or an item missing a figure)
    record = {
        "uuid": "535113847",
        "country": "Azerbaijan",
        "itemType": "Snacks",
        "salesChannel": "Online",
        "orderPriority": "C",
        "orderDate": "10/8/14",
        "region": "Middle East and North Africa",
        "shipDate": "10/23/14",
    }
    partial = {"unitsSold": "934", "unitPrice": "152.58"}
    # WHEN its output rows are built THEN the input cells are kept and each missing figure is blank
    written = list(SEED_ROW)
    assert output_cells(record, None) == [*written, "", "", "", "", "", ""]
    assert output_cells(record, partial) == [*written, "934", "152.58", "", "", "", ""]
