"""POST /uploads: a large document's upload starts awaiting its file, with a presigned POST S3 holds to the
key, the content type and the size limit; a refused request writes nothing."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from handlers.transform import status_api, upload_url_api

from ..conftest import FakeLambdaContext, Pipeline, load_event, status_event
from ..recording_tracer import record_traces
from .conftest import keys_under, status_of

PERSON = "7d1a6f3e-2b4c-4e8a-9f0d-5c6b7a8e9f10"  # the subject of tests/events/transform_uploads_post.json
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # the handler_env's MAX_UPLOAD_BYTES
# Where an HTTP API's routes live: AWS's $default stage, a named stage, and localcloud's loopback URL.
HTTP_API_BASES = (
    "https://a1b2c3.execute-api.us-east-1.amazonaws.com",
    "https://a1b2c3.execute-api.us-east-1.amazonaws.com/v1",
    "http://127.0.0.1:4566/apis/a1b2c3",
)


def uploads_event(
    query: dict[str, str] | None = None, *, body: str | None = None, subject: str | None = PERSON
) -> dict[str, Any]:
    """POST /uploads as the front door delivers it, built on tests/events/transform_uploads_post.json."""
    event = copy.deepcopy(load_event("transform_uploads_post.json"))
    if query is not None:
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    if body is not None:
        event["body"] = body
    if subject is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = subject
    return event


def invoke(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any]]:
    response = upload_url_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def policy_of(reply: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(reply["upload"]["fields"]["policy"]))
    return policy


def test_an_upload_url_starts_the_upload_awaiting_its_file_owned_by_the_caller(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a signed-in person naming a loaded rule and a file
    # WHEN they ask for an upload URL
    status_code, reply = invoke(uploads_event(), lambda_context)
    # THEN the reply is 201 with the upload's id and status, and where to ask for it: relative to the
    # request's URL, so it names the status route under any API base (AWS, a named stage, localcloud)
    assert status_code == 201
    upload_id = reply["uploadId"]
    assert (reply["status"], reply["statusUrl"]) == ("awaiting_upload", f"uploads/{upload_id}")
    for api in HTTP_API_BASES:
        assert urljoin(f"{api}/uploads?rule=orders-v1", reply["statusUrl"]) == f"{api}/uploads/{upload_id}"
    assert reply["maxUploadBytes"] == MAX_UPLOAD_BYTES and reply["expiresAt"].endswith("Z")
    # AND the row is theirs, awaiting the file at incoming/<id>.xml
    row = status_of(large_upload_env, upload_id)
    assert (row["status"], row["owner"], row["ruleId"], row["fileName"], row["inputKey"]) == (
        "awaiting_upload",
        PERSON,
        "orders-v1",
        "orders-2024-06-full.xml",
        f"incoming/{upload_id}.xml",
    )
    # AND nothing is stored yet
    assert large_upload_env.keys(large_upload_env.input_bucket) == []
    # AND they (only they) see it awaiting
    mine = status_api.lambda_handler(status_event(upload_id), lambda_context)
    assert json.loads(mine["body"])["status"] == "awaiting_upload"


def test_the_presigned_post_fixes_the_key_and_content_type_and_bounds_the_size(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an upload URL issued between two readings of the clock
    before = datetime.now(UTC).replace(microsecond=0)
    _, reply = invoke(uploads_event(), lambda_context)
    after = datetime.now(UTC)
    upload_id = reply["uploadId"]
    # WHEN its policy is read
    policy = policy_of(reply)
    conditions = policy["conditions"]
    # THEN S3 accepts exactly incoming/<id>.xml in the input bucket, as application/xml, 1 B to the limit
    assert {"key": f"incoming/{upload_id}.xml"} in conditions
    assert {"bucket": large_upload_env.input_bucket} in conditions
    assert {"Content-Type": "application/xml"} in conditions
    assert ["content-length-range", 1, MAX_UPLOAD_BYTES] in conditions
    assert reply["upload"]["fields"]["Content-Type"] == "application/xml"
    # AND it is a SigV4 policy (S3 refuses SigV2 for new buckets), valid as long as the reply says
    assert reply["upload"]["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    # AND both the reply and the policy S3 enforces expire 15 minutes (the default upload URL lifetime)
    # after the request: not sooner (a person with a slow link must finish), not later (a leaked form stays
    # usable no longer than that); the policy counts whole seconds
    expires_at = datetime.fromisoformat(reply["expiresAt"])
    policy_expires = datetime.fromisoformat(policy["expiration"])
    for expiry in (expires_at, policy_expires):
        assert before + timedelta(minutes=15) <= expiry <= after + timedelta(minutes=15)


def test_a_file_posted_with_the_form_lands_in_incoming(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an issued upload URL
    _, reply = invoke(uploads_event(), lambda_context)
    # WHEN a client posts a file with its fields, as a browser does
    answer = requests.post(
        reply["upload"]["url"],
        data=reply["upload"]["fields"],
        files={"file": ("orders.xml", b"<orders/>", "application/xml")},
        timeout=5,
    )
    # THEN S3 stores it where the validator is notified
    assert answer.status_code == 204
    assert keys_under(large_upload_env, "incoming/") == [f"incoming/{reply['uploadId']}.xml"]


@pytest.mark.parametrize(
    ("query", "body", "status", "code"),
    [
        ({"rule": "orders-v9", "name": "a.xml"}, None, 400, "unknown_rule"),
        ({"name": "a.xml"}, None, 400, "invalid_query"),
        ({"rule": "orders-v1", "name": "../a.xml"}, None, 400, "invalid_query"),
        ({}, None, 400, "invalid_query"),
        ({"rule": "orders-v1", "name": "a.xml"}, "<orders/>", 400, "unexpected_body"),
    ],
    ids=["unknown-rule", "missing-rule", "name-with-path", "no-query", "a-document-sent-here"],
)
def test_a_refused_request_creates_no_upload(
    large_upload_env: Pipeline,
    lambda_context: FakeLambdaContext,
    query: dict[str, str],
    body: str | None,
    status: int,
    code: str,
) -> None:
    status_code, reply = invoke(uploads_event(query, body=body), lambda_context)
    assert (status_code, reply["error"]) == (status, code)
    assert reply["message"] and large_upload_env.rules_table_name not in reply["message"]
    assert large_upload_env.status_rows() == []


def test_a_missing_rule_is_explained_with_this_routes_usage(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    _, reply = invoke(uploads_event({"name": "a.xml"}), lambda_context)
    assert "POST /uploads?rule=<ruleId>&name=<file>" in reply["message"]


def test_a_request_no_authorizer_vouched_for_is_401_and_creates_nothing(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    status_code, reply = invoke(uploads_event(subject=None), lambda_context)
    assert (status_code, reply["error"]) == (401, "unauthenticated")
    assert large_upload_env.status_rows() == []


def test_traces_keep_neither_reply_nor_its_presigned_post(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a tracer whose traces are recorded
    traces = record_traces(upload_url_api.tracer, monkeypatch)
    # WHEN an upload URL is issued
    status_code, reply = invoke(uploads_event(), lambda_context)
    # THEN the handler and the route were traced, but no trace kept the reply: its signed policy is a
    # credential for the key until it expires
    assert status_code == 201
    traced = [subsegment.name for subsegment in traces.subsegments]
    assert "## lambda_handler" in traced and any(name.endswith("post_uploads") for name in traced)
    assert not [name for name in traces.recorded() if name.endswith(" response")]
    assert reply["upload"]["fields"]["x-amz-signature"] not in repr(traces.recorded())


def test_the_events_file_is_understood(large_upload_env: Pipeline, lambda_context: FakeLambdaContext) -> None:
    status_code, reply = invoke(load_event("transform_uploads_post.json"), lambda_context)
    assert status_code == 201 and reply["status"] == "awaiting_upload"
