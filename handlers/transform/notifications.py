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
    """Publish a finished upload's outcome once: claim the notice on its row, publish, mark it notified.

    Two deliveries of one upload's message at once (SQS redelivers a message whose visibility timeout ran
    out while the first was still working) publish it once: the second finds the claim and stays silent.
    A publish that fails releases the claim, so the next delivery publishes again; a crash between the
    publish and the mark repeats the message once after the claim's lease, which at-least-once
    subscribers (SNS's own guarantee) already handle.
    """
    if not statuses.claim_notice(status.upload_id, now=datetime.now(UTC)):
        return
    try:
        sns.publish(
            TopicArn=topic_arn,
            Subject=notification_subject(status.status, status.file_name),
            Message=json.dumps(notification_message(status), ensure_ascii=False),
            MessageAttributes={"status": {"DataType": "String", "StringValue": status.status}},
        )
    except Exception:
        statuses.release_notice(status.upload_id)
        raise
    statuses.mark_notified(status.upload_id, now=datetime.now(UTC))
