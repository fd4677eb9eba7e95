"""Fixtures for the transform hardening tests, on top of the moto pipeline of tests/unit/handlers/conftest.py.

`PublishFailsOnce` injects the one fault these tests need (an SNS publish that raises once, as a throttled
or briefly unreachable SNS does); `front_door_event` builds the Lambda event the HTTP front door (API
Gateway HTTP API or a function URL) makes of a request, text bodies decoded as AWS decodes them.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.transform import dead_letters
from handlers.transform.rules import RuleSet
from handlers.transform.upload_api import accept_upload

from ..conftest import Pipeline, load_event, s3_notification, sqs_record

# The media types API Gateway HTTP APIs and function URLs pass to the function as text (isBase64Encoded
# false) rather than base64: the ones the upload API accepts that are text.
TEXT_MEDIA_TYPES = ("application/xml", "text/xml")


class PublishFailsOnce:
    """An SNS client whose first publish raises (as a throttled SNS does); every later one goes through."""

    def __init__(self, sns: Any) -> None:
        self._sns = sns
        self.attempts = 0

    def publish(self, **kwargs: Any) -> Any:
        self.attempts += 1
        if self.attempts == 1:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}},
                "Publish",
            )
        return self._sns.publish(**kwargs)


class FixedRules:
    """A rule store that serves one rule set as is: a rule that passed an older, weaker validation."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set

    def get(self, rule_id: str) -> RuleSet:
        return self.rule_set


class CountingS3:
    """An S3 client that counts the objects read, to tell a cheap refusal from a repeated transform."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.objects_read = 0

    def get_object(self, **kwargs: Any) -> Any:
        self.objects_read += 1
        return self._s3.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


@pytest.fixture
def sns_failing_once(pipeline: Pipeline) -> PublishFailsOnce:
    return PublishFailsOnce(pipeline.sns)


@pytest.fixture
def counting_s3(pipeline: Pipeline) -> CountingS3:
    return CountingS3(pipeline.s3)


@pytest.fixture
def dead_letter_env(handler_env: Pipeline) -> Iterator[Pipeline]:
    """handler_env, plus the dead-letter handler's cached clients rebuilt under moto."""
    dead_letters.dependencies.cache_clear()
    yield handler_env
    dead_letters.dependencies.cache_clear()


def front_door_event(raw: bytes, *, content_type: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """POST /upload as the front door hands it to the function.

    Text media types arrive as a str decoded from UTF-8 with every invalid byte replaced by U+FFFD
    (isBase64Encoded false); other types arrive base64-encoded, byte for byte.
    """
    event = copy.deepcopy(load_event("transform_upload_post.json"))
    query = query or {"rule": "orders-v1", "name": "orders.xml"}
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    event["headers"]["content-type"] = content_type
    is_text = content_type.split(";", 1)[0].strip().lower() in TEXT_MEDIA_TYPES
    event["body"] = raw.decode("utf-8", errors="replace") if is_text else base64.b64encode(raw).decode()
    event["isBase64Encoded"] = not is_text
    return event


def upload(pipeline: Pipeline, xml: bytes, rule_id: str = "orders-v1", name: str = "orders.xml") -> str:
    reply = accept_upload(
        body=xml,
        content_type="application/xml",
        query={"rule": rule_id, "name": name},
        **pipeline.upload_args(),
    )
    return reply["uploadId"]


def buffer_record(pipeline: Pipeline, upload_id: str, *, receive_count: int = 1) -> dict[str, Any]:
    """The buffer queue's SQS record for an upload's S3 event."""
    notification = s3_notification(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    return sqs_record(notification, message_id=str(uuid.uuid4()), receive_count=receive_count)


def dead_letter_record(pipeline: Pipeline, upload_id: str) -> dict[str, Any]:
    """The same S3 event as the DLQ consumer receives it, built on tests/events/transform_dlq_*.json."""
    record = copy.deepcopy(load_event("transform_dlq_s3_object_created.json")["Records"][0])
    record["messageId"] = str(uuid.uuid4())
    record["body"] = buffer_record(pipeline, upload_id)["body"]
    return record


def status_of(pipeline: Pipeline, upload_id: str) -> dict[str, Any]:
    [row] = [row for row in pipeline.status_rows() if row["uploadId"] == upload_id]
    return row


def told(pipeline: Pipeline, upload_id: str) -> list[str]:
    """The statuses SNS announced for one upload, in order (drains the test queue)."""
    messages = [json.loads(envelope["Message"]) for envelope in pipeline.notifications()]
    return [message["status"] for message in messages if message["uploadId"] == upload_id]
