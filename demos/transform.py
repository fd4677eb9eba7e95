"""XML -> JSON transform, end to end: a good upload, a rejected one, a rule failure landing in the DLQ."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from demos.waiting import wait_until
from handlers.transform.rules import parse_rule_set
from handlers.transform.transform import transform_document
from handlers.transform.xml_validation import validate_xml
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import HttpResponse, request
from samples.transform_documents import generate_orders_xml
from scripts.put_rule import put_rules

PROJECT_DIR = Path(__file__).resolve().parents[1]
SAMPLE_BYTES = 2_500_000
Report = Callable[[str], None]


def upload(
    cloud: LocalCloud, document: bytes, *, rule: str, name: str, content_type: str = "application/xml"
) -> HttpResponse:
    url = f"{cloud.exports['transformUploadUrl']}?rule={rule}&name={name}"
    return request("POST", url, body=document, headers={"Content-Type": content_type})


def upload_status(cloud: LocalCloud, upload_id: str) -> dict[str, Any]:
    response = request("GET", cloud.exports["transformStatusUrl"].replace("{id}", upload_id))
    if response.status != 200:
        raise RuntimeError(f"GET status of {upload_id} answered {response.status}: {response.body!r}")
    result: dict[str, Any] = response.json()
    return result


def wait_for_final_status(cloud: LocalCloud, upload_id: str, timeout_seconds: float = 60.0) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        status = upload_status(cloud, upload_id)
        return status if status["status"] != "pending" else None

    found: dict[str, Any] = wait_until(final, f"upload {upload_id} leaving pending", timeout_seconds)
    return found


def expected_json(document: bytes, rule_file: Path) -> Any:
    """What the pipeline must produce: the same pure functions the worker runs."""
    normalised = validate_xml(document, max_bytes=len(document) + 1, max_depth=1000)
    return json.loads(transform_document(normalised, parse_rule_set(json.loads(rule_file.read_text()))))


def dlq_messages(cloud: LocalCloud, timeout_seconds: float = 30.0, expected: int = 1) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    deadline = time.monotonic() + timeout_seconds
    found: list[dict[str, Any]] = []
    while len(found) < expected and time.monotonic() < deadline:
        found += sqs.receive_message(
            QueueUrl=cloud.exports["transformDlqUrl"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
        ).get("Messages", [])
    return found


def s3_keys(sqs_message: dict[str, Any]) -> list[str]:
    """Object keys named by an SQS message that carries an S3 event notification."""
    records = json.loads(sqs_message["Body"]).get("Records", [])
    # Keys in S3 event notifications are URL-encoded.
    return [unquote_plus(record["s3"]["object"]["key"]) for record in records]


def run(cloud: LocalCloud, report: Report) -> bool:
    report("== XML -> JSON transform")
    checks: list[tuple[str, bool]] = []
    document = generate_orders_xml(SAMPLE_BYTES)

    started = time.monotonic()
    accepted = upload(cloud, document, rule="orders-v1", name="orders.xml")
    report(f"POST /upload ({len(document):,} bytes, rule orders-v1) -> {accepted.status} {accepted.body!r}")
    upload_id = accepted.json().get("uploadId", "")
    status = wait_for_final_status(cloud, upload_id)
    report(f"GET /uploads/{upload_id} -> {status['status']} after {time.monotonic() - started:.2f} s")
    output = request("GET", status.get("outputUrl", "http://127.0.0.1:1/missing"))
    produced = json.loads(output.body) if output.status == 200 else None
    report(f"presigned URL -> {output.status}, {len(output.body):,} bytes of JSON")
    checks.append(("upload accepted (202)", accepted.status == 202))
    checks.append(("status done", status["status"] == "done"))
    checks.append(
        (
            "JSON equals the rules applied",
            produced == expected_json(document, PROJECT_DIR / "rules/orders-v1.json"),
        )
    )

    rejected = upload(
        cloud, b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', rule="orders-v1", name="evil.xml"
    )
    report(f"POST /upload (DOCTYPE with an entity) -> {rejected.status} {rejected.body.decode()}")
    checks.append(("DOCTYPE rejected with 400", rejected.status == 400))

    broken_rule = PROJECT_DIR / "build" / "demo-broken-rule.json"
    broken_rule.parent.mkdir(exist_ok=True)
    broken_rule.write_text(
        json.dumps({"ruleId": "demo-broken", "cast": {"orders/order/customer/name": "int"}})
    )
    put_rules(cloud.dynamodb_table(cloud.exports["transformRulesTable"]), [broken_rule])
    failing = upload(cloud, generate_orders_xml(20_000), rule="demo-broken", name="will-fail.xml")
    failing_id = failing.json().get("uploadId", "")
    failed = wait_for_final_status(cloud, failing_id)
    report(f"rule demo-broken casts names to int -> {failed['status']}: {failed.get('reason')}")
    in_dlq = dlq_messages(cloud)
    report(f"dead-letter queue holds {len(in_dlq)} message(s) for it")
    checks.append(
        ("failed upload reported with a reason", failed["status"] == "failed" and bool(failed.get("reason")))
    )
    checks.append(
        ("failed message in the DLQ", any(f"uploads/{failing_id}.xml" in s3_keys(m) for m in in_dlq))
    )

    topic_arn = cloud.exports["transformTopicArn"]

    def both_told() -> list[dict[str, Any]] | None:
        messages = cloud.sns_messages(topic_arn)
        told = {json.loads(m["message"]).get("uploadId") for m in messages} >= {upload_id, failing_id}
        return messages if told else None

    try:
        messages = wait_until(both_told, "SNS messages for both uploads", 30)
    except TimeoutError:
        messages = cloud.sns_messages(topic_arn)
    for message in messages:
        report(f"SNS {message['subject']!r}: {message['message']}")
    checks.append(
        (
            "SNS told of both outcomes",
            {json.loads(m["message"])["uploadId"] for m in messages} >= {upload_id, failing_id},
        )
    )
    for label, passed in checks:
        report(f"  [{'ok' if passed else 'FAILED'}] {label}")
    return all(passed for _, passed in checks)
