"""The one SNS message per finished upload: built from its status row, then recorded on that row.

Both consumers of the buffer's messages send it: the worker when it finishes an upload (or finds one
finished whose notice never went out), and the DLQ consumer for an upload the worker never finished.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handlers.transform.upload_status import STATUS_DONE, UploadStatus, UploadStatusTable

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_SNS_SUBJECT_CHARS = 100


def notification_subject(status: str, file_name: str) -> str:
    """SNS subjects must be ASCII without control characters and at most 100 characters."""
    safe_name = "".join(char if " " <= char <= "~" else "?" for char in file_name)
    return f"regionflow transform {status}: {safe_name}"[:MAX_SNS_SUBJECT_CHARS]


def notification_message(status: UploadStatus) -> dict[str, Any]:
    message: dict[str, Any] = {
        "uploadId": status.upload_id,
        "status": status.status,
        "ruleId": status.rule_id,
        "fileName": status.file_name,
    }
    if status.source_key is not None:
        message["sourceKey"] = status.source_key  # a file dropped into the input bucket, where it stays
    if status.status == STATUS_DONE:
        message["outputKey"] = status.output_key
    else:
        message["reason"] = status.reason
    return message


def announce(status: UploadStatus, *, sns: SNSClient, topic_arn: str, statuses: UploadStatusTable) -> None:
    """Publish a finished upload's outcome, then mark its row notified.

    The mark comes after the publish: a publish that fails leaves the row unmarked, so the next delivery
    of the upload's message publishes again. A crash between the two repeats the message once, which
    at-least-once subscribers (SNS's own guarantee) already handle.
    """
    sns.publish(
        TopicArn=topic_arn,
        Subject=notification_subject(status.status, status.file_name),
        Message=json.dumps(notification_message(status), ensure_ascii=False),
        MessageAttributes={"status": {"DataType": "String", "StringValue": status.status}},
    )
    statuses.mark_notified(status.upload_id, now=datetime.now(UTC))
