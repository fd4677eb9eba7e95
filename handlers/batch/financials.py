"""The financial-data table that enrichment reads: one item per order uuid.

Key `uuid` (S, see handlers/batch/contract.py); the attributes are records.FINANCIAL_FIELDS stored as
strings exactly as they appear in the financials CSV, so `152.50` comes back as `152.50` (a DynamoDB
number or a float would drop the zero or round). Enrichment reads it in BatchGetItem pages; the financials
API reads one item.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from handlers.batch.contract import FINANCIALS_KEY, FinancialsUnavailableError
from handlers.batch.records import FINANCIAL_FIELDS, FINANCIAL_HEADER, UTF8_BOM

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table

Financials = dict[str, str]

# BatchGetItem takes at most 100 keys per request (and returns at most 16 MB; the rest comes back as
# UnprocessedKeys, as do keys the table throttled).
BATCH_GET_MAX_KEYS = 100
DEFAULT_MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 2.0

# Named placeholders: attribute names are data here, and some words are DynamoDB reserved words.
_PROJECTION_NAMES = {f"#f{index}": name for index, name in enumerate(FINANCIAL_HEADER)}
_PROJECTION_EXPRESSION = ", ".join(_PROJECTION_NAMES)


class FinancialsFormatError(ValueError):
    """The financials file is not `uuid,unitsSold,...` CSV: the message names the line and the fix."""


def _check_header(cells: list[str]) -> None:
    seen = [cell.strip().lower() for cell in cells]
    if seen and seen[0].startswith(UTF8_BOM):
        seen[0] = seen[0][len(UTF8_BOM) :]
    if seen != [name.lower() for name in FINANCIAL_HEADER]:
        raise FinancialsFormatError(
            f"the first line of a financials file must be the header {','.join(FINANCIAL_HEADER)}; "
            f"got {','.join(cells)[:300]!r}"
        )


def parse_financials_csv(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """One item (uuid + FINANCIAL_FIELDS, all strings as written) per data line; blank lines skipped.

    `lines` may be any iterable of text lines; quoted cells, CRLF line ends and a UTF-8 BOM are accepted.
    Raises FinancialsFormatError naming the line for a bad header, a wrong column count or no uuid.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise FinancialsFormatError(
            f"the financials file is empty; expected the header {','.join(FINANCIAL_HEADER)}"
        )
    _check_header(header)
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(FINANCIAL_HEADER):
            raise FinancialsFormatError(
                f"financials line {reader.line_num} has {len(cells)} columns, expected "
                f"{len(FINANCIAL_HEADER)} ({','.join(FINANCIAL_HEADER)})"
            )
        if not cells[0].strip():
            raise FinancialsFormatError(f"financials line {reader.line_num} has no uuid")
        yield dict(zip(FINANCIAL_HEADER, cells, strict=True))


def _text(value: Any) -> str:
    """An attribute as text: low-level {"S"}/{"N"} from a client, str/Decimal from a resource."""
    if isinstance(value, Mapping):
        return str(value.get("S", value.get("N", "")))
    return "" if value is None else str(value)


def _financials_of(item: Mapping[str, Any]) -> Financials:
    return {field: _text(item.get(field)) for field in FINANCIAL_FIELDS}


def _backoff_seconds(attempt: int) -> float:
    """Full jitter (AWS Architecture Blog): uniform in [0, min(cap, base * 2^attempt)]."""
    return random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))  # noqa: S311 - jitter


def get_many(
    dynamodb: DynamoDBClient | DynamoDBServiceResource,
    table: str,
    uuids: Iterable[str],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Financials]:
    """{uuid: FINANCIAL_FIELDS} for every uuid the table has; uuids it lacks are simply absent.

    `dynamodb` is a boto3 DynamoDB client or resource. Uuids are de-duplicated and read with BatchGetItem
    100 keys at a time; UnprocessedKeys are requested again (BatchGetItem's protocol) up to `max_attempts`
    requests per page with full-jitter backoff, then FinancialsUnavailableError names what is left.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    # A resource (it has Table()) takes and returns plain values, a client {"S": ...} attribute values.
    # Pass the resource itself, not resource.meta.client: boto3 gives that client the resource's
    # serializer, so it takes plain values although it looks like a client.
    key_of = (
        (lambda uuid: {FINANCIALS_KEY: uuid})
        if hasattr(dynamodb, "Table")
        else (lambda uuid: {FINANCIALS_KEY: {"S": uuid}})
    )
    wanted = list(dict.fromkeys(uuid for uuid in uuids if uuid))
    found: dict[str, Financials] = {}
    for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
        page = wanted[start : start + BATCH_GET_MAX_KEYS]
        request: dict[str, Any] = {
            table: {
                "Keys": [key_of(uuid) for uuid in page],
                "ProjectionExpression": _PROJECTION_EXPRESSION,
                "ExpressionAttributeNames": _PROJECTION_NAMES,
            }
        }
        for attempt in range(max_attempts):
            if attempt:
                sleep(_backoff_seconds(attempt - 1))
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[_text(item[FINANCIALS_KEY])] = _financials_of(item)
            request = {
                name: keys for name, keys in response.get("UnprocessedKeys", {}).items() if keys.get("Keys")
            }
            if not request:
                break
        if request:
            left = len(request.get(table, {}).get("Keys", []))
            raise FinancialsUnavailableError(
                f"{left} of {len(page)} financial-data keys were still unprocessed by table {table} after "
                f"{max_attempts} BatchGetItem attempts; the table is throttling - raise its capacity or "
                "let the workflow retry the task"
            )
    return found


def get_one(table: Table, uuid: str) -> Financials | None:
    """FINANCIAL_FIELDS of one uuid through a boto3 Table resource, or None if the table lacks it."""
    item = table.get_item(
        Key={FINANCIALS_KEY: uuid},
        ProjectionExpression=_PROJECTION_EXPRESSION,
        ExpressionAttributeNames=_PROJECTION_NAMES,
    ).get("Item")
    if item is None:
        return None
    return _financials_of(item)
