"""GET /uploads/{id}: 400 for a bad id, 404 for an unknown one, the row otherwise; traces keep no reply."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from handlers.transform import status_api, upload_api

from .conftest import FakeLambdaContext, Pipeline, status_event, upload_event
from .recording_tracer import record_traces

NOW = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
ORDERS_XML = b'<?xml version="1.0" encoding="UTF-8"?><orders><order id="1"><qty>2</qty></order></orders>'


def get(upload_id: str, context: FakeLambdaContext) -> tuple[int, dict[str, Any]]:
    response = status_api.lambda_handler(status_event(upload_id), context)
    return response["statusCode"], json.loads(response["body"])


def pending(pipeline: Pipeline) -> str:
    upload_id = str(uuid.uuid4())
    pipeline.statuses.create_pending(
        upload_id=upload_id,
        rule_id="orders-v1",
        file_name="o.xml",
        input_key=f"uploads/{upload_id}.xml",
        size_bytes=10,
        now=NOW,
    )
    return upload_id


def test_a_non_uuid_id_is_400(handler_env: Pipeline, lambda_context: FakeLambdaContext) -> None:
    status_code, body = get("not-a-uuid", lambda_context)
    assert (status_code, body["error"]) == (400, "invalid_upload_id")


def test_an_unknown_id_is_404_naming_the_id_and_not_our_table(
    handler_env: Pipeline, lambda_context: FakeLambdaContext, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an id no upload has
    upload_id = str(uuid.uuid4())
    # WHEN its status is asked for
    status_code, body = get(upload_id, lambda_context)
    # THEN the reply is 404 saying which id and what to check, without naming the table it looked in
    assert (status_code, body["error"]) == (404, "not_found")
    assert body["message"] == f"there is no upload {upload_id}; check the uploadId returned by POST /upload"
    assert handler_env.status_table_name not in json.dumps(body)
    # AND the log keeps where it looked (Powertools keeps extra keys as record attributes)
    [logged] = [record for record in caplog.records if record.getMessage() == "no such upload"]
    assert logged.table == handler_env.status_table_name  # type: ignore[attr-defined]


def test_a_pending_upload_shows_its_row_without_output(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    upload_id = pending(handler_env)
    status_code, body = get(upload_id, lambda_context)
    assert status_code == 200
    assert body == {
        "uploadId": upload_id,
        "status": "pending",
        "fileName": "o.xml",
        "ruleId": "orders-v1",
        "createdAt": "2024-06-01T10:00:00.000Z",
        "updatedAt": "2024-06-01T10:00:00.000Z",
    }


def test_a_failed_upload_shows_the_reason(handler_env: Pipeline, lambda_context: FakeLambdaContext) -> None:
    upload_id = pending(handler_env)
    handler_env.statuses.mark_failed(upload_id, reason="cannot cast 'x'", now=NOW)
    status_code, body = get(upload_id, lambda_context)
    assert (status_code, body["status"], body["reason"]) == (200, "failed", "cannot cast 'x'")
    assert "outputUrl" not in body


def test_a_large_upload_shows_awaiting_upload_then_rejected_with_the_reason(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a large upload whose file has not been checked yet
    upload_id = str(uuid.uuid4())
    handler_env.statuses.create_awaiting_upload(
        upload_id=upload_id,
        rule_id="orders-v1",
        file_name="big.xml",
        staged_key=f"incoming/{upload_id}.xml",
        now=NOW,
    )
    # WHEN its status is read THEN it is awaiting_upload, with no reason and no output
    status_code, body = get(upload_id, lambda_context)
    assert (status_code, body["status"]) == (200, "awaiting_upload")
    assert "reason" not in body and "outputUrl" not in body
    # WHEN its file was refused THEN the status is rejected, with the reason
    handler_env.statuses.mark_rejected(upload_id, reason="the XML is not well-formed at line 1", now=NOW)
    _, body = get(upload_id, lambda_context)
    assert (body["status"], body["reason"]) == ("rejected", "the XML is not well-formed at line 1")
    assert "outputUrl" not in body


def test_a_done_upload_gives_a_presigned_url_that_fetches_the_output(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a finished upload whose JSON is in the output bucket
    upload_id = pending(handler_env)
    key = f"results/{upload_id}.json"
    handler_env.s3.put_object(Bucket=handler_env.output_bucket, Key=key, Body=b'{"ok":true}')
    handler_env.statuses.mark_done(upload_id, output_key=key, now=NOW)
    # WHEN its status is read
    status_code, body = get(upload_id, lambda_context)
    # THEN the reply carries the key and a signed GET URL for exactly that object, valid 900 s
    assert (status_code, body["status"], body["outputKey"]) == (200, "done", key)
    url = urlparse(body["outputUrl"])
    assert url.path.endswith(f"/{key}") and handler_env.output_bucket in body["outputUrl"]
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]
    download = requests.get(body["outputUrl"], timeout=5)
    assert download.content == b'{"ok":true}'
    # AND a browser following it saves the JSON under the uploaded file's name
    assert download.headers["Content-Disposition"].startswith('attachment; filename="')
    assert ".json" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("file_name", "disposition"),
    [
        ("orders.xml", "attachment; filename=\"orders.json\"; filename*=UTF-8''orders.json"),
        (
            "Bestellungen März.XML",
            "attachment; filename=\"Bestellungen M_rz.json\"; filename*=UTF-8''Bestellungen%20M%C3%A4rz.json",
        ),
        (
            'say "hi"\\.xml',
            "attachment; filename=\"say _hi__.json\"; filename*=UTF-8''say%20%22hi%22%5C.json",
        ),
        ("notes.txt", "attachment; filename=\"notes.txt.json\"; filename*=UTF-8''notes.txt.json"),
    ],
)
def test_the_download_is_named_after_the_upload_whatever_its_characters(
    file_name: str, disposition: str
) -> None:
    assert status_api.attachment(status_api.output_file_name(file_name)) == disposition


def test_traces_keep_neither_reply_nor_its_presigned_url(
    handler_env: Pipeline, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a finished upload, and a tracer whose traces are recorded
    upload_id = pending(handler_env)
    key = f"results/{upload_id}.json"
    handler_env.s3.put_object(Bucket=handler_env.output_bucket, Key=key, Body=b"{}")
    handler_env.statuses.mark_done(upload_id, output_key=key, now=NOW)
    traces = record_traces(status_api.tracer, monkeypatch)
    # WHEN its status (with a presigned URL) is read
    status_code, body = get(upload_id, lambda_context)
    # THEN the handler and the route were traced
    assert status_code == 200 and "X-Amz-Signature" in body["outputUrl"]
    traced = [subsegment.name for subsegment in traces.subsegments]
    assert "## lambda_handler" in traced and any(name.endswith("get_upload") for name in traced)
    # AND no trace kept a response: the URL is a credential for the object until it expires
    assert not [name for name in traces.recorded() if name.endswith(" response")]
    assert "X-Amz-Signature" not in repr(traces.recorded())


def as_person(event: dict[str, Any], subject: str | None) -> dict[str, Any]:
    """The event as API Gateway passes it for another signed-in person, or for no one (None)."""
    if subject is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = subject
    return event


def test_only_the_uploader_sees_an_upload_and_others_get_the_404_of_an_unknown_id(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an upload made through POST /upload by the person of the shared event
    upload = upload_event(ORDERS_XML)
    uploaded = json.loads(upload_api.lambda_handler(upload, lambda_context)["body"])["uploadId"]
    uploader = upload["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    # WHEN the uploader asks THEN they see it
    mine = status_api.lambda_handler(as_person(status_event(uploaded), uploader), lambda_context)
    assert mine["statusCode"] == 200
    # AND another person is told there is no such upload, as for an id nobody has
    theirs = status_api.lambda_handler(as_person(status_event(uploaded), "someone-else"), lambda_context)
    assert (theirs["statusCode"], json.loads(theirs["body"])["error"]) == (404, "not_found")


def test_an_upload_stored_before_uploads_had_owners_stays_visible(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    upload_id = pending(handler_env)  # a row without an owner
    answer = status_api.lambda_handler(as_person(status_event(upload_id), "anyone"), lambda_context)
    assert answer["statusCode"] == 200


def test_a_request_no_authorizer_vouched_for_is_401_and_stores_nothing(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN requests without the authorizer's block (a route that lost its authorization)
    upload = upload_api.lambda_handler(as_person(upload_event(ORDERS_XML), None), lambda_context)
    status = status_api.lambda_handler(as_person(status_event(str(uuid.uuid4())), None), lambda_context)
    # THEN both are 401 naming the problem, and no upload was stored
    for answer in (upload, status):
        assert (answer["statusCode"], json.loads(answer["body"])["error"]) == (401, "unauthenticated")
    assert handler_env.statuses.table.scan()["Items"] == []
