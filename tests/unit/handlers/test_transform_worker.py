"""The transform worker: end to end through the three handlers, partial batch failures, duplicates."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from handlers.transform import status_api, transform_worker, upload_api
from handlers.transform.contract import rule_item
from handlers.transform.notifications import notification_subject
from handlers.transform.rule_store import RuleNotFound, RuleStore
from handlers.transform.rules import parse_rule_set
from handlers.transform.transform_worker import ObjectRef, transform_object
from handlers.transform.upload_api import accept_upload
from samples.transform_documents import generate_orders_xml
from tests.transform_golden import canonical, golden_orders_of_about

from .conftest import (
    FakeLambdaContext,
    Pipeline,
    load_event,
    s3_notification,
    sqs_event,
    sqs_record,
    status_event,
    upload_event,
)

# A rule set that cannot apply to the orders sample: 'paid' holds yes/no/true/false.
STRICT_RULES = {"ruleId": "orders-strict", "cast": {"orders/order/paid": "int"}}


def upload(pipeline: Pipeline, xml: bytes, rule_id: str = "orders-v1", name: str = "orders.xml") -> str:
    reply = accept_upload(
        body=xml,
        content_type="application/xml",
        query={"rule": rule_id, "name": name},
        **pipeline.upload_args(),
    )
    return reply["uploadId"]


def record_for(
    pipeline: Pipeline, upload_id: str, *, message_id: str | None = None, receive_count: int = 1
) -> Any:
    notification = s3_notification(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    return sqs_record(notification, message_id=message_id or str(uuid.uuid4()), receive_count=receive_count)


def run_worker(event: dict[str, Any], context: FakeLambdaContext) -> list[str]:
    response = transform_worker.lambda_handler(event, context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def status_of(pipeline: Pipeline, upload_id: str) -> dict[str, Any]:
    [row] = [row for row in pipeline.status_rows() if row["uploadId"] == upload_id]
    return row


def by_status(notifications: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    return [n for n in notifications if n["MessageAttributes"]["status"]["Value"] == status]


def test_upload_transform_and_status_work_end_to_end_on_a_large_document(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a 2.5 MB orders document (the reviewed golden orders, repeated) uploaded through the upload Lambda
    xml, expected = golden_orders_of_about(2_500_000)
    response = upload_api.lambda_handler(
        upload_event(xml, query={"rule": "orders-v1", "name": "orders-2024-06.xml"}, base64_encoded=True),
        lambda_context,
    )
    assert response["statusCode"] == 202
    upload_id = json.loads(response["body"])["uploadId"]
    # WHEN S3's notification for the stored object reaches the worker through SQS
    failures = run_worker(sqs_event(record_for(handler_env, upload_id)), lambda_context)
    # THEN the batch succeeds and the output is the rule set's JSON of the document
    assert failures == []
    output_key = f"results/{upload_id}.json"
    stored = handler_env.s3.get_object(Bucket=handler_env.output_bucket, Key=output_key)
    assert stored["ContentType"] == "application/json" and stored["ServerSideEncryption"] == "AES256"
    output = json.loads(stored["Body"].read())
    assert canonical(output) == canonical(expected)
    # AND the upload is done, announced once on SNS with a filterable status attribute
    assert status_of(handler_env, upload_id)["status"] == "done"
    [done] = handler_env.notifications()
    assert done["Subject"] == "regionflow transform done: orders-2024-06.xml"
    assert done["MessageAttributes"]["status"] == {"Type": "String", "Value": "done"}
    assert json.loads(done["Message"]) == {
        "uploadId": upload_id,
        "status": "done",
        "ruleId": "orders-v1",
        "fileName": "orders-2024-06.xml",
        "outputKey": output_key,
    }
    # AND GET /uploads/{id} gives a presigned URL that downloads exactly that JSON
    reply = status_api.lambda_handler(status_event(upload_id), lambda_context)
    body = json.loads(reply["body"])
    assert (reply["statusCode"], body["status"], body["outputKey"]) == (200, "done", output_key)
    assert json.loads(requests.get(body["outputUrl"], timeout=10).content) == output
    # AND the input object is kept
    assert handler_env.keys(handler_env.input_bucket) == [f"uploads/{upload_id}.xml"]


def test_one_failing_record_is_the_only_batch_item_failure(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN three uploads in one batch, the middle one under a rule whose cast cannot apply
    handler_env.dynamodb.Table(handler_env.rules_table_name).put_item(
        Item=rule_item(parse_rule_set(STRICT_RULES))
    )
    xml = generate_orders_xml(20_000)
    good_1, bad, good_2 = (
        upload(handler_env, xml),
        upload(handler_env, xml, "orders-strict"),
        upload(handler_env, xml),
    )
    records = [record_for(handler_env, upload_id) for upload_id in (good_1, bad, good_2)]
    # WHEN the worker processes the batch
    failures = run_worker(sqs_event(*records), lambda_context)
    # THEN only the bad record's messageId is reported, so SQS retries it alone (and then DLQs it)
    assert failures == [records[1]["messageId"]]
    # AND the other two are done
    assert [status_of(handler_env, u)["status"] for u in (good_1, bad, good_2)] == ["done", "failed", "done"]
    assert sorted(handler_env.keys(handler_env.output_bucket)) == sorted(
        [f"results/{good_1}.json", f"results/{good_2}.json"]
    )
    # AND the failed row says why, and exactly one 'failed' message went out
    reason = status_of(handler_env, bad)["reason"]
    assert "cannot cast" in reason and "orders/order/paid" in reason and "to int" in reason
    notifications = handler_env.notifications()
    [failed] = by_status(notifications, "failed")
    assert json.loads(failed["Message"])["reason"] == reason
    assert len(by_status(notifications, "done")) == 2
    # AND the raw XML is still in the input bucket
    assert f"uploads/{bad}.xml" in handler_env.keys(handler_env.input_bucket)

    # WHEN SQS redelivers the failed record
    retry = record_for(handler_env, bad, message_id=records[1]["messageId"], receive_count=2)
    # THEN it fails again, without a second notification or a changed reason
    assert run_worker(sqs_event(retry), lambda_context) == [retry["messageId"]]
    assert handler_env.notifications() == []
    assert status_of(handler_env, bad)["reason"] == reason


def test_duplicate_s3_event_yields_one_output_and_one_message(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN one upload whose S3 event is delivered twice (in one batch and again later)
    upload_id = upload(handler_env, generate_orders_xml(20_000))
    first, second = record_for(handler_env, upload_id), record_for(handler_env, upload_id)
    # WHEN the worker sees all three deliveries
    assert run_worker(sqs_event(first, second), lambda_context) == []
    assert run_worker(sqs_event(record_for(handler_env, upload_id, receive_count=2)), lambda_context) == []
    # THEN the versioned output bucket holds one version and SNS carried one 'done' message
    versions = handler_env.s3.list_object_versions(Bucket=handler_env.output_bucket)["Versions"]
    assert [version["Key"] for version in versions] == [f"results/{upload_id}.json"]
    assert len(by_status(handler_env.notifications(), "done")) == 1


def test_s3_test_event_is_acknowledged_and_ignored(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    assert run_worker(load_event("transform_sqs_s3_test_event.json"), lambda_context) == []
    assert handler_env.keys(handler_env.output_bucket) == []
    assert handler_env.notifications() == []


def test_event_from_the_events_file_is_understood(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the shared event file, naming an upload id that has an object but no pending row
    event = load_event("transform_sqs_s3_object_created.json")
    handler_env.s3.put_object(
        Bucket=handler_env.input_bucket,
        Key="uploads/3f2c1d9e-8b7a-4c6d-9e5f-0a1b2c3d4e5f.xml",
        Body=b"<a/>",
        Metadata={"upload-id": "3f2c1d9e-8b7a-4c6d-9e5f-0a1b2c3d4e5f", "rule-id": "orders-v1"},
    )
    # THEN the worker reads its bucket from the event (here another bucket name: not found -> retried)
    assert run_worker(event, lambda_context) == [event["Records"][0]["messageId"]]


def test_missing_metadata_is_a_permanent_failure(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a pending upload whose object was replaced by one without the upload metadata
    upload_id = upload(handler_env, b"<orders/>")
    handler_env.s3.put_object(
        Bucket=handler_env.input_bucket, Key=f"uploads/{upload_id}.xml", Body=b"<orders/>"
    )
    # WHEN the worker processes it
    assert len(run_worker(sqs_event(record_for(handler_env, upload_id)), lambda_context)) == 1
    # THEN the upload failed at once, saying what is missing, with one notification
    row = status_of(handler_env, upload_id)
    assert row["status"] == "failed" and "no upload-id or rule-id metadata" in row["reason"]
    assert len(by_status(handler_env.notifications(), "failed")) == 1


def test_a_rule_deleted_after_upload_fails_with_the_fix_in_the_reason(pipeline: Pipeline) -> None:
    upload_id = upload(pipeline, b"<orders/>", rule_id="catalog-flat")
    pipeline.dynamodb.Table(pipeline.rules_table_name).delete_item(Key={"ruleId": "catalog-flat"})
    fresh_rules = RuleStore(pipeline.rules_table_name, dynamodb_resource=pipeline.dynamodb, cache_seconds=0)
    args = {**pipeline.worker_args(), "rules": fresh_rules}
    with pytest.raises(
        RuleNotFound, match=r"^rule 'catalog-flat' not found in table regionflow-transform-rules;"
    ):
        transform_object(ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), **args)
    assert status_of(pipeline, upload_id)["reason"] == (
        "rule 'catalog-flat' not found in table regionflow-transform-rules; load it with scripts/put_rule.py"
    )


def test_transient_failure_marks_failed_only_on_the_final_attempt(pipeline: Pipeline) -> None:
    # GIVEN an output bucket that does not exist (a transient, e.g. permission or outage, failure)
    upload_id = upload(pipeline, b"<orders><order id='1'/></orders>")
    broken = replace(pipeline.worker_settings, output_bucket="missing-bucket", max_receive_count=5)
    args = {**pipeline.worker_args(), "settings": broken}
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    # WHEN it fails before the last attempt
    with pytest.raises(ClientError, match=r"\(NoSuchBucket\) when calling the PutObject operation"):
        transform_object(ref, receive_count=4, **args)
    # THEN the upload stays pending for SQS to retry, and nobody is told
    assert status_of(pipeline, upload_id)["status"] == "pending"
    assert pipeline.notifications() == []
    # WHEN the final attempt fails too
    with pytest.raises(ClientError, match=r"\(NoSuchBucket\) when calling the PutObject operation"):
        transform_object(ref, receive_count=5, **args)
    # THEN the upload is failed with the reason and one notification, and the message still goes to the DLQ
    row = status_of(pipeline, upload_id)
    assert row["status"] == "failed" and row["reason"] == (
        "gave up after 5 attempts: NoSuchBucket; the XML is kept, upload it again later"
    )  # the error's kind only: its text names the bucket
    assert len(by_status(pipeline.notifications(), "failed")) == 1


def test_notification_subject_is_ascii_and_at_most_100_characters() -> None:
    subject = notification_subject("failed", "Bestellung-März-" + "x" * 200 + ".xml")
    assert subject.startswith("regionflow transform failed: Bestellung-M?rz-") and len(subject) == 100
    assert subject.isascii()
