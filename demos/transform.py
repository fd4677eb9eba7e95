"""XML -> JSON transform, end to end: a good upload, a rejected one, a rule failure landing in the DLQ."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from demos.doors import call
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
    return call(cloud, "transform", "POST", url, body=document, headers={"Content-Type": content_type})


def request_upload_url(cloud: LocalCloud, *, rule: str, name: str) -> HttpResponse:
    """POST /uploads: a new upload awaiting its file, and the presigned POST to send the file with."""
    query = urlencode({"rule": rule, "name": name})
    return call(cloud, "transform", "POST", f"{cloud.exports['transformUploadsUrl']}?{query}")


def post_file(upload: Mapping[str, Any], document: bytes) -> HttpResponse:
    """The file sent to S3 as a browser's form sends it: multipart/form-data, the presigned POST's fields,
    then the file (S3 reads the fields before the file, so it goes last)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in upload["fields"].items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="document.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n".encode()
    )
    body = b"".join([*parts, document, f"\r\n--{boundary}--\r\n".encode()])
    return request(
        "POST",
        upload["url"],
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def upload_large(cloud: LocalCloud, document: bytes, *, rule: str, name: str) -> tuple[str, HttpResponse]:
    """A document of any size up to transformMaxUploadBytes, as the upload page sends one: POST /uploads
    for a presigned POST, then the file straight to S3. Returns the upload id and S3's answer (204 when
    stored; 400 EntityTooLarge above the limit)."""
    issued = request_upload_url(cloud, rule=rule, name=name)
    if issued.status != 201:
        raise RuntimeError(f"POST /uploads answered {issued.status}: {issued.body!r}")
    reply = issued.json()
    return str(reply["uploadId"]), post_file(reply["upload"], document)


def list_rules(cloud: LocalCloud) -> list[dict[str, str]]:
    """GET /rules: the rules a person can pick, with their descriptions."""
    response = call(cloud, "transform", "GET", cloud.exports["transformRulesUrl"])
    if response.status != 200:
        raise RuntimeError(f"GET /rules answered {response.status}: {response.body!r}")
    rules: list[dict[str, str]] = response.json()["rules"]
    return rules


def upload_status(cloud: LocalCloud, upload_id: str) -> dict[str, Any]:
    response = call(cloud, "transform", "GET", cloud.exports["transformStatusUrl"].replace("{id}", upload_id))
    if response.status != 200:
        raise RuntimeError(f"GET status of {upload_id} answered {response.status}: {response.body!r}")
    result: dict[str, Any] = response.json()
    return result


def wait_for_final_status(cloud: LocalCloud, upload_id: str, timeout_seconds: float = 60.0) -> dict[str, Any]:
    """The status once done, failed or rejected (a large upload whose file failed the checks)."""

    def final() -> dict[str, Any] | None:
        status = upload_status(cloud, upload_id)
        return status if status["status"] not in ("awaiting_upload", "pending") else None

    found: dict[str, Any] = wait_until(final, f"upload {upload_id} finishing", timeout_seconds)
    return found


def expected_json(document: bytes, rule_file: Path) -> Any:
    """What the pipeline must produce: the same pure functions the worker runs."""
    normalised = validate_xml(document, max_bytes=len(document) + 1, max_depth=1000)
    return json.loads(transform_document(normalised, parse_rule_set(json.loads(rule_file.read_text()))))


def dead_letter_outcomes(cloud: LocalCloud, key: str) -> list[str]:
    """How the DLQ's consumer settled the dead letters of `key` so far ('failed', 'announced', 'settled'),
    read from its log lines ("dead letter settled"), as an operator would read them."""
    lambda_client, logs = cloud.client("lambda"), cloud.client("logs")
    settlers = [
        function
        for page in lambda_client.get_paginator("list_functions").paginate()
        for function in page["Functions"]
        if function["FunctionName"].startswith("transform-dead-letters")
    ]
    outcomes = []
    for settler in settlers:
        group = (settler.get("LoggingConfig") or {}).get(
            "LogGroup"
        ) or f"/aws/lambda/{settler['FunctionName']}"
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        for event in (event for page in pages for event in page["events"]):
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if line.get("message") == "dead letter settled" and line.get("key") == key:
                outcomes.append(str(line.get("outcome")))
    return outcomes


def wait_for_dead_letter(cloud: LocalCloud, key: str, timeout_seconds: float = 60.0) -> list[str]:
    return wait_until(
        lambda: dead_letter_outcomes(cloud, key), f"the dead letter of {key} settled", timeout_seconds
    )


def dlq_depth(cloud: LocalCloud) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.exports["transformDlqUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


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
    settled = wait_for_dead_letter(cloud, f"uploads/{failing_id}.xml")
    report(
        f"its dead letter was settled by the DLQ's consumer ({', '.join(settled)}); "
        f"DLQ depth {dlq_depth(cloud)}"
    )
    checks.append(
        ("failed upload reported with a reason", failed["status"] == "failed" and bool(failed.get("reason")))
    )
    checks.append(("its dead letter settled by the DLQ's consumer", settled == ["settled"]))

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
