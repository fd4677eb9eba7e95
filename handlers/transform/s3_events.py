"""The buffer queue's messages: S3 notifications naming uploaded objects, read by the worker and the DLQ
consumer alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str


def s3_objects_in(notification: Mapping[str, Any]) -> Iterator[ObjectRef]:
    """The objects an S3 notification names; none for the s3:TestEvent S3 sends on configuration."""
    if notification.get("Event") == "s3:TestEvent":
        return
    for record in S3Event(dict(notification)).records:
        # Keys arrive URL-encoded with '+' for spaces.
        yield ObjectRef(bucket=record.s3.bucket.name, key=unquote_plus(record.s3.get_object.key))
