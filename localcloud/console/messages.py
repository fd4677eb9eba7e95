"""What left or piled up in the messaging services: SNS messages published, emails SES sent, and the
messages waiting in dead-letter queues.

All three are read from moto's models. A DLQ is read from the queue's message list, never received:
ReceiveMessage would count a receive on each message, hide it for the visibility timeout and, on a queue
with a redrive policy of its own, move it on.
"""

from __future__ import annotations

import base64
import email
import email.policy
from typing import Any

from localcloud.console.backends import copied, existing, iso_time, listed


def _attribute_text(attribute: Any) -> str:
    # SNS keeps {"Type", "Value"}, SQS {"DataType", "StringValue" | "BinaryValue"}.
    if isinstance(attribute, dict):
        for key in ("Value", "StringValue", "BinaryValue"):
            if key in attribute:
                return _text(attribute[key])
    return _text(attribute)


def _text(value: Any) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)


def _attributes(attributes: Any) -> dict[str, str]:
    return {str(name): _attribute_text(value) for name, value in sorted((attributes or {}).items())}


def sns_messages(limit: int) -> list[dict[str, Any]]:
    """Each topic (by region, then name) with how many messages were published to it and the `limit`
    latest, newest first (moto keeps no publication time)."""
    from moto.sns.models import sns_backends  # noqa: PLC0415 - moto is slow to import

    found = []
    for _, region, backend in existing(sns_backends):
        for topic in copied(backend.topics.values()):
            sent = copied(topic.sent_notifications)
            found.append(
                {
                    "topic": topic.name,
                    "arn": topic.arn,
                    "region": region,
                    "total": len(sent),
                    "messages": [
                        {
                            "messageId": message_id,
                            "subject": subject,
                            "message": message,
                            "attributes": _attributes(attributes),
                        }
                        for message_id, message, subject, attributes, _group in reversed(sent[-limit:])
                    ],
                }
            )
    return sorted(found, key=lambda topic: (topic["region"], topic["topic"]))


def _recipients(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):  # a simple or templated email: To, Cc and Bcc lists
        return [
            str(address)
            for key in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destinations.get(key) or []
        ]
    if isinstance(destinations, list):  # a raw email's recipients, or a bulk email's destinations
        return [
            address
            for destination in destinations
            for address in (
                _recipients(destination.get("Destination"))
                if isinstance(destination, dict)
                else [destination]
            )
        ]
    return []


def _raw_email(raw_data: str | bytes) -> tuple[str, str]:
    """(subject, text) of a MIME message: its plain-text part, else its HTML part as text."""
    parsed = (
        email.message_from_bytes(raw_data, policy=email.policy.default)
        if isinstance(raw_data, bytes)
        else email.message_from_string(raw_data, policy=email.policy.default)
    )
    body_part = parsed.get_body(preferencelist=("plain", "html"))
    if body_part is None:
        return str(parsed.get("Subject", "")), ""
    try:
        body = body_part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        body = body_part.get_payload()
    return str(parsed.get("Subject", "")), str(body)


def _email(message: Any, region: str) -> dict[str, Any]:
    raw_data = getattr(message, "raw_data", None)
    if raw_data is not None:
        subject, body = _raw_email(raw_data)
    elif getattr(message, "template", None) is not None:
        subject, body = f"template {message.template}", str(message.template_data)
    else:
        subject, body = str(getattr(message, "subject", "") or ""), str(getattr(message, "body", "") or "")
    message_id = getattr(message, "id", None) or ", ".join(getattr(message, "ids", []) or [])
    return {
        "messageId": message_id,
        "region": region,
        "source": message.source,
        "to": _recipients(message.destinations),
        "subject": subject,
        "body": body,
    }


def sent_emails(limit: int) -> dict[str, Any]:
    """How many emails SES sent in every region, and the `limit` latest, newest first."""
    from moto.ses.models import ses_backends  # noqa: PLC0415 - moto is slow to import

    sent = [
        (region, message)
        for _, region, backend in existing(ses_backends)
        for message in copied(backend.sent_messages)
    ]
    return {
        "total": len(sent),
        "emails": [_email(message, region) for region, message in reversed(sent[-limit:])],
    }


def _dead_letter_targets() -> dict[str, list[str]]:
    """Queue ARN -> what sends it dead letters: queues' redrive policies, functions' DeadLetterConfig
    and event source mappings' on-failure destinations."""
    from moto.awslambda.models import lambda_backends  # noqa: PLC0415 - moto is slow to import
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    targets: dict[str, list[str]] = {}
    for _, _, backend in existing(sqs_backends):
        for queue in copied(backend.queues.values()):
            target = (queue.redrive_policy or {}).get("deadLetterTargetArn")
            if target:
                targets.setdefault(target, []).append(f"queue {queue.name}")
    for _, _, backend in existing(lambda_backends):
        for function in listed(backend.list_functions):
            # moto ignores DeadLetterConfig; localcloud's Lambda keeps it on the model under this name.
            config = getattr(function, "localcloud_dead_letter_config", None) or {}
            if config.get("TargetArn"):
                targets.setdefault(config["TargetArn"], []).append(f"function {function.function_name}")
        for mapping in copied(backend.list_event_source_mappings("", "")):
            on_failure = ((mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
            if on_failure:
                function_name = str(mapping.function_name)  # a name or an ARN, as the mapping was made
                if function_name.startswith("arn:"):
                    function_name = function_name.split(":")[6]
                targets.setdefault(on_failure, []).append(f"event source mapping of function {function_name}")
    return targets


def _queued_message(message: Any) -> dict[str, Any]:
    return {
        "messageId": message.id,
        "sent": iso_time(message.sent_timestamp),
        "receiveCount": message.approximate_receive_count,
        "attributes": _attributes(message.message_attributes),
        "body": message.body,
    }


def dead_letter_queues(limit: int) -> list[dict[str, Any]]:
    """Every queue that is a dead-letter target (or is named like one: *dlq*), by region then name, with
    what feeds it, how many messages it holds and the `limit` oldest (the ones a redrive takes first)."""
    from moto.sqs.models import sqs_backends  # noqa: PLC0415 - moto is slow to import

    targets = _dead_letter_targets()
    found = []
    for _, region, backend in existing(sqs_backends):
        for queue in copied(backend.queues.values()):
            if queue.queue_arn not in targets and "dlq" not in queue.name.lower():
                continue
            messages = copied(queue._messages)
            found.append(
                {
                    "queue": queue.name,
                    "arn": queue.queue_arn,
                    "region": region,
                    "sources": sorted(targets.get(queue.queue_arn, [])),
                    "total": len(messages),
                    "messages": [_queued_message(message) for message in messages[:limit]],
                }
            )
    return sorted(found, key=lambda queue: (queue["region"], queue["queue"]))
