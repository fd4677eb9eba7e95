"""SQS as AWS behaves: a message is limited by what SQS measures (UTF-8 body bytes plus every attribute's
name, type and value) against the queue's MaximumMessageSize, a batch against 1 MiB; SetQueueAttributes
changes only what it names."""

from __future__ import annotations

import uuid
from typing import Any

import botocore.exceptions
import pytest

from localcloud.core.emulator import Emulator
from tests.unit.localcloud.conftest import REGION

LIMIT = 1024  # the smallest MaximumMessageSize SQS allows, so the boundary is cheap to reach


@pytest.fixture
def queue_url(emulator: Emulator) -> str:
    sqs = emulator.client("sqs", REGION)
    return str(
        sqs.create_queue(
            QueueName=f"sized-{uuid.uuid4().hex[:8]}", Attributes={"MaximumMessageSize": str(LIMIT)}
        )["QueueUrl"]
    )


def send(emulator: Emulator, queue_url: str, body: str, **extra: Any) -> str:
    """'sent', or the error code SQS answers with."""
    try:
        emulator.client("sqs", REGION).send_message(QueueUrl=queue_url, MessageBody=body, **extra)
    except botocore.exceptions.ClientError as refused:
        return str(refused.response["Error"]["Code"])
    return "sent"


def test_a_body_of_exactly_the_limit_is_sent_and_one_byte_more_is_refused(
    emulator: Emulator, queue_url: str
) -> None:
    assert send(emulator, queue_url, "x" * LIMIT) == "sent"
    assert send(emulator, queue_url, "x" * (LIMIT + 1)) == "InvalidParameterValue"


def test_the_body_is_measured_in_utf8_bytes_not_characters(emulator: Emulator, queue_url: str) -> None:
    # "é" is 2 bytes: 512 of them fill the limit, 513 (1,026 bytes, though only 513 characters) exceed it
    assert send(emulator, queue_url, "é" * (LIMIT // 2)) == "sent"
    assert send(emulator, queue_url, "é" * (LIMIT // 2 + 1)) == "InvalidParameterValue"


def test_message_attributes_count_towards_the_limit(emulator: Emulator, queue_url: str) -> None:
    # GIVEN attributes of 25 bytes ("trace" + "String" + 14 characters) and 10 bytes ("blob" + "Binary" ... )
    attributes = {
        "trace": {"DataType": "String", "StringValue": "abcdefghijklmn"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02\x03"},
    }
    attribute_bytes = len("trace") + len("String") + 14 + len("blob") + len("Binary") + 4
    # WHEN the body fills the rest exactly THEN it is sent; one byte more THEN refused
    assert send(emulator, queue_url, "x" * (LIMIT - attribute_bytes), MessageAttributes=attributes) == "sent"
    assert send(emulator, queue_url, "x" * (LIMIT - attribute_bytes + 1), MessageAttributes=attributes) == (
        "InvalidParameterValue"
    )


def test_a_batch_over_one_mebibyte_in_total_is_refused(emulator: Emulator) -> None:
    sqs = emulator.client("sqs", REGION)
    url = sqs.create_queue(QueueName=f"batch-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    half = 512 * 1024
    attribute = {"n": {"DataType": "String", "StringValue": "1"}}  # 8 bytes: the batch's 1 MiB is crossed
    entries = [{"Id": "a", "MessageBody": "x" * half}, {"Id": "b", "MessageBody": "x" * half}]
    assert sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
    with pytest.raises(botocore.exceptions.ClientError, match="BatchRequestTooLong") as refused:
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{**entries[0], "MessageAttributes": attribute}, entries[1]]
        )
    assert "BatchRequestTooLong" in refused.value.response["Error"]["Code"]


def test_set_queue_attributes_changes_only_what_it_names_so_the_policy_survives(emulator: Emulator) -> None:
    # GIVEN a queue with a policy
    sqs = emulator.client("sqs", REGION)
    url = sqs.create_queue(QueueName=f"kept-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
        f'"s3.amazonaws.com"}}, "Action": "sqs:SendMessage", "Resource": "{arn}"}}]}}'
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})

    # WHEN another attribute is changed
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})

    # THEN the policy is still there (moto alone drops it), and the change applied
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "5"
    assert '"s3.amazonaws.com"' in attributes["Policy"]
