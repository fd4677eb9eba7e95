"""The chunk processor's plumbing shared by its three tasks: task inputs and the work files between them.

Rows travel between the tasks through S3, never through Step Functions state (256 KB limit): the valid
and enriched files are JSON lines, one row per line, in row order. Each task gets a flat JSON object of
names and counts; a missing or mistyped field is a workflow bug, reported as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

JSON_LINES_CONTENT_TYPE = "application/x-ndjson"


class ChunkTaskInputError(Exception):
    """The task input lacks a field the chunk processor workflow always passes."""


class WorkFileMissingError(Exception):
    """A file the previous task should have written is not in the bucket."""


def text_field(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise ChunkTaskInputError(
            f"chunk task input has no {name} (got {value!r}); input was {dict(event)!r}"
        )
    return value


def count_field(event: Mapping[str, Any], name: str) -> int:
    value = event.get(name)
    # bool is an int in Python; a count of True is a workflow bug, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ChunkTaskInputError(
            f"chunk task input {name} must be a count (an integer >= 0), got {value!r}; "
            f"input was {dict(event)!r}"
        )
    return value


def get_text(s3: S3Client, bucket: str, key: str, *, written_by: str) -> str:
    """The UTF-8 text of s3://bucket/key (a leading BOM dropped); a missing object names its writer."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise WorkFileMissingError(
                f"s3://{bucket}/{key} does not exist; it is written by {written_by}: run that step for "
                "this chunk first"
            ) from error
        raise
    return str(body.decode("utf-8-sig"))


def read_json_lines(text: str) -> Iterator[dict[str, Any]]:
    # split("\n"), not splitlines(): JSON leaves U+2028 and U+0085 unescaped and splitlines() breaks on them.
    for line in text.split("\n"):
        if line.strip():
            yield json.loads(line)


def put_json_lines(s3: S3Client, bucket: str, key: str, rows: Iterable[Mapping[str, Any]]) -> None:
    body = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode("utf-8"),
        ContentType=JSON_LINES_CONTENT_TYPE,
    )
