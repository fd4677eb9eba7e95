"""An input object that is gone (S3 NoSuchKey / 404) fails its upload at once: no retry can bring it back.

The transform worker (handlers/transform/transform_worker.py) reads the uploaded XML named by the S3 event.
If the object is missing (deleted, or the event is stale), every later receive would find it missing too:
treating that as transient would keep the upload `pending` through every receive and then fail it with the
generic "gave up after N attempts ... the XML is kept", which is false. So _read_upload raises
InputUnusableError, one of PERMANENT_ERRORS: the row is marked failed with a reason naming the object on
the first receive and announced once; the record still fails, and later receives fail at once without
reading S3 (UploadAlreadyFailedError) until the queue's maxReceiveCount moves the message to the DLQ,
whose consumer finds the outcome already settled. Other S3 errors stay transient.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.transform import dead_letters, transform_worker
from handlers.transform.s3_events import ObjectRef
from handlers.transform.transform_worker import InputUnusableError, UploadAlreadyFailedError, transform_object

from ..conftest import FakeLambdaContext, Pipeline, sqs_event
from .conftest import CountingS3, buffer_record, status_of, told, upload

ORDERS = b"<orders><order id='1'/></orders>"

# A receive that only fails again on the row publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


class GetObjectRefused:
    """An S3 client whose GetObject answers with an error `code`, as S3 does for a missing object
    (NoSuchKey; a bare 404 where S3 sends no body) or when it is unavailable or denies the read."""

    def __init__(self, s3: Any, code: str) -> None:
        self._s3 = s3
        self.code = code

    def get_object(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": self.code, "Message": self.code}}, "GetObject")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def delete_input(pipeline: Pipeline, upload_id: str) -> None:
    pipeline.s3.delete_object(Bucket=pipeline.input_bucket, Key=f"uploads/{upload_id}.xml")


def test_an_upload_whose_object_is_gone_fails_at_once_naming_the_object(
    dead_letter_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an accepted upload (row pending) whose XML was deleted before the worker read it
    upload_id = upload(dead_letter_env, ORDERS)
    delete_input(dead_letter_env, upload_id)
    # WHEN the worker gets its S3 event on the first of five receives
    record = buffer_record(dead_letter_env, upload_id, receive_count=1)
    response = transform_worker.lambda_handler(sqs_event(record), lambda_context)
    # THEN the record fails (SQS keeps the message: nothing is acknowledged that was not done)
    assert response["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    # AND the upload is failed now, not after the last receive, with a reason naming the missing object
    row = status_of(dead_letter_env, upload_id)
    assert row["status"] == "failed"
    assert row["reason"] == f"input object uploads/{upload_id}.xml does not exist"
    # AND the uploader is told once
    assert told(dead_letter_env, upload_id) == ["failed"]
    # WHEN the final receive fails too and the message reaches the DLQ
    last = buffer_record(
        dead_letter_env, upload_id, receive_count=dead_letter_env.worker_settings.max_receive_count
    )
    assert len(transform_worker.lambda_handler(sqs_event(last), lambda_context)["batchItemFailures"]) == 1
    dead = dead_letters.settle_dead_letter(
        ObjectRef(dead_letter_env.input_bucket, f"uploads/{upload_id}.xml"),
        statuses=dead_letter_env.statuses,
        sns=dead_letter_env.sns,
        topic_arn=dead_letter_env.topic_arn,
    )
    # THEN the DLQ consumer finds the outcome settled: the reason and the single announcement stand
    assert dead == "settled"
    assert status_of(dead_letter_env, upload_id)["reason"] == row["reason"]
    assert told(dead_letter_env, upload_id) == []


def test_later_receives_of_an_upload_whose_object_is_gone_fail_without_reading_s3(
    pipeline: Pipeline, counting_s3: CountingS3
) -> None:
    # GIVEN an upload failed on its first receive because its object is gone
    upload_id = upload(pipeline, ORDERS)
    delete_input(pipeline, upload_id)
    args = {**pipeline.worker_args(), "s3": counting_s3}
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    with pytest.raises(InputUnusableError, match=rf"input object uploads/{upload_id}\.xml does not exist"):
        transform_object(ref, receive_count=1, **args)
    assert counting_s3.objects_read == 1
    told(pipeline, upload_id)
    # WHEN SQS delivers the message again
    # THEN it fails at once on the row, without reading S3 again or telling anyone again
    with pytest.raises(UploadAlreadyFailedError, match=rf"upload {upload_id} already failed: input object"):
        transform_object(ref, receive_count=2, **args)
    assert counting_s3.objects_read == 1
    assert told(pipeline, upload_id) == []


@pytest.mark.parametrize("code", ["NoSuchKey", "404"])
def test_s3_saying_the_object_does_not_exist_is_permanent(pipeline: Pipeline, code: str) -> None:
    # GIVEN a pending upload, and S3 answering its read with "no such object"
    upload_id = upload(pipeline, ORDERS)
    args = {**pipeline.worker_args(), "s3": GetObjectRefused(pipeline.s3, code)}
    # WHEN the worker reads it on the first of five receives
    with pytest.raises(InputUnusableError, match="does not exist"):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), receive_count=1, **args
        )
    # THEN the upload is failed at once
    assert status_of(pipeline, upload_id)["status"] == "failed"


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "AccessDenied"])
def test_other_s3_errors_on_the_read_stay_transient(pipeline: Pipeline, code: str) -> None:
    # GIVEN a pending upload, and S3 throttling, failing or denying its read: the object may be there, and
    # a denial is a policy being fixed as often as not (S3 also answers a missing key with 403 AccessDenied
    # to a role without s3:ListBucket, so a role that should see 404s must be granted it)
    upload_id = upload(pipeline, ORDERS)
    args = {**pipeline.worker_args(), "s3": GetObjectRefused(pipeline.s3, code)}
    # WHEN the worker reads it on the first of five receives
    with pytest.raises(ClientError, match=code):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), receive_count=1, **args
        )
    # THEN the upload stays pending for SQS to retry, and nobody is told
    assert status_of(pipeline, upload_id)["status"] == "pending"
    assert told(pipeline, upload_id) == []
