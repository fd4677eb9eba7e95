"""GET /uploads/{id}: 400 for a bad id, 404 for an unknown one, the row otherwise."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from handlers.transform import status_api

from .conftest import FakeLambdaContext, Pipeline, status_event

NOW = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


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


def test_an_unknown_id_is_404(handler_env: Pipeline, lambda_context: FakeLambdaContext) -> None:
    status_code, body = get(str(uuid.uuid4()), lambda_context)
    assert (status_code, body["error"]) == (404, "not_found")


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
    assert requests.get(body["outputUrl"], timeout=5).content == b'{"ok":true}'
