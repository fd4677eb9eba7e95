"""Step Functions task "Merge chunks": processed/<fileId>/part-*.csv -> output/<name>.csv with one header.

Parts are streamed into an S3 multipart upload, so the output's size is not bounded by the function's
memory: at most one upload part (5 MiB, S3's minimum for every part but the last) is buffered. An output
smaller than that is a single PutObject. Counts come from each part's metadata, written by the chunk
workflow's write step. Errors raise (and abort the multipart upload, so no parts are left billed); the
workflow records the message as the batch's FAILED reason.
"""

from __future__ import annotations

import csv
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.batch import contract, records

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

UPLOAD_PART_BYTES = 5 * 1024 * 1024  # S3's minimum size of every multipart part but the last
READ_CHUNK_BYTES = 1024 * 1024
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
SHOWN_MISSING_PARTS = 10
# Part object metadata (x-amz-meta-*) -> result field.
COUNT_METADATA = {
    "valid-rows": "rows",
    "invalid-rows": "invalidRows",
    "missing-financials": "missingFinancials",
}

logger = Logger(service="batch-merge-chunks")
tracer = Tracer(service="batch-merge-chunks")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


class IncompleteChunksError(Exception):
    """The processed parts do not match the chunks the split wrote."""


class InvalidPartError(Exception):
    """A processed part lacks its header or its count metadata."""


class InvalidMergeInputError(Exception):
    """The task input lacks a field the workflow should always pass."""


@dataclass(frozen=True)
class MergeDependencies:
    s3: S3Client


@functools.cache
def dependencies() -> MergeDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    return MergeDependencies(s3=boto3.client("s3"))


def processed_part_keys(s3: S3Client, *, bucket: str, file_id: str, chunk_count: int) -> list[str]:
    """Every processed part's key in part order; raises naming the parts that are missing or unexpected."""
    prefix = contract.processed_prefix(file_id)
    found: set[str] = set()
    # ListObjectsV2 returns at most 1,000 keys a page.
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update(item["Key"] for item in page.get("Contents", []))
    expected = [
        contract.processed_key(file_id, contract.part_name(part)) for part in range(1, chunk_count + 1)
    ]
    missing = [key for key in expected if key not in found]
    unexpected = sorted(found.difference(expected))
    if missing or unexpected:
        problems = []
        if missing:
            shown = ", ".join(contract.part_of(key) for key in missing[:SHOWN_MISSING_PARTS])
            more = (
                f" and {len(missing) - SHOWN_MISSING_PARTS} more"
                if len(missing) > SHOWN_MISSING_PARTS
                else ""
            )
            problems.append(f"{len(missing)} missing ({shown}{more})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected ({', '.join(unexpected[:SHOWN_MISSING_PARTS])})")
        raise IncompleteChunksError(
            f"s3://{bucket}/{prefix} holds {len(found)} processed parts, expected {chunk_count}: "
            f"{'; '.join(problems)}; a chunk workflow did not write its part"
        )
    return expected  # processed_key zero-pads part numbers, so this order is the part order


def _part_counts(metadata: dict[str, str], location: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, field in COUNT_METADATA.items():
        raw = metadata.get(name)
        if raw is None or not (raw.isascii() and raw.isdigit()):
            raise InvalidPartError(
                f"{location} has no usable {name} metadata (got {raw!r}); the write step sets "
                f"{', '.join(COUNT_METADATA)} on every part"
            )
        counts[field] = int(raw)
    return counts


def _part_data(body: StreamingBody, location: str) -> Iterator[bytes]:
    """The part's bytes after its header line, ending with a line break."""
    chunks = body.iter_chunks(READ_CHUNK_BYTES)
    head = b""
    for chunk in chunks:
        head += chunk
        if b"\n" in head:
            break
    header_line, _, rest = head.partition(b"\n")
    header = next(csv.reader([header_line.decode("utf-8", errors="replace")]), [])
    if tuple(cell.strip() for cell in header) != records.OUTPUT_HEADER:
        raise InvalidPartError(
            f"{location} does not start with the output header {','.join(records.OUTPUT_HEADER)}; "
            f"got {header_line[:200]!r}"
        )
    last = b"\n"
    for data in itertools.chain((rest,), chunks):
        if data:
            last = data
            yield data
    if not last.endswith(b"\n"):
        # Parts are concatenated: a part without a final line break would glue its last row to the next.
        yield b"\r\n"


class _OutputWriter:
    """Buffers the output and sends it as one PutObject, or as multipart parts once it passes 5 MiB."""

    def __init__(self, s3: S3Client, *, bucket: str, key: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= UPLOAD_PART_BYTES:
            self._send_part(bytes(self._buffer[:UPLOAD_PART_BYTES]))
            del self._buffer[:UPLOAD_PART_BYTES]

    def _send_part(self, data: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=CSV_CONTENT_TYPE
            )["UploadId"]
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def close(self) -> int:
        """Finish the object; returns the number of multipart parts (0 for a single PutObject)."""
        if self._upload_id is None:
            self._s3.put_object(
                Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer), ContentType=CSV_CONTENT_TYPE
            )
            return 0
        if self._buffer:
            self._send_part(bytes(self._buffer))
            self._buffer.clear()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        return len(self._parts)

    def abort(self) -> None:
        """Best effort, while another error is on its way up: that error, not this one, is the reason."""
        if self._upload_id is None:
            return
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except ClientError:
            logger.exception(
                "could not abort the multipart upload; the bucket's lifecycle rule removes it",
                extra={"key": self._key, "uploadId": self._upload_id},
            )
        self._upload_id = None


def merge_chunks(s3: S3Client, *, bucket: str, key: str, file_id: str, chunk_count: int) -> dict[str, Any]:
    """Concatenate the processed parts under one header into output/<name>; returns the output and counts."""
    output_key = contract.output_key(key)
    part_keys = processed_part_keys(s3, bucket=bucket, file_id=file_id, chunk_count=chunk_count)
    totals = dict.fromkeys(COUNT_METADATA.values(), 0)
    writer = _OutputWriter(s3, bucket=bucket, key=output_key)
    try:
        writer.write(records.csv_line(records.OUTPUT_HEADER).encode("utf-8"))
        for part_key in part_keys:
            location = f"s3://{bucket}/{part_key}"
            response = s3.get_object(Bucket=bucket, Key=part_key)
            for field, count in _part_counts(response.get("Metadata", {}), location).items():
                totals[field] += count
            for data in _part_data(response["Body"], location):
                writer.write(data)
        upload_parts = writer.close()
    except BaseException:
        writer.abort()
        raise
    metrics.add_metric(name=contract.FILES_PROCESSED, unit=MetricUnit.Count, value=1)
    logger.info(
        "chunks merged",
        extra={
            "key": key,
            "outputKey": output_key,
            "chunks": chunk_count,
            "uploadParts": upload_parts,
            **totals,
        },
    )
    return {"outputKey": output_key, **totals, "chunkCount": chunk_count}


def _text_field(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidMergeInputError(f"merge input has no {name} (got {value!r})")
    return value


def _chunk_count(event: dict[str, Any]) -> int:
    value = event.get("chunkCount")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidMergeInputError(f"merge input chunkCount must be a positive integer (got {value!r})")
    return value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return merge_chunks(
        dependencies().s3,
        bucket=_text_field(event, "bucket"),
        key=_text_field(event, "key"),
        file_id=_text_field(event, "fileId"),
        chunk_count=_chunk_count(event),
    )
