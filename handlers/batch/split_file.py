"""Step Functions task "Split input file": the uploaded CSV -> chunk files + a manifest of their keys.

The object is streamed and only one chunk is held in memory, so the file's size is bounded by the task's
time, not the function's memory. Chunk and manifest keys derive from the fileId, so a retried split
overwrites the same objects. Errors raise with the file's name in the message: the workflow records the
message as the batch's FAILED reason.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.batch import contract, records
from handlers.batch.contract import SplitSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef

MAX_PARTS = 10**contract.PART_DIGITS - 1  # beyond this, part names lose their lexicographic order
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

logger = Logger(service="batch-split-file")
tracer = Tracer(service="batch-split-file")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


class EmptyBatchError(Exception):
    """The input file has a header and no data rows: there is nothing to process."""


class TooManyChunksError(Exception):
    """The file needs more chunks than part names can number in order: RECORDS_PER_CHUNK is too small."""


class InvalidSplitInputError(Exception):
    """The task input lacks a field the workflow should always pass."""


@dataclass(frozen=True)
class SplitDependencies:
    s3: S3Client
    records_per_chunk: int


@functools.cache
def dependencies() -> SplitDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = SplitSettings.from_environment(os.environ)
    return SplitDependencies(s3=boto3.client("s3"), records_per_chunk=settings.records_per_chunk)


def _text_field(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidSplitInputError(f"split input has no {name} (got {value!r})")
    return value


def _input_lines(s3: S3Client, *, bucket: str, key: str, version_id: str | None) -> Iterator[str]:
    request: GetObjectRequestTypeDef = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    body = s3.get_object(**request)["Body"]
    # utf-8-sig drops a leading BOM; newline="" hands line ends to the csv module untouched, so quoted
    # line breaks and CRLF survive. The cast: TextIOWrapper reads through read()/readable()/closed, which
    # StreamingBody (an IOBase) has, but typeshed's buffer protocol also asks for write(), truncate() and
    # name, which the botocore stubs do not declare on a read-only body.
    with io.TextIOWrapper(cast("BinaryIO", body), encoding="utf-8-sig", newline="") as text:
        yield from text


def _input_rows(
    s3: S3Client, *, bucket: str, key: str, version_id: str | None
) -> Iterator[tuple[int, list[str]]]:
    """records.read_input_rows over the streamed object, with every format error naming the file."""
    source = f"s3://{bucket}/{key}"
    last_row = 0
    try:
        for row_number, cells in records.read_input_rows(
            _input_lines(s3, bucket=bucket, key=key, version_id=version_id)
        ):
            last_row = row_number
            yield row_number, cells
    except records.InputFormatError as error:
        raise records.InputFormatError(f"{source}: {error}") from error
    except UnicodeDecodeError as error:
        raise records.InputFormatError(
            f"{source} is not UTF-8 text after data row {last_row} ({error.reason}); "
            f"save it as CSV UTF-8 and upload it again"
        ) from error
    except csv.Error as error:
        raise records.InputFormatError(
            f"{source} is not readable CSV after data row {last_row}: {error}"
        ) from error


def _chunks(
    rows: Iterator[tuple[int, list[str]]], records_per_chunk: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == records_per_chunk:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunk_body(chunk: list[tuple[int, list[str]]]) -> bytes:
    lines = [records.csv_line(records.CHUNK_HEADER)]
    lines.extend(records.csv_line([str(row_number), *cells]) for row_number, cells in chunk)
    return "".join(lines).encode("utf-8")


def split_file(
    s3: S3Client, *, bucket: str, key: str, version_id: str | None, file_id: str, records_per_chunk: int
) -> dict[str, Any]:
    """Write chunks of `records_per_chunk` rows and the manifest; {"manifestKey","chunkCount","rowCount"}."""
    chunk_keys: list[str] = []
    row_count = 0
    rows = _input_rows(s3, bucket=bucket, key=key, version_id=version_id)
    for part, chunk in enumerate(_chunks(rows, records_per_chunk), start=1):
        if part > MAX_PARTS:
            raise TooManyChunksError(
                f"s3://{bucket}/{key} needs more than {MAX_PARTS} chunks of {records_per_chunk} rows; "
                f"raise RECORDS_PER_CHUNK"
            )
        chunk_key = contract.chunk_key(file_id, part)
        s3.put_object(Bucket=bucket, Key=chunk_key, Body=_chunk_body(chunk), ContentType=CSV_CONTENT_TYPE)
        chunk_keys.append(chunk_key)
        row_count += len(chunk)
    if not chunk_keys:
        raise EmptyBatchError(
            f"s3://{bucket}/{key} has a header but no data rows; upload a file with at least one row"
        )
    manifest_key = contract.manifest_key(file_id)
    manifest = records.csv_line([contract.MANIFEST_HEADER]) + "".join(
        records.csv_line([chunk_key]) for chunk_key in chunk_keys
    )
    s3.put_object(
        Bucket=bucket, Key=manifest_key, Body=manifest.encode("utf-8"), ContentType=CSV_CONTENT_TYPE
    )
    metrics.add_metric(name=contract.FILES_SPLIT, unit=MetricUnit.Count, value=1)
    logger.info(
        "file split", extra={"key": key, "fileId": file_id, "chunks": len(chunk_keys), "rows": row_count}
    )
    return {"manifestKey": manifest_key, "chunkCount": len(chunk_keys), "rowCount": row_count}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    version_id = event.get("versionId")
    return split_file(
        deps.s3,
        bucket=_text_field(event, "bucket"),
        key=_text_field(event, "key"),
        version_id=str(version_id) if version_id else None,
        file_id=_text_field(event, "fileId"),
        records_per_chunk=deps.records_per_chunk,
    )
