"""Keep a message that could not go through: the full document to S3 (failures/), a notice to the DLQ.

Used by the ingest API when Redis or the workflow is unavailable (the raw request is kept) and by the
workflow's failure path (the internal message, its error and whatever payload Redis still holds). Both
writes are attempted whatever happens to the other; the caller decides what a partial salvage means.
A retry is safe: the object key is fixed per message, and a duplicate notice names the same object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

NOTICE_EXCLUDED_FIELDS = ("payload", "body")  # the DLQ (256 KB a message) gets a pointer, not the bytes


class SalvageFailedError(Exception):
    """Neither the failures object nor the DLQ notice could be written: the message is not kept."""


@dataclass(frozen=True)
class SalvageResult:
    bucket: str
    key: str
    stored: bool  # the failures object (with the payload) is in S3
    queued: bool  # the notice is in the DLQ
    problems: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.stored and self.queued


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def salvage(
    document: Mapping[str, Any], *, s3: S3Client, sqs: SQSClient, bucket: str, key: str, dlq_url: str
) -> SalvageResult:
    """Write document to s3://bucket/key (SSE) and a notice (document less the bytes) to the DLQ."""
    problems: list[str] = []
    stored = queued = False
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=_json_bytes(document),
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
        stored = True
    except (ClientError, BotoCoreError) as error:
        problems.append(f"writing s3://{bucket}/{key} failed: {error}")
    notice = {name: value for name, value in document.items() if name not in NOTICE_EXCLUDED_FIELDS}
    notice.update(
        {
            "failureBucket": bucket,
            "failureKey": key,
            "failureObjectStored": stored,
            "salvageProblems": problems,
        }
    )
    try:
        sqs.send_message(QueueUrl=dlq_url, MessageBody=_json_bytes(notice).decode("utf-8"))
        queued = True
    except (ClientError, BotoCoreError) as error:
        problems.append(f"sending the notice to {dlq_url} failed: {error}")
    return SalvageResult(bucket=bucket, key=key, stored=stored, queued=queued, problems=tuple(problems))


def salvage_or_raise(
    document: Mapping[str, Any], *, s3: S3Client, sqs: SQSClient, bucket: str, key: str, dlq_url: str
) -> SalvageResult:
    """salvage(), raising SalvageFailedError when nothing at all could be written."""
    result = salvage(document, s3=s3, sqs=sqs, bucket=bucket, key=key, dlq_url=dlq_url)
    if not result.stored and not result.queued:
        raise SalvageFailedError(
            f"message {document.get('messageId')} could not be salvaged: {'; '.join(result.problems)}"
        )
    return result
