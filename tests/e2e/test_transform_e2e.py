"""The TransformPipeline deployed by localcloud: what a user of the HTTP API and the topic sees."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from demos.doors import call
from demos.transform import (
    expected_json,
    upload,
    upload_status,
    wait_for_dead_letter,
    wait_for_final_status,
)
from demos.waiting import wait_until
from handlers.transform.upload_status import UploadStatusTable
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
from samples.transform_documents import generate_orders_xml
from scripts.put_rule import put_rules
from tests.e2e.conftest import E2E_MAX_UPLOAD_BYTES

pytestmark = pytest.mark.e2e
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
    # GIVEN a realistic 2.5 MB orders document
    document = generate_orders_xml(2_500_000)
    # WHEN it is uploaded with rule orders-v1
    accepted = upload(cloud, document, rule="orders-v1", name="orders.xml")
    assert accepted.status == 202, accepted.body
    upload_id = accepted.json()["uploadId"]
    # THEN the status becomes done and the presigned URL serves the rule-applied JSON
    status = wait_for_final_status(cloud, upload_id)
    assert status["status"] == "done", status
    output = request("GET", status["outputUrl"])
    assert output.status == 200
    assert json.loads(output.body) == expected_json(document, RULES_DIR / "orders-v1.json")
    # AND one `done` message reached the topic
    assert [m["status"] for m in topic_messages_for(cloud, upload_id)] == ["done"]


@pytest.mark.parametrize(
    ("case", "body", "query", "content_type", "status", "error"),
    [
        (
            "oversize",
            b"<a>" + b"x" * E2E_MAX_UPLOAD_BYTES + b"</a>",
            "rule=orders-v1&name=a.xml",
            "application/xml",
            413,
            "payload_too_large",
        ),
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
    # GIVEN a finished upload
    accepted = upload(cloud, generate_orders_xml(50_000), rule="orders-v1", name="twice.xml")
    upload_id = accepted.json()["uploadId"]
    assert wait_for_final_status(cloud, upload_id)["status"] == "done"
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
