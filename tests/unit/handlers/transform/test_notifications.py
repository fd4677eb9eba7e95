"""Status and notification cannot diverge: a finished upload whose notice was not sent is announced on retry.

The worker writes the outcome, then publishes it, then records that it did. When the publish fails, the
record fails too and SQS delivers it again: the retry finds the finished row without its notice and sends
it, once; later deliveries find both and stay silent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from handlers.transform.rules import RuleApplicationError, RuleSet
from handlers.transform.s3_events import ObjectRef
from handlers.transform.transform_worker import UploadAlreadyFailedError, transform_object
from handlers.transform.upload_status import NOTICE_CLAIM_SECONDS, UploadStatusTable

from ..conftest import Pipeline
from .conftest import FixedRules, PublishFailsOnce, status_of, told, upload

ORDERS = b'<orders><order id="1"><paid>yes</paid></order></orders>'


def test_a_done_notice_whose_publish_failed_is_sent_on_the_retry_and_only_once(
    pipeline: Pipeline, sns_failing_once: PublishFailsOnce
) -> None:
    # GIVEN an upload transformed while SNS refuses the first publish
    upload_id = upload(pipeline, ORDERS)
    args = {**pipeline.worker_args(), "sns": sns_failing_once}
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    with pytest.raises(ClientError, match="Throttling"):
        transform_object(ref, receive_count=1, **args)
    # THEN the outcome is stored but nobody was told, and the record failed so that SQS delivers it again
    assert status_of(pipeline, upload_id)["status"] == "done"
    assert told(pipeline, upload_id) == []
    # WHEN SQS delivers it again
    transform_object(ref, receive_count=2, **args)
    # THEN the `done` notice goes out
    assert told(pipeline, upload_id) == ["done"]
    # AND a further delivery (a duplicate S3 event) sends nothing more
    transform_object(ref, receive_count=1, **args)
    assert told(pipeline, upload_id) == []
    assert sns_failing_once.attempts == 2


def test_a_failed_notice_whose_publish_failed_is_sent_on_the_retry_which_still_fails_for_the_dlq(
    pipeline: Pipeline, sns_failing_once: PublishFailsOnce
) -> None:
    # GIVEN an upload that fails permanently while SNS refuses the first publish
    upload_id = upload(pipeline, ORDERS)
    strict = FixedRules(RuleSet(rule_id="orders-v1", cast=(("orders/order/paid", "int"),)))
    args = {**pipeline.worker_args(), "sns": sns_failing_once, "rules": strict}
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    with pytest.raises(ClientError, match="Throttling"):
        transform_object(ref, receive_count=1, **args)
    assert status_of(pipeline, upload_id)["status"] == "failed"
    assert told(pipeline, upload_id) == []
    # WHEN SQS delivers it again
    with pytest.raises(UploadAlreadyFailedError):
        transform_object(ref, receive_count=2, **args)
    # THEN the `failed` notice goes out, and the record still fails so that the message reaches the DLQ
    assert told(pipeline, upload_id) == ["failed"]
    with pytest.raises(UploadAlreadyFailedError):
        transform_object(ref, receive_count=3, **args)
    assert told(pipeline, upload_id) == []


def test_a_published_outcome_is_recorded_on_the_row(pipeline: Pipeline) -> None:
    # GIVEN a failed and a done upload, each announced
    failed_id, done_id = upload(pipeline, ORDERS), upload(pipeline, ORDERS)
    strict = FixedRules(RuleSet(rule_id="orders-v1", cast=(("orders/order/paid", "int"),)))
    with pytest.raises(RuleApplicationError):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{failed_id}.xml"),
            **{**pipeline.worker_args(), "rules": strict},
        )
    transform_object(ObjectRef(pipeline.input_bucket, f"uploads/{done_id}.xml"), **pipeline.worker_args())
    # THEN each row says when its notice went out
    for upload_id in (failed_id, done_id):
        assert status_of(pipeline, upload_id)["notifiedAt"].endswith("Z")


def test_a_delivery_that_finds_another_publishing_the_notice_stays_silent_until_that_claim_is_abandoned(
    pipeline: Pipeline, sns_failing_once: PublishFailsOnce
) -> None:
    # GIVEN a finished upload whose notice is not out yet (its first publish failed)
    upload_id = upload(pipeline, ORDERS)
    args = pipeline.worker_args()
    statuses: UploadStatusTable = args["statuses"]
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    with pytest.raises(ClientError, match="Throttling"):
        transform_object(ref, receive_count=1, **{**args, "sns": sns_failing_once})
    # AND another delivery of its message claiming the notice right now (SQS redelivered it meanwhile)
    assert statuses.claim_notice(upload_id, now=datetime.now(UTC))
    # WHEN this delivery finds the finished row
    transform_object(ref, receive_count=2, **args)
    # THEN it publishes nothing: the other one is publishing
    assert told(pipeline, upload_id) == []
    # AND once that claim is older than its lease (its delivery died), the next delivery publishes it
    statuses.release_notice(upload_id)
    abandoned = datetime.now(UTC) - timedelta(seconds=NOTICE_CLAIM_SECONDS + 1)
    assert statuses.claim_notice(upload_id, now=abandoned)
    transform_object(ref, receive_count=3, **args)
    assert told(pipeline, upload_id) == ["done"]
