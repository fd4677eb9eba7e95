"""The errors table: one item per rejected row, rewritten (never duplicated) on a retry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.batch.errors_table import (
    MAX_ROW_CHARS,
    STAGE_ENRICH,
    STAGE_VALIDATE,
    RowError,
    record_errors,
)

from .chunk_fixtures import FILE_ID, ChunkCloud, chunk_cloud_fixture  # noqa: F401

NOW = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
ROW = ("1234567890", "Azerbaijan", "", "Online", "C", "10/8/14", "Middle East and North Africa", "10/23/14")
CHUNK_KEY = f"chunks/{FILE_ID}/part-00001.csv"


def rejected(row_number: int, reason: str = "uuid must be at most 9 characters (got 10)") -> RowError:
    return RowError(
        file_id=FILE_ID,
        row_number=row_number,
        chunk_key=CHUNK_KEY,
        stage=STAGE_VALIDATE,
        reason=reason,
        row=ROW,
        field="uuid",
    )


def test_a_rejected_row_is_one_item_with_its_reason_field_and_raw_cells(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a row rejected by validation (one of its cells empty) and one without financial data
    missing = RowError(
        file_id=FILE_ID,
        row_number=9,
        chunk_key=CHUNK_KEY,
        stage=STAGE_ENRICH,
        reason="no financial data for uuid 535113847",
        row=("535113847",),
    )
    # WHEN both are recorded
    count = record_errors(chunk_cloud.errors_table, [rejected(7), missing], now=NOW)
    # THEN each is one item keyed by (fileId, rowNumber), with every cell kept (empty ones too)
    assert count == 2
    assert chunk_cloud.errors() == [
        {
            "fileId": FILE_ID,
            "rowNumber": 7,
            "chunkKey": CHUNK_KEY,
            "stage": "validate",
            "reason": "uuid must be at most 9 characters (got 10)",
            "field": "uuid",
            "row": list(ROW),
            "recordedAt": "2024-06-01T10:00:00.000Z",
        },
        {
            "fileId": FILE_ID,
            "rowNumber": 9,
            "chunkKey": CHUNK_KEY,
            "stage": "enrich",
            "reason": "no financial data for uuid 535113847",
            "row": ["535113847"],
            "recordedAt": "2024-06-01T10:00:00.000Z",
        },
    ]


def test_recording_the_same_rows_again_rewrites_the_same_items(chunk_cloud: ChunkCloud) -> None:
    # GIVEN 60 errors recorded once (more than one BatchWriteItem request of 25)
    errors = [rejected(number) for number in range(1, 61)]
    record_errors(chunk_cloud.errors_table, errors, now=NOW)
    # WHEN a retried chunk records them again
    record_errors(chunk_cloud.errors_table, errors, now=NOW)
    # THEN there are still 60 items, one per row
    assert [item["rowNumber"] for item in chunk_cloud.errors()] == list(range(1, 61))


def test_a_row_listed_twice_in_one_call_keeps_its_last_error(chunk_cloud: ChunkCloud) -> None:
    # BatchWriteItem refuses two puts of one key in a request: the writer must drop the first one
    record_errors(chunk_cloud.errors_table, [rejected(3, "first"), rejected(3, "second")], now=NOW)
    assert [item["reason"] for item in chunk_cloud.errors()] == ["second"]


def test_a_row_too_big_for_an_item_is_cut_to_fit_and_flagged(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a malformed row of 300,000 characters (an item may hold 400 KB)
    huge = RowError(
        file_id=FILE_ID,
        row_number=1,
        chunk_key=CHUNK_KEY,
        stage=STAGE_VALIDATE,
        reason="x" * 5000,
        row=("a" * 150_000, "b" * 150_000),
    )
    # WHEN it is recorded
    record_errors(chunk_cloud.errors_table, [huge], now=NOW)
    # THEN the item holds the first MAX_ROW_CHARS characters and says it was cut
    (item,) = chunk_cloud.errors()
    assert sum(len(cell) for cell in item["row"]) == MAX_ROW_CHARS
    assert item["rowTruncated"] is True and len(item["reason"]) == 2000


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="stage must be one of"):
        RowError(file_id=FILE_ID, row_number=1, chunk_key=CHUNK_KEY, stage="merge", reason="r", row=())
