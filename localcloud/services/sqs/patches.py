"""SQS as AWS behaves where moto does not:

- message size: moto counts a message's body in characters and ignores its attributes; SQS counts the
  body's UTF-8 bytes plus every message attribute's name, data type and value (binary values as raw
  bytes), against the queue's MaximumMessageSize, and a batch's messages together against 1 MiB;
- SetQueueAttributes changes only the attributes it names: moto also resets the queue's Policy to none
  whenever a call does not name it (e.g. a VisibilityTimeout change), silently dropping the permissions
  a queue policy grants (S3's and SNS's deliveries among them).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from localcloud.core.moto_version import applied_once

BATCH_LIMIT_BYTES = 1_048_576


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]] | None) -> int:
    """The size SQS limits: body bytes plus each attribute's name, data type and value bytes."""
    size = len(body.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        if "BinaryValue" in attribute:
            value = attribute["BinaryValue"]
            size += len(value if isinstance(value, bytes) else base64.b64decode(value))
        else:
            size += len(str(attribute.get("StringValue", "")).encode())
    return size


@applied_once
def apply() -> None:
    """Idempotent: messages measured as SQS does; SetQueueAttributes keeps what it does not name."""
    from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue  # noqa: PLC0415
    from moto.sqs.models import Queue, SQSBackend  # noqa: PLC0415

    send_message = SQSBackend.send_message
    send_message_batch = SQSBackend.send_message_batch

    def measured_send_message(
        self: Any, queue_name: str, message_body: str, message_attributes: Any = None, **kwargs: Any
    ) -> Any:
        limit = int(self.get_queue(queue_name).maximum_message_size)
        if message_size(message_body, message_attributes) > limit:
            raise InvalidParameterValue(
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )
        return send_message(self, queue_name, message_body, message_attributes, **kwargs)

    def measured_send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        total = sum(
            message_size(entry["MessageBody"], entry.get("MessageAttributes")) for entry in entries.values()
        )
        if total > BATCH_LIMIT_BYTES:
            raise BatchRequestTooLong(total)
        return send_message_batch(self, queue_name, entries)

    set_attributes = Queue._set_attributes

    def set_named_attributes(self: Any, attributes: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        if "Policy" in attributes or not hasattr(self, "_policy_json"):  # named, or the queue is new
            set_attributes(self, attributes, *args, **kwargs)
            return
        policy = self.policy
        set_attributes(self, attributes, *args, **kwargs)
        self.policy = policy

    Queue._set_attributes = set_named_attributes  # type: ignore[method-assign]
    SQSBackend.send_message = measured_send_message  # type: ignore[method-assign,assignment]
    SQSBackend.send_message_batch = measured_send_message_batch  # type: ignore[method-assign]
