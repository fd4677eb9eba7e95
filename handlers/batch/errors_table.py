"""The batch errors table: one item per input row that could not be processed, and why.

Key (fileId S, rowNumber N), as handlers/batch/contract.py declares it: a chunk retried by the workflow
rewrites the same items, so a row is never counted twice. `stage` says which task rejected the row
("validate": it broke the record schema; "enrich": no financial data for its uuid), `reason` says why in
words a user can act on, `field` names the schema field when one is to blame, and `row` keeps the raw
cells exactly as uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handlers.batch.contract import ERRORS_KEY, ERRORS_SORT_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STAGE_VALIDATE = "validate"
STAGE_ENRICH = "enrich"
STAGES = frozenset({STAGE_VALIDATE, STAGE_ENRICH})

# Keeps an item far below DynamoDB's 400 KB limit whatever a malformed row or message contains; a row
# cut to fit is flagged `rowTruncated` so a reader knows the cells are not the whole row.
MAX_REASON_CHARS = 2000
MAX_ROW_CHARS = 100_000


@dataclass(frozen=True)
class RowError:
    """One rejected input row."""

    file_id: str
    row_number: int
    chunk_key: str
    stage: str
    reason: str
    row: tuple[str, ...]
    field: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {sorted(STAGES)}, got {self.stage!r}")

    def to_item(self, recorded_at: str) -> dict[str, Any]:
        cells, truncated = _bounded(self.row)
        item: dict[str, Any] = {
            ERRORS_KEY: self.file_id,
            ERRORS_SORT_KEY: self.row_number,
            "chunkKey": self.chunk_key,
            "stage": self.stage,
            "reason": self.reason[:MAX_REASON_CHARS],
            "row": cells,
            "recordedAt": recorded_at,
        }
        if self.field:
            item["field"] = self.field
        if truncated:
            item["rowTruncated"] = True
        return item


def _bounded(cells: Sequence[str]) -> tuple[list[str], bool]:
    kept: list[str] = []
    budget = MAX_ROW_CHARS
    for cell in cells:
        if len(cell) > budget:
            kept.append(cell[:budget])
            return kept, True
        kept.append(cell)
        budget -= len(cell)
    return kept, False


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_errors(table: Table, errors: Iterable[RowError], *, now: datetime | None = None) -> int:
    """Put one item per error through a boto3 Table resource's batch_writer; returns how many.

    batch_writer sends BatchWriteItem 25 items at a time and resends UnprocessedItems itself; a row
    listed twice keeps its last error (BatchWriteItem rejects two puts of one key in a request).
    """
    recorded_at = _iso_utc(now or datetime.now(UTC))
    count = 0
    with table.batch_writer(overwrite_by_pkeys=[ERRORS_KEY, ERRORS_SORT_KEY]) as writer:
        for error in errors:
            writer.put_item(Item=error.to_item(recorded_at))
            count += 1
    return count


def errors_for_file(table: Table, file_id: str) -> list[dict[str, Any]]:
    """Every error item of one file, in row order, following every page of the query."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "KeyConditionExpression": f"{ERRORS_KEY} = :file",
        "ExpressionAttributeValues": {":file": file_id},
    }
    while True:
        page = table.query(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
