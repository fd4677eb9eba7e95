"""The TransformPipeline deployed by localcloud: what a user of the HTTP API and the topic sees."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from demos.doors import call
from demos.transform import (
    list_rules,
    post_file,
    request_upload_url,
    upload,
    upload_large,
    upload_status,
    wait_for_dead_letter,
    wait_for_final_status,
)
from demos.waiting import wait_until
from handlers.transform.rules import load_rule_files
from handlers.transform.upload_status import UploadStatusTable
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
from samples.transform_documents import generate_orders_xml
from scripts.put_rule import put_rules
from tests.e2e.faults import service_unreachable
from tests.transform_golden import GOLDEN_DIR, canonical, golden_orders_of_about

pytestmark = pytest.mark.e2e
MEGABYTE = 1024 * 1024
# The stack's own limit (Pulumi.yaml's transformMaxUploadBytes, which the e2e configuration keeps): this
# module sends a 9 MB document through, and an 11 MB one that S3 must refuse.
MAX_UPLOAD_BYTES = 10 * MEGABYTE
LAMBDA_REQUEST_BYTES = 6 * MEGABYTE  # what a synchronous invocation (so POST /upload) can carry
RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"""


def stored_inputs(cloud: LocalCloud) -> int:
    listing = cloud.client("s3").list_object_versions(Bucket=cloud.exports["transformInputBucket"])
    return len(listing.get("Versions", []))


def status_rows(cloud: LocalCloud) -> int:
    return int(
        cloud.client("dynamodb").scan(TableName=cloud.exports["transformStatusTable"], Select="COUNT")[
            "Count"
        ]
    )


def topic_messages_for(cloud: LocalCloud, upload_id: str) -> list[dict[str, Any]]:
    """The upload's messages, once there is one: the worker publishes just after it writes the status row."""

    def published() -> list[dict[str, Any]]:
        messages = [json.loads(m["message"]) for m in cloud.sns_messages(cloud.exports["transformTopicArn"])]
        return [m for m in messages if m.get("uploadId") == upload_id]

    found: list[dict[str, Any]] = wait_until(published, f"a topic message for upload {upload_id}")
    return found


def test_an_uploaded_document_becomes_json_with_the_rules_applied(cloud: LocalCloud) -> None:
    # GIVEN a 2.5 MB orders document: the golden orders, repeated
    document, expected = golden_orders_of_about(2_500_000)
    # WHEN it is uploaded with rule orders-v1
    accepted = upload(cloud, document, rule="orders-v1", name="orders.xml")
    assert accepted.status == 202, accepted.body
    upload_id = accepted.json()["uploadId"]
    # THEN the status becomes done and the presigned URL serves the rule-applied JSON
    status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "done", status
    output = request("GET", status["outputUrl"])
    assert output.status == 200
    assert canonical(json.loads(output.body)) == canonical(expected)
    # AND one `done` message reached the topic
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["done"]


@pytest.mark.parametrize(
    ("case", "body", "query", "content_type", "status", "error"),
    [
        (
            "malformed",
            b"<orders><order></orders>",
            "rule=orders-v1&name=a.xml",
            "application/xml",
            400,
            "malformed_xml",
        ),
        (
            "billion laughs",
            BILLION_LAUGHS,
            "rule=orders-v1&name=a.xml",
            "application/xml",
            400,
            "doctype_forbidden",
        ),
        ("external entity", XXE, "rule=orders-v1&name=a.xml", "application/xml", 400, "doctype_forbidden"),
        (
            "too deep",
            b"<a>" * 70 + b"</a>" * 70,
            "rule=orders-v1&name=a.xml",
            "application/xml",
            400,
            "too_deep",
        ),
        ("unknown rule", b"<a/>", "rule=no-such-rule&name=a.xml", "application/xml", 400, "unknown_rule"),
        ("missing rule", b"<a/>", "name=a.xml", "application/xml", 400, "invalid_query"),
        (
            "json content type",
            b"<a/>",
            "rule=orders-v1&name=a.xml",
            "application/json",
            415,
            "unsupported_media_type",
        ),
        (
            "unknown encoding",
            b'<?xml version="1.0" encoding="x-no-such-codec"?><a/>',
            "rule=orders-v1&name=a.xml",
            "application/xml",
            400,
            "unsupported_encoding",
        ),
        (
            "ISO-8859-1 sent as text",
            '<?xml version="1.0" encoding="ISO-8859-1"?><orders><order id="1">José</order></orders>'.encode(
                "latin-1"
            ),
            "rule=orders-v1&name=a.xml",
            "application/xml",
            400,
            "text_body_altered",
        ),
    ],
)
def test_bad_input_gets_its_status_and_nothing_is_stored(
    cloud: LocalCloud, case: str, body: bytes, query: str, content_type: str, status: int, error: str
) -> None:
    # GIVEN the stored objects and status rows before the request
    objects_before, rows_before = stored_inputs(cloud), status_rows(cloud)
    # WHEN a bad upload arrives
    response = call(
        cloud,
        "transform",
        "POST",
        f"{cloud.exports['transformUploadUrl']}?{query}",
        body=body,
        headers={"Content-Type": content_type},
    )
    # THEN it gets the right status and a JSON error naming the problem
    assert response.status == status, (case, response.body)
    assert response.json()["error"] == error
    assert response.json()["message"]
    # AND nothing was written
    assert (stored_inputs(cloud), status_rows(cloud)) == (objects_before, rows_before)


def test_a_document_larger_than_a_lambda_request_is_refused_at_the_front_door(cloud: LocalCloud) -> None:
    # GIVEN the stored objects and status rows, and a document under the upload limit but over 6 MB
    objects_before, rows_before = stored_inputs(cloud), status_rows(cloud)
    document = b"<a>" + b"x" * LAMBDA_REQUEST_BYTES + b"</a>"
    # WHEN it is sent to POST /upload
    response = upload(cloud, document, rule="orders-v1", name="too-big-for-lambda.xml")
    # THEN the front door refuses it with 413 (POST /uploads is the way for it), and nothing is written
    assert response.status == 413
    assert (stored_inputs(cloud), status_rows(cloud)) == (objects_before, rows_before)


def test_unknown_route_answers_404_as_api_gateway_does(cloud: LocalCloud) -> None:
    status_url = cloud.exports["transformStatusUrl"]
    response = call(cloud, "transform", "GET", status_url.replace("{id}", "not-a-uuid"))
    assert response.status == 400
    missing = call(
        cloud, "transform", "GET", status_url.replace("{id}", "0" * 8 + "-0000-4000-8000-" + "0" * 12)
    )
    assert missing.status == 404


def test_a_rule_failure_ends_in_the_dlq_with_status_failed_and_a_message(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # GIVEN a deployed rule that cannot apply to the document (a name cast to int)
    rule_file = tmp_path / "cast-names.json"
    rule_file.write_text(
        json.dumps({"ruleId": "e2e-cast-names", "cast": {"orders/order/customer/name": "int"}})
    )
    put_rules(cloud.dynamodb_table(cloud.exports["transformRulesTable"]), [rule_file])
    # WHEN a document is uploaded with it
    accepted = upload(cloud, generate_orders_xml(30_000), rule="e2e-cast-names", name="bad-cast.xml")
    assert accepted.status == 202
    upload_id = accepted.json()["uploadId"]
    # THEN the upload is failed with the reason
    status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "failed"
    assert "orders/order/customer/name" in status["reason"]
    # AND its S3 event reaches the dead-letter queue, whose consumer finds it failed and announced already
    assert wait_for_dead_letter(cloud, f"uploads/{upload_id}.xml") == ["settled"]
    # AND exactly one `failed` message reached the topic
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["failed"]
    # AND the raw XML is still in the input bucket
    cloud.client("s3").head_object(
        Bucket=cloud.exports["transformInputBucket"], Key=f"uploads/{upload_id}.xml"
    )


def test_an_upload_whose_worker_crashed_on_its_last_receive_ends_failed_and_announced(
    cloud: LocalCloud,
) -> None:
    # GIVEN an accepted upload whose row is pending, and its S3 event dead-lettered as after a worker that
    # crashed (timed out, ran out of memory) on the last receive: nothing marked the row
    upload_id = str(uuid.uuid4())
    key = f"uploads/{upload_id}.xml"
    # (its XML is not written here: the bucket would notify the worker, which is not the case tested)
    input_bucket = cloud.exports["transformInputBucket"]
    statuses = UploadStatusTable(cloud.dynamodb_table(cloud.exports["transformStatusTable"]))
    statuses.create_pending(
        upload_id=upload_id,
        rule_id="orders-v1",
        file_name="crashed.xml",
        input_key=key,
        size_bytes=5_000,
        now=datetime.now(UTC),
    )
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": input_bucket}, "object": {"key": key}},
            }
        ]
    }
    # WHEN the dead letter arrives
    cloud.client("sqs").send_message(QueueUrl=cloud.exports["transformDlqUrl"], MessageBody=json.dumps(event))
    # THEN the DLQ's consumer marks the upload failed with a reason that says where its XML is kept
    assert wait_for_dead_letter(cloud, key) == ["failed"]
    status = upload_status(cloud, upload_id)
    assert status["status"] == "failed" and f"kept as {key}" in status["reason"]
    assert input_bucket not in status["reason"]
    # AND announces it once
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["failed"]


def test_the_same_s3_event_delivered_twice_yields_one_output(cloud: LocalCloud) -> None:
    # GIVEN a finished upload whose notice went out and is recorded on its row (a delivery while the first
    # still publishes is tests/unit/handlers/transform/test_notifications.py's case)
    accepted = upload(cloud, generate_orders_xml(50_000), rule="orders-v1", name="twice.xml")
    upload_id = accepted.json()["uploadId"]
    assert wait_for_final_status(cloud, upload_id)["status"] == "done"
    statuses = UploadStatusTable(cloud.dynamodb_table(cloud.exports["transformStatusTable"]))
    wait_until(
        lambda: (row := statuses.get(upload_id)) is not None and row.notified_at is not None,
        f"upload {upload_id}'s notice recorded on its row",
    )
    # WHEN S3 delivers its ObjectCreated event a second time
    duplicate = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": cloud.exports["transformInputBucket"]},
                    "object": {"key": f"uploads/{upload_id}.xml"},
                },
            }
        ]
    }
    cloud.client("sqs").send_message(
        QueueUrl=cloud.exports["transformQueueUrl"], MessageBody=json.dumps(duplicate)
    )
    cloud.wait_idle()
    # THEN there is still one output object version and one `done` message
    versions = (
        cloud.client("s3")
        .list_object_versions(
            Bucket=cloud.exports["transformOutputBucket"], Prefix=f"results/{upload_id}.json"
        )
        .get("Versions", [])
    )
    assert len(versions) == 1
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["done"]
    assert upload_status(cloud, upload_id)["status"] == "done"


# -- large documents: POST /uploads, then straight to S3 ----------------------------------------------------


def input_keys(cloud: LocalCloud, upload_id: str) -> list[str]:
    """The keys of an upload's objects in the input bucket, whatever their prefix."""
    listing = cloud.client("s3").list_objects_v2(Bucket=cloud.exports["transformInputBucket"])
    return sorted(item["Key"] for item in listing.get("Contents", []) if upload_id in item["Key"])


def test_the_rules_a_person_can_pick_are_listed_with_their_descriptions(cloud: LocalCloud) -> None:
    # GIVEN the rule files the program loads WHEN a signed-in person asks for the rules
    listed = {rule["ruleId"]: rule["description"] for rule in list_rules(cloud)}
    # THEN every one is offered with its description
    for rule_id, rule_set in load_rule_files(RULES_DIR).items():
        assert listed[rule_id] == rule_set.description and rule_set.description


def test_a_9_mb_document_transforms_end_to_end_through_a_presigned_post(cloud: LocalCloud) -> None:
    # GIVEN a 9 MB orders document (the golden orders, repeated): too large for POST /upload, under the
    # 10 MB limit
    document, expected = golden_orders_of_about(9 * MEGABYTE)
    assert LAMBDA_REQUEST_BYTES < len(document) < MAX_UPLOAD_BYTES
    # WHEN it is uploaded as the upload page does: POST /uploads, then the file straight to S3
    upload_id, answer = upload_large(cloud, document, rule="orders-v1", name="orders-9mb.xml")
    # THEN S3 stores it (204), the upload becomes done and the presigned URL serves the rule-applied JSON
    assert answer.status == 204, answer.body
    status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "done", status
    output = request("GET", status["outputUrl"])
    assert output.status == 200
    assert canonical(json.loads(output.body)) == canonical(expected)
    # AND one `done` message reached the topic, and the document went on from incoming/ to uploads/
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["done"]
    moved_on = [f"uploads/{upload_id}.xml"]
    wait_until(lambda: input_keys(cloud, upload_id) == moved_on, f"{upload_id} only under uploads/")


def test_an_11_mb_document_is_refused_by_s3s_policy_check(cloud: LocalCloud) -> None:
    # GIVEN an upload URL, whose policy bounds the file to the 10 MB limit
    document = b"<a>" + b"x" * (11 * MEGABYTE) + b"</a>"
    # WHEN an 11 MB file is posted with it
    upload_id, answer = upload_large(cloud, document, rule="orders-v1", name="orders-11mb.xml")
    # THEN S3 itself refuses it, saying the size allowed, and stores nothing
    assert answer.status == 400
    assert b"<Code>EntityTooLarge</Code>" in answer.body
    assert f"<MaxSizeAllowed>{MAX_UPLOAD_BYTES}</MaxSizeAllowed>".encode() in answer.body
    assert input_keys(cloud, upload_id) == []
    # AND the upload still awaits a file
    assert upload_status(cloud, upload_id)["status"] == "awaiting_upload"


def test_a_malformed_large_document_ends_rejected_kept_in_quarantine_and_announced(cloud: LocalCloud) -> None:
    # GIVEN a 7 MB orders document cut off before its end
    document = generate_orders_xml(7 * MEGABYTE)[:-100]
    # WHEN it is uploaded through a presigned POST
    upload_id, answer = upload_large(cloud, document, rule="orders-v1", name="cut-off.xml")
    assert answer.status == 204, answer.body
    # THEN the upload ends rejected with the reason POST /upload would give
    status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "rejected", status
    assert "not well-formed" in status["reason"]
    assert cloud.exports["transformInputBucket"] not in status["reason"]
    # AND one message says so, with the reason (sent once the file is in quarantine)
    [message] = topic_messages_for(cloud, upload_id)
    assert (message["status"], message["reason"]) == ("rejected", status["reason"])
    # AND the file is kept, as it was posted, under quarantine/ (and nowhere else)
    assert input_keys(cloud, upload_id) == [f"quarantine/{upload_id}.xml"]
    kept = cloud.client("s3").head_object(
        Bucket=cloud.exports["transformInputBucket"], Key=f"quarantine/{upload_id}.xml"
    )
    assert kept["ContentLength"] == len(document)


def test_an_upload_url_for_an_unknown_rule_is_refused_and_creates_nothing(cloud: LocalCloud) -> None:
    rows_before = status_rows(cloud)
    response = request_upload_url(cloud, rule="no-such-rule", name="a.xml")
    assert (response.status, response.json()["error"]) == (400, "unknown_rule")
    assert status_rows(cloud) == rows_before


def function_arn(cloud: LocalCloud, name_prefix: str) -> str:
    functions = cloud.client("lambda").get_paginator("list_functions").paginate()
    [arn] = [
        function["FunctionArn"]
        for page in functions
        for function in page["Functions"]
        if function["FunctionName"].startswith(name_prefix)
    ]
    return str(arn)


def test_a_large_upload_whose_check_keeps_failing_ends_failed_and_its_file_is_kept(cloud: LocalCloud) -> None:
    # GIVEN an upload URL, and a validator that cannot reach DynamoDB (every attempt Lambda makes fails)
    issued = request_upload_url(cloud, rule="orders-v1", name="unlucky.xml").json()
    upload_id = issued["uploadId"]
    with service_unreachable(cloud, function_arn(cloud, "transform-staged-upload"), "dynamodb"):
        # WHEN the file is posted
        assert post_file(issued["upload"], generate_orders_xml(200_000)).status == 204
        # THEN after Lambda's retries its event reaches the validator's DLQ, whose consumer fails the upload
        status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "failed"
    assert f"kept as incoming/{upload_id}.xml" in status["reason"]
    # AND the file is still where it was posted, and subscribers are told
    assert input_keys(cloud, upload_id) == [f"incoming/{upload_id}.xml"]
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["failed"]


def dropped_file_outcome(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """The status row of a file put straight into the input bucket, once final (the table: the status API
    shows a dropped file to nobody, it has no uploader signed in)."""
    table = cloud.dynamodb_table(cloud.exports["transformStatusTable"])

    def final() -> dict[str, Any] | None:
        rows = table.scan(FilterExpression="sourceKey = :key", ExpressionAttributeValues={":key": key})[
            "Items"
        ]
        return rows[0] if rows and rows[0]["status"] in ("done", "failed", "rejected") else None

    row: dict[str, Any] = wait_until(final, f"the outcome of {key}")
    return row


def test_files_copied_into_a_rules_folder_are_transformed_to_json_named_after_them(cloud: LocalCloud) -> None:
    # GIVEN seed 001's `aws s3 cp app/data s3://xml-data --recursive`, into the orders-v1 rule's folder
    bucket = cloud.exports["transformInputBucket"]
    samples = Path(__file__).resolve().parents[2] / "samples"
    december, december_json = golden_orders_of_about(200_000)
    documents = {
        "incoming/orders-v1/data.xml": (
            (samples / "orders.xml").read_bytes(),
            json.loads((GOLDEN_DIR / "samples-orders.json").read_text(encoding="utf-8")),
        ),
        "incoming/orders-v1/2026/december.xml": (december, december_json),
    }
    s3 = cloud.client("s3")
    for key, (document, _) in documents.items():
        s3.put_object(Bucket=bucket, Key=key, Body=document)
    for key, (document, expected) in documents.items():
        # WHEN each file's event has run its course
        row = dropped_file_outcome(cloud, key)
        # THEN it is done, its JSON named after it (the seed's data.xml -> data.json) and the reviewed golden
        assert (row["status"], row["ruleId"]) == ("done", "orders-v1"), row
        output_key = "results/" + key.removesuffix(".xml") + ".json"
        assert row["outputKey"] == output_key
        output = s3.get_object(Bucket=cloud.exports["transformOutputBucket"], Key=output_key)["Body"].read()
        assert canonical(json.loads(output)) == canonical(expected)
        # AND SNS said done, naming the file, which stays where it was put
        [message] = topic_messages_for(cloud, row["uploadId"])
        assert (message["status"], message["sourceKey"]) == ("done", key)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(document)


def test_a_dropped_file_naming_no_rule_is_rejected_announced_and_kept(cloud: LocalCloud) -> None:
    # GIVEN a file put straight under incoming/ without a rule folder or rule-id metadata
    bucket = cloud.exports["transformInputBucket"]
    cloud.client("s3").put_object(Bucket=bucket, Key="incoming/stray.xml", Body=b"<orders/>")
    # WHEN its event has run its course
    row = dropped_file_outcome(cloud, "incoming/stray.xml")
    # THEN it is rejected saying how to name a rule, SNS says so, and the file is still there
    assert row["status"] == "rejected" and "names no rule" in row["reason"], row
    [message] = topic_messages_for(cloud, row["uploadId"])
    assert (message["status"], message["reason"]) == ("rejected", row["reason"])
    cloud.client("s3").head_object(Bucket=bucket, Key="incoming/stray.xml")


def test_a_file_put_outside_the_pipelines_prefixes_is_refused_not_ignored(cloud: LocalCloud) -> None:
    # GIVEN the input bucket WHEN a file is put at its root, as seed 001 copies into its xml-data bucket
    s3 = cloud.client("s3")
    with pytest.raises(
        ClientError, match=r"\(AccessDenied\) when calling the PutObject operation"
    ) as refused:
        s3.put_object(Bucket=cloud.exports["transformInputBucket"], Key="data.xml", Body=b"<orders/>")
    # THEN S3 refuses it (the bucket policy's explicit deny binds the account's root too), so nothing sits
    # where nothing would read it
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    [denial] = [found for found in cloud.emulator.iam.denials if found.resource.endswith("/data.xml")]
    assert (denial.action, denial.principal) == ("s3:PutObject", "arn:aws:iam::123456789012:root")
    assert "DenyWritesOutsideTheBucketsPrefixes" in denial.reason
    # (the module's no-denial check at teardown is for missing permissions: this one is the guarantee)
    cloud.emulator.iam.denials.remove(denial)
