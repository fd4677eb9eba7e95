"""POST /upload: every rejection leaves nothing behind; accepted uploads are stored normalised."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

import pytest

from handlers.http_request import RequestRejectedError
from handlers.transform import upload_api
from handlers.transform.upload_api import accept_upload
from handlers.transform.xml_validation import XmlRejected

from .conftest import FakeLambdaContext, Pipeline, upload_event
from .test_xml_validation import BILLION_LAUGHS, XXE
from .transform.test_upload_url_api import HTTP_API_BASES

GOOD_XML = b'<?xml version="1.0" encoding="UTF-8"?><orders><order id="1"><paid>yes</paid></order></orders>'


def invoke(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any]]:
    response = upload_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def assert_nothing_written(pipeline: Pipeline) -> None:
    assert pipeline.keys(pipeline.input_bucket) == []
    assert pipeline.status_rows() == []


@pytest.mark.parametrize(
    ("body", "query", "content_type", "status", "code"),
    [
        (b"<a>" + b"x" * 11_000_000 + b"</a>", None, "application/xml", 413, "payload_too_large"),
        (b"", None, "application/xml", 400, "empty_body"),
        (b"<orders><order></orders>", None, "application/xml", 400, "malformed_xml"),
        (BILLION_LAUGHS, None, "application/xml", 400, "doctype_forbidden"),
        (XXE, None, "text/xml", 400, "doctype_forbidden"),
        (b"<e>" * 65 + b"</e>" * 65, None, "application/xml", 400, "too_deep"),
        (GOOD_XML, {"rule": "orders-v9", "name": "a.xml"}, "application/xml", 400, "unknown_rule"),
        (GOOD_XML, {"name": "a.xml"}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, {"rule": "orders v1", "name": "a.xml"}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, {"rule": "orders-v1"}, "application/xml", 400, "invalid_query"),
        (
            GOOD_XML,
            {"rule": "orders-v1", "name": "../../etc/passwd"},
            "application/xml",
            400,
            "invalid_query",
        ),
        (GOOD_XML, {"rule": "orders-v1", "name": "a\\b.xml"}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, {"rule": "orders-v1", "name": "a\nb.xml"}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, {"rule": "orders-v1", "name": "n" * 256}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, {}, "application/xml", 400, "invalid_query"),
        (GOOD_XML, None, "application/json", 415, "unsupported_media_type"),
        (GOOD_XML, None, "text/plain; charset=utf-8", 415, "unsupported_media_type"),
        (
            b'<?xml version="1.0" encoding="klingon"?><a/>',
            None,
            "application/xml",
            400,
            "unsupported_encoding",
        ),
    ],
    ids=[
        "oversize",
        "empty",
        "malformed",
        "billion-laughs",
        "xxe",
        "too-deep",
        "unknown-rule",
        "missing-rule",
        "bad-rule-id",
        "missing-name",
        "name-with-path",
        "name-with-backslash",
        "name-with-control-char",
        "name-too-long",
        "no-query",
        "json-content-type",
        "text-plain",
        "unknown-encoding",
    ],
)
def test_bad_upload_is_rejected_before_anything_is_stored(
    handler_env: Pipeline,
    lambda_context: FakeLambdaContext,
    body: bytes,
    query: dict[str, str] | None,
    content_type: str,
    status: int,
    code: str,
) -> None:
    # GIVEN a request with one thing wrong
    event = upload_event(body, query=query, content_type=content_type, base64_encoded=True)
    # WHEN the upload Lambda handles it
    status_code, reply = invoke(event, lambda_context)
    # THEN it answers with the documented status and code and a message, and stores nothing
    assert (status_code, reply["error"]) == (status, code)
    assert reply["message"]
    assert_nothing_written(handler_env)


def test_billion_laughs_is_rejected_before_anything_is_stored(handler_env: Pipeline) -> None:
    with pytest.raises(XmlRejected) as caught:
        accept_upload(
            body=BILLION_LAUGHS,
            content_type=None,
            query={"rule": "orders-v1", "name": "x.xml"},
            **handler_env.upload_args(),
        )
    assert caught.value.code == "doctype_forbidden"
    assert_nothing_written(handler_env)


def test_unknown_rule_message_says_how_to_load_it_without_naming_our_table(pipeline: Pipeline) -> None:
    # GIVEN a rule id no rule in the table has
    # WHEN an upload names it
    with pytest.raises(RequestRejectedError) as caught:
        accept_upload(
            body=GOOD_XML,
            content_type=None,
            query={"rule": "orders-v2", "name": "x.xml"},
            **pipeline.upload_args(),
        )
    # THEN the caller learns what is wrong and what to do, not where rules are kept
    assert caught.value.message == (
        "there is no rule 'orders-v2'; use the id of a loaded rule (GET /rules lists them), or have it "
        "loaded (scripts/put_rule.py) and upload again"
    )
    assert pipeline.rules_table_name not in caught.value.message


def test_an_invalid_stored_rule_is_refused_without_naming_our_table(pipeline: Pipeline) -> None:
    # GIVEN a stored rule whose value is not JSON (written around scripts/put_rule.py's checks)
    pipeline.dynamodb.Table(pipeline.rules_table_name).put_item(
        Item={"ruleId": "orders-broken", "rules": "{not json"}
    )
    # WHEN an upload names it
    with pytest.raises(RequestRejectedError) as caught:
        accept_upload(
            body=GOOD_XML,
            content_type=None,
            query={"rule": "orders-broken", "name": "x.xml"},
            **pipeline.upload_args(),
        )
    # THEN it is refused as an invalid rule, the table left out of the reply
    assert caught.value.code == "invalid_rule"
    assert caught.value.message.startswith("rule 'orders-broken' is stored but is not a valid rule set")
    assert pipeline.rules_table_name not in caught.value.message


def test_behind_a_function_url_the_reply_names_no_status_url_that_would_lead_nowhere(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an upload through a function URL (the local stack's front door: routeKey $default), where
    # each function is a URL of its own
    event = upload_event(b"<orders/>")
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    # WHEN it is accepted THEN the reply has no statusUrl (relative to the upload function's URL it would
    # reach the upload function again), only the id to put into transformStatusUrl
    status_code, reply = invoke(event, lambda_context)
    assert status_code == 202
    assert reply == {"uploadId": reply["uploadId"], "status": "pending"}


def test_accepted_upload_stores_normalised_xml_with_metadata_and_a_pending_row(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an ISO-8859-1 document, sent as text/xml with a charset parameter, base64 encoded
    document = '<?xml version="1.0" encoding="ISO-8859-1"?><orders><order id="1">Zoë</order></orders>'
    event = upload_event(
        document.encode("latin-1"),
        query={"rule": "orders-v1", "name": "Bestellung-März.xml"},
        content_type="text/xml; charset=ISO-8859-1",
        base64_encoded=True,
    )
    # WHEN the upload Lambda handles it
    status_code, reply = invoke(event, lambda_context)
    # THEN it is accepted with a status URL relative to the request's, so it names the status route under
    # any API base (AWS's $default stage, a named stage, localcloud's loopback URL)
    assert status_code == 202
    upload_id = reply["uploadId"]
    assert reply == {"uploadId": upload_id, "status": "pending", "statusUrl": f"uploads/{upload_id}"}
    for api in HTTP_API_BASES:
        assert urljoin(f"{api}/upload?rule=orders-v1", reply["statusUrl"]) == f"{api}/uploads/{upload_id}"
    # AND the stored object is the UTF-8 version, encrypted, with the metadata the worker needs
    stored = handler_env.s3.get_object(Bucket=handler_env.input_bucket, Key=f"uploads/{upload_id}.xml")
    assert stored["Body"].read() == document.replace("ISO-8859-1", "UTF-8").encode("utf-8")
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Metadata"] == {
        "upload-id": upload_id,
        "rule-id": "orders-v1",
        "file-name": "Bestellung-M%C3%A4rz.xml",
    }
    # AND the status row is pending with what the status API shows
    [row] = handler_env.status_rows()
    assert row["status"] == "pending" and row["ruleId"] == "orders-v1"
    assert row["fileName"] == "Bestellung-März.xml" and row["inputKey"] == f"uploads/{upload_id}.xml"
    assert int(row["sizeBytes"]) == len(stored_body := document.replace("ISO-8859-1", "UTF-8").encode())
    assert stored_body and row["createdAt"] == row["updatedAt"] and row["createdAt"].endswith("Z")


def test_plain_text_body_without_content_type_is_accepted(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    status_code, reply = invoke(upload_event(GOOD_XML, content_type=None), lambda_context)
    assert status_code == 202
    stored = handler_env.s3.get_object(
        Bucket=handler_env.input_bucket, Key=f"uploads/{reply['uploadId']}.xml"
    )
    assert stored["Body"].read() == GOOD_XML


def test_utf16_document_is_stored_as_utf8(handler_env: Pipeline) -> None:
    document = '<?xml version="1.0" encoding="UTF-16"?><name>Łukasz Ørsted</name>'
    reply = accept_upload(
        body=document.encode("utf-16"),
        content_type="application/octet-stream",
        query={"rule": "orders-v1", "name": "u16.xml"},
        **handler_env.upload_args(),
    )
    stored = handler_env.s3.get_object(
        Bucket=handler_env.input_bucket, Key=f"uploads/{reply['uploadId']}.xml"
    )
    assert stored["Body"].read().decode("utf-8") == document.replace("UTF-16", "UTF-8")


def test_invalid_base64_body_is_400(handler_env: Pipeline, lambda_context: FakeLambdaContext) -> None:
    event = upload_event(GOOD_XML)
    event["body"], event["isBase64Encoded"] = "not base64!", True
    status_code, reply = invoke(event, lambda_context)
    assert (status_code, reply["error"]) == (400, "invalid_body")
    assert_nothing_written(handler_env)


def test_accepted_upload_is_counted_in_metrics(
    handler_env: Pipeline, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(upload_event(GOOD_XML), lambda_context)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(blob.get("UploadsAccepted") == [1.0] or blob.get("UploadsAccepted") == 1.0 for blob in emitted)
