"""Step Functions task "Validate records": check every row of one chunk against the record schema.

Rows that break the schema (or have the wrong number of columns) go to the errors table and do not fail
the chunk; the valid ones go to the chunk's valid file for "Enrich records". Errors raise (a missing
chunk, a chunk not written by the split step, S3 or DynamoDB failures): the workflow retries or catches.

Speed: the rows are validated as one array per call of the compiled schema (handlers/json_schema.py);
fastjsonschema stops at the first bad item and names its index, so a chunk costs one call per invalid row
plus one per VALIDATION_BATCH_ROWS valid rows, and no row is checked twice. A row's
reason is its first violation.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from aws_lambda_powertools.utilities.validation import SchemaValidationError

from handlers.batch import contract
from handlers.batch.chunk_work import get_text, put_json_lines, text_field
from handlers.batch.contract import ValidateSettings
from handlers.batch.errors_table import STAGE_VALIDATE, RowError, record_errors
from handlers.batch.records import CHUNK_HEADER, FIELD_BY_HEADER, RECORD_SCHEMA, record_from_cells
from handlers.json_schema import CompiledSchema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

RECORDS_SCHEMA: dict[str, Any] = {"type": "array", "items": RECORD_SCHEMA}
RECORDS_SCHEMA_CHECK = CompiledSchema(RECORDS_SCHEMA)
VALIDATION_BATCH_ROWS = 1000
COLUMN_BY_FIELD = {field: header for header, field in FIELD_BY_HEADER.items()}

logger = Logger(service="batch-validate-records")
tracer = Tracer(service="batch-validate-records")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


class ChunkFormatError(Exception):
    """The chunk file is not what the split step writes (header or row numbers): a pipeline bug."""


@dataclass(frozen=True)
class ChunkRow:
    row_number: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Rejection:
    row_number: int
    cells: tuple[str, ...]
    reason: str
    field: str | None = None


@dataclass(frozen=True)
class ChunkValidation:
    valid: list[tuple[int, dict[str, str]]]
    invalid: list[Rejection]


@dataclass(frozen=True)
class ValidateDependencies:
    s3: S3Client
    errors_table: Table


@functools.cache
def dependencies() -> ValidateDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = ValidateSettings.from_environment(os.environ)
    return ValidateDependencies(
        s3=boto3.client("s3"), errors_table=boto3.resource("dynamodb").Table(settings.errors_table)
    )


def read_chunk_rows(text: str, *, chunk_key: str) -> list[ChunkRow]:
    """(rowNumber, raw cells) of each row of a chunk file; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != CHUNK_HEADER:
        raise ChunkFormatError(
            f"chunk {chunk_key} must start with the header {','.join(CHUNK_HEADER)}, got "
            f"{','.join(header or [])[:300]!r}; chunk files are written by the split step"
        )
    rows: list[ChunkRow] = []
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        try:
            row_number = int(cells[0])
        except ValueError:
            raise ChunkFormatError(
                f"chunk {chunk_key} line {reader.line_num} has no row number (got {cells[0][:50]!r}); "
                "chunk files are written by the split step"
            ) from None
        rows.append(ChunkRow(row_number, tuple(cells[1:])))
    return rows


def describe_schema_error(error: SchemaValidationError) -> tuple[str, str | None]:
    """(reason a user can act on, schema field or None) for one record's first schema violation."""
    path = list(error.path or [])
    field = str(path[2]) if len(path) > 2 else None
    column = COLUMN_BY_FIELD.get(field or "", field)
    value = error.value
    if column and error.rule == "maxLength" and isinstance(value, str):
        return f"{column} must be at most {error.rule_definition} characters (got {len(value)})", field
    if column and error.rule == "minLength" and error.rule_definition == 1:
        return f"{column} must not be empty", field
    if column and error.rule == "minLength":
        return f"{column} must be at least {error.rule_definition} characters (got {len(str(value))})", field
    # Anything else: Powertools' own words, without the array position that only this module knows.
    message = str(error.validation_message or error.message or error)
    index = f"data[{path[1]}]" if len(path) > 1 else "data"
    return message.replace(f"{index}.", "").replace(index, "record"), field


def _failing_index(error: SchemaValidationError) -> int:
    path = list(error.path or [])
    if len(path) < 2:
        raise error
    return int(path[1])


def first_schema_errors(records: Sequence[dict[str, str]]) -> list[tuple[int, SchemaValidationError]]:
    """(index, first violation) of every record that breaks RECORD_SCHEMA, in order.

    One schema check per batch of records as an array: it stops at the first bad record,
    whose index the error's path names; validation resumes just after it, so no record is checked twice.
    """
    failures: list[tuple[int, SchemaValidationError]] = []
    start = 0
    while start < len(records):
        batch = records[start : start + VALIDATION_BATCH_ROWS]
        try:
            RECORDS_SCHEMA_CHECK.validate(batch)
        except SchemaValidationError as error:
            index = start + _failing_index(error)
            failures.append((index, error))
            start = index + 1
            continue
        start += len(batch)
    return failures


def validate_rows(rows: Sequence[ChunkRow]) -> ChunkValidation:
    """Split a chunk's rows into (rowNumber, record) that meet the schema and rejections with reasons."""
    candidates: list[tuple[int, ChunkRow, dict[str, str]]] = []
    rejected: dict[int, Rejection] = {}
    for position, row in enumerate(rows):
        try:
            candidates.append((position, row, record_from_cells(row.cells)))
        except ValueError as error:
            rejected[position] = Rejection(row.row_number, row.cells, str(error))
    for index, violation in first_schema_errors([record for _, _, record in candidates]):
        position, row, _ = candidates[index]
        reason, field = describe_schema_error(violation)
        rejected[position] = Rejection(row.row_number, row.cells, reason, field)
    return ChunkValidation(
        valid=[(row.row_number, record) for position, row, record in candidates if position not in rejected],
        invalid=[rejected[position] for position in sorted(rejected)],
    )


def validate_chunk(
    event: Mapping[str, Any], *, s3: S3Client, errors_table: Table, now: datetime | None = None
) -> dict[str, Any]:
    """Validate one chunk: valid rows to the valid file, invalid ones to the errors table."""
    bucket = text_field(event, "bucket")
    file_id = text_field(event, "fileId")
    chunk_key = text_field(event, "chunkKey")
    text = get_text(s3, bucket, chunk_key, written_by='the split step ("Split input file")')
    outcome = validate_rows(read_chunk_rows(text, chunk_key=chunk_key))
    valid_key = contract.valid_key(file_id, contract.part_of(chunk_key))
    put_json_lines(
        s3, bucket, valid_key, ({"rowNumber": number, "record": record} for number, record in outcome.valid)
    )
    record_errors(
        errors_table,
        (
            RowError(
                file_id=file_id,
                row_number=rejection.row_number,
                chunk_key=chunk_key,
                stage=STAGE_VALIDATE,
                reason=rejection.reason,
                row=rejection.cells,
                field=rejection.field,
            )
            for rejection in outcome.invalid
        ),
        now=now,
    )
    metrics.add_metric(name=contract.VALID_ROWS, unit=MetricUnit.Count, value=len(outcome.valid))
    metrics.add_metric(name=contract.INVALID_ROWS, unit=MetricUnit.Count, value=len(outcome.invalid))
    return {"validKey": valid_key, "validRows": len(outcome.valid), "invalidRows": len(outcome.invalid)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    result = validate_chunk(event, s3=deps.s3, errors_table=deps.errors_table)
    logger.info("validated chunk", extra={"chunkKey": event.get("chunkKey"), **result})
    return result
