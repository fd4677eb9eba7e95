"""The DLQs' consumer: a dead-lettered upload always ends `failed` with a reason, and announced.

A message reaches the DLQ after the buffer queue's last receive. When the worker crashed on that receive
(timeout, out of memory), nothing marked the upload: the consumer does, and sends the notice. When the
upload already has its outcome, the consumer sends the notice only if it was never sent.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.transform import dead_letters
from handlers.transform.dead_letters import DeadLetterDependencies
from handlers.transform.rules import RuleApplicationError, RuleSet
from handlers.transform.s3_events import ObjectRef
from handlers.transform.transform_worker import transform_object

from ..conftest import FakeLambdaContext, Pipeline, load_event, sqs_event
from .conftest import (
    FixedRules,
    PublishFailsOnce,
    dead_letter_record,
    stage,
    staged_event,
    status_of,
    told,
    upload,
)

ORDERS = b'<orders><order id="1"><paid>yes</paid></order></orders>'
EVENTS_FILE_UPLOAD_ID = "3f2c1d9e-8b7a-4c6d-9e5f-0a1b2c3d4e5f"


def consume(event: dict[str, Any], context: FakeLambdaContext) -> list[str]:
    response = dead_letters.lambda_handler(event, context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_pending_upload_whose_message_was_dead_lettered_is_failed_with_the_reason_and_announced(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an upload still pending: the worker crashed (timed out, ran out of memory) on every receive
    upload_id = upload(dead_letter_env, ORDERS)
    # WHEN its message reaches the DLQ consumer
    assert consume(sqs_event(dead_letter_record(dead_letter_env, upload_id)), lambda_context) == []
    # THEN the upload is failed with a reason that says what happened and where the XML is
    row = status_of(dead_letter_env, upload_id)
    assert row["status"] == "failed"
    assert "dead-letter queue" in row["reason"] and "timed out or ran out of memory" in row["reason"]
    assert f"kept as uploads/{upload_id}.xml" in row["reason"]
    assert dead_letter_env.input_bucket not in row["reason"]  # the uploader learns no bucket name
    # AND subscribers are told once, with that reason
    [envelope] = dead_letter_env.notifications()
    assert json.loads(envelope["Message"])["reason"] == row["reason"]
    assert envelope["MessageAttributes"]["status"]["Value"] == "failed"


def test_a_dead_letter_of_an_announced_outcome_changes_nothing(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an upload the worker failed permanently and announced (its message then retried into the DLQ)
    upload_id = upload(dead_letter_env, ORDERS)
    strict = FixedRules(RuleSet(rule_id="orders-v1", cast=(("orders/order/paid", "int"),)))
    with pytest.raises(RuleApplicationError):
        transform_object(
            ObjectRef(dead_letter_env.input_bucket, f"uploads/{upload_id}.xml"),
            **{**dead_letter_env.worker_args(), "rules": strict},
        )
    row = status_of(dead_letter_env, upload_id)
    assert told(dead_letter_env, upload_id) == ["failed"]
    # WHEN the dead letter is consumed
    assert consume(sqs_event(dead_letter_record(dead_letter_env, upload_id)), lambda_context) == []
    # THEN the row keeps its reason and nobody is told twice
    assert status_of(dead_letter_env, upload_id) == row
    assert told(dead_letter_env, upload_id) == []


def test_an_outcome_whose_notice_was_never_sent_is_announced_from_the_dlq(
    pipeline: Pipeline, sns_failing_once: PublishFailsOnce
) -> None:
    # GIVEN the worker's final receive failed transiently and its `failed` notice could not be published
    upload_id = upload(pipeline, ORDERS)
    broken = replace(pipeline.worker_settings, output_bucket="missing-bucket", max_receive_count=5)
    args = {**pipeline.worker_args(), "settings": broken, "sns": sns_failing_once}
    with pytest.raises(ClientError, match=r"\(Throttling\)"):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), receive_count=5, **args
        )
    assert status_of(pipeline, upload_id)["status"] == "failed"
    assert told(pipeline, upload_id) == []
    # WHEN its message, now in the DLQ, is consumed
    outcome = dead_letters.settle_dead_letter(
        ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"),
        statuses=pipeline.statuses,
        sns=pipeline.sns,
        topic_arn=pipeline.topic_arn,
    )
    # THEN the notice goes out, once
    assert outcome == "announced"
    assert told(pipeline, upload_id) == ["failed"]


def test_a_dead_letter_whose_notice_cannot_be_published_is_retried_on_the_dlq(
    dead_letter_env: Pipeline,
    sns_failing_once: PublishFailsOnce,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a dead-lettered pending upload, and SNS refusing the first publish
    upload_id = upload(dead_letter_env, ORDERS)
    sns: Any = sns_failing_once
    deps = DeadLetterDependencies(
        sns=sns, statuses=dead_letter_env.statuses, topic_arn=dead_letter_env.topic_arn
    )
    # Cached like the real one, so the fixture's cache_clear still applies when it tears down.
    monkeypatch.setattr(dead_letters, "dependencies", functools.cache(lambda: deps))
    record = dead_letter_record(dead_letter_env, upload_id)
    # WHEN the consumer receives it
    # THEN the record is reported failed, so the DLQ delivers it again; the upload is already failed
    assert consume(sqs_event(record), lambda_context) == [record["messageId"]]
    assert status_of(dead_letter_env, upload_id)["status"] == "failed"
    assert told(dead_letter_env, upload_id) == []
    # WHEN it is delivered again
    assert consume(sqs_event(record), lambda_context) == []
    # THEN the notice goes out, once
    assert told(dead_letter_env, upload_id) == ["failed"]


def test_the_dlq_event_from_the_events_file_is_understood(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the shared DLQ event and a pending row for the upload it names
    dead_letter_env.statuses.create_pending(
        upload_id=EVENTS_FILE_UPLOAD_ID,
        rule_id="orders-v1",
        file_name="orders.xml",
        input_key=f"uploads/{EVENTS_FILE_UPLOAD_ID}.xml",
        size_bytes=1305,
        now=datetime.now(UTC),
    )
    # WHEN the consumer receives it
    assert consume(load_event("transform_dlq_s3_object_created.json"), lambda_context) == []
    # THEN that upload is failed (the bucket is read from the event)
    row = status_of(dead_letter_env, EVENTS_FILE_UPLOAD_ID)
    assert row["status"] == "failed" and "kept as uploads/" in row["reason"]


def test_dead_letters_naming_no_known_upload_are_acknowledged(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the S3 test event, a key that is not an upload's, and an upload id without a row
    test_event = load_event("transform_sqs_s3_test_event.json")["Records"][0]
    foreign = dead_letter_record(dead_letter_env, "not-an-upload")
    orphan = dead_letter_record(dead_letter_env, "00000000-0000-4000-8000-000000000000")
    # WHEN the consumer receives them
    # THEN each is acknowledged (a record kept would come back forever), and nothing is written or sent
    assert consume(sqs_event(test_event, foreign, orphan), lambda_context) == []
    assert dead_letter_env.status_rows() == []
    assert dead_letter_env.notifications() == []


def staged_dead_letter(pipeline: Pipeline, upload_id: str) -> dict[str, Any]:
    """The validator's S3 event as its DLQ holds it after Lambda's retries: the event itself as the body."""
    record = copy.deepcopy(load_event("transform_dlq_s3_object_created.json")["Records"][0])
    record["messageId"] = str(uuid.uuid4())
    record["body"] = json.dumps(staged_event(pipeline, upload_id))
    return record


@pytest.mark.parametrize("accepted_first", [False, True], ids=["awaiting_upload", "accepted-not-moved"])
def test_a_large_upload_whose_check_never_finished_is_failed_saying_where_its_file_is(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext, accepted_first: bool
) -> None:
    # GIVEN a large upload whose validator failed on every attempt (before or after accepting the file)
    upload_id, _ = stage(dead_letter_env, ORDERS)
    if accepted_first:
        dead_letter_env.statuses.mark_staged_accepted(
            upload_id, input_key=f"uploads/{upload_id}.xml", size_bytes=10, now=datetime.now(UTC)
        )
    # WHEN its event, dead-lettered by Lambda, is consumed
    assert consume(sqs_event(staged_dead_letter(dead_letter_env, upload_id)), lambda_context) == []
    # THEN the upload is failed with a reason saying where the file is kept, without our bucket's name
    row = status_of(dead_letter_env, upload_id)
    assert row["status"] == "failed"
    assert "a large upload, or a file put into incoming/) never finished" in row["reason"]
    assert f"kept as incoming/{upload_id}.xml" in row["reason"]
    assert dead_letter_env.input_bucket not in row["reason"]
    # AND subscribers are told once
    assert told(dead_letter_env, upload_id) == ["failed"]
