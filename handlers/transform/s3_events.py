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
    version_id: str | None = None  # the version the event announces, in a bucket that keeps versions
    sequencer: str | None = None  # S3's order of the writes of one key
    writer: str | None = None  # the principal S3 says wrote it

    @property
    def write_id(self) -> str | None:
        """Which write of the key: its version id, or the event's sequencer in a bucket without versions."""
        return self.version_id or self.sequencer


def s3_objects_in(notification: Mapping[str, Any]) -> Iterator[ObjectRef]:
    """The objects an S3 notification names; none for the s3:TestEvent S3 sends on configuration."""
    if notification.get("Event") == "s3:TestEvent":
        return
    for record in S3Event(dict(notification)).records:
        written = record.s3.get_object
        yield ObjectRef(
            bucket=record.s3.bucket.name,
            # Keys arrive URL-encoded with '+' for spaces.
            key=unquote_plus(written.key),
            # Test events may leave out what S3 always sends: read both with .get.
            version_id=written.version_id,
            sequencer=written.get("sequencer"),
            writer=(record.get("userIdentity") or {}).get("principalId") or None,
        )
