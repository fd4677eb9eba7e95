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
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.transform import dead_letters, rules_api, staged_upload_validator, upload_url_api
from handlers.transform.contract import StagedUploadSettings
from handlers.transform.rules import RuleSet
from handlers.transform.s3_events import ObjectRef
from handlers.transform.staged_upload_validator import StagedUploadDependencies
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


@pytest.fixture
def large_upload_env(handler_env: Pipeline) -> Iterator[Pipeline]:
    """handler_env, plus the cached clients of POST /uploads, the staged-upload validator, GET /rules and the
    dead-letter consumer rebuilt under moto."""
    modules = (upload_url_api, staged_upload_validator, rules_api, dead_letters)
    for module in modules:
        module.dependencies.cache_clear()
    yield handler_env
    for module in modules:
        module.dependencies.cache_clear()


def staged_settings(pipeline: Pipeline, *, max_upload_bytes: int = 10 * 1024 * 1024) -> StagedUploadSettings:
    return StagedUploadSettings(
        input_bucket=pipeline.input_bucket,
        status_table=pipeline.status_table_name,
        rules_table=pipeline.rules_table_name,
        topic_arn=pipeline.topic_arn,
        max_upload_bytes=max_upload_bytes,
    )


def validator_deps(pipeline: Pipeline, *, s3: Any = None, max_upload_bytes: int = 10 * 1024 * 1024) -> Any:
    """The validator's dependencies on the moto pipeline (`s3` to inject a fault)."""
    return StagedUploadDependencies(
        s3=s3 or pipeline.s3,
        sns=pipeline.sns,
        statuses=pipeline.statuses,
        rules=pipeline.rules,
        settings=staged_settings(pipeline, max_upload_bytes=max_upload_bytes),
    )


def stage(
    pipeline: Pipeline, content: bytes, *, rule_id: str = "orders-v1", name: str = "big-orders.xml"
) -> tuple[str, ObjectRef]:
    """A large upload as POST /uploads and the client's POST leave it: its row awaiting_upload, its file
    in incoming/."""
    upload_id = str(uuid.uuid4())
    key = f"incoming/{upload_id}.xml"
    pipeline.statuses.create_awaiting_upload(
        upload_id=upload_id,
        rule_id=rule_id,
        file_name=name,
        staged_key=key,
        now=datetime.now(UTC),
        owner="7d1a6f3e-2b4c-4e8a-9f0d-5c6b7a8e9f10",
    )
    pipeline.s3.put_object(Bucket=pipeline.input_bucket, Key=key, Body=content, ContentType="application/xml")
    return upload_id, ObjectRef(pipeline.input_bucket, key)


def staged_event(pipeline: Pipeline, upload_id: str) -> dict[str, Any]:
    """The S3 event S3 sends the validator for a staged file, built on tests/events/transform_s3_staged_*."""
    event = copy.deepcopy(load_event("transform_s3_staged_object_created.json"))
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"] = pipeline.input_bucket
    s3["bucket"]["arn"] = f"arn:aws:s3:::{pipeline.input_bucket}"
    s3["object"]["key"] = f"incoming/{upload_id}.xml"
    return event


class FailsOnce:
    """An S3 client whose first call of one operation raises (as a throttled or unreachable S3 does)."""

    def __init__(self, s3: Any, operation: str) -> None:
        self._s3 = s3
        self._operation = operation
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._s3, name)
        if name != self._operation:
            return call

        def failing_once(**kwargs: Any) -> Any:
            if not self.failed:
                self.failed = True
                raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your rate"}}, name)
            return call(**kwargs)

        return failing_once


def keys_under(pipeline: Pipeline, prefix: str) -> list[str]:
    return [key for key in pipeline.keys(pipeline.input_bucket) if key.startswith(prefix)]
