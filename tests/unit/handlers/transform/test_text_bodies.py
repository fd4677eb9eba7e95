"""A body the front door altered is never stored: the client is told to send it as binary instead.

API Gateway HTTP APIs and function URLs hand text media types (application/xml, text/xml) to the function
as a str decoded from UTF-8, every byte that is not UTF-8 replaced by U+FFFD. Such a body is not the
document the client sent, and the original bytes cannot be recovered from it.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from handlers.transform import upload_api

from ..conftest import FakeLambdaContext, Pipeline, load_event
from .conftest import front_door_event

LATIN1_DOCUMENT = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>'
    '<orders><order id="1"><customer><name>José</name></customer></order></orders>'
)


def invoke(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any]]:
    response = upload_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def assert_nothing_written(pipeline: Pipeline) -> None:
    assert pipeline.keys(pipeline.input_bucket) == []
    assert pipeline.status_rows() == []


def test_an_iso_8859_1_document_sent_as_application_xml_is_refused_with_how_to_send_it(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the event AWS delivers for an ISO-8859-1 document POSTed as application/xml: 'José' arrives
    # as 'Jos\ufffd'
    event = load_event("transform_upload_post_latin1_as_text.json")
    assert "Jos\ufffd" in event["body"]
    # WHEN the upload Lambda handles it
    status_code, reply = invoke(event, lambda_context)
    # THEN it is refused with 400, saying why and how to send the document so that it arrives intact
    assert (status_code, reply["error"]) == (400, "text_body_altered")
    assert "U+FFFD" in reply["message"] and "ISO-8859-1" in reply["message"]
    assert "Content-Type: application/octet-stream" in reply["message"] and "UTF-8" in reply["message"]
    # AND the corrupted text is stored nowhere
    assert_nothing_written(handler_env)


def test_the_same_document_sent_as_binary_is_stored_intact(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the ISO-8859-1 document POSTed as application/octet-stream, which arrives base64-encoded
    event = front_door_event(LATIN1_DOCUMENT.encode("latin-1"), content_type="application/octet-stream")
    # WHEN the upload Lambda handles it
    status_code, reply = invoke(event, lambda_context)
    # THEN it is accepted and stored as UTF-8 with 'José' unchanged
    assert status_code == 202
    stored = handler_env.s3.get_object(
        Bucket=handler_env.input_bucket, Key=f"uploads/{reply['uploadId']}.xml"
    )["Body"].read()
    assert stored.decode("utf-8") == LATIN1_DOCUMENT.replace("ISO-8859-1", "UTF-8")


def test_a_utf16_document_sent_as_text_is_refused_with_how_to_send_it_not_as_malformed(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a valid UTF-16 document with a BOM POSTed as text/xml (its BOM bytes are not UTF-8)
    raw = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="UTF-16"?><a>é</a>'.encode("utf-16-le")
    # WHEN the upload Lambda handles the event the front door makes of it
    status_code, reply = invoke(front_door_event(raw, content_type="text/xml"), lambda_context)
    # THEN the client learns that the body was altered on the way and how to send it, not that it is malformed
    assert (status_code, reply["error"]) == (400, "text_body_altered")
    assert "application/octet-stream" in reply["message"]
    assert_nothing_written(handler_env)


def test_a_utf8_document_sent_as_text_arrives_byte_for_byte_and_is_accepted(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a UTF-8 document with non-ASCII text POSTed as application/xml
    raw = '<?xml version="1.0" encoding="UTF-8"?><orders><order id="1">Łódź €</order></orders>'.encode()
    # WHEN the upload Lambda handles it
    status_code, reply = invoke(front_door_event(raw, content_type="application/xml"), lambda_context)
    # THEN it is accepted and stored exactly as sent
    assert status_code == 202
    stored = handler_env.s3.get_object(
        Bucket=handler_env.input_bucket, Key=f"uploads/{reply['uploadId']}.xml"
    )
    assert stored["Body"].read() == raw


def test_an_ascii_only_iso_8859_1_document_sent_as_text_is_accepted_as_its_bytes_are_intact(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an ISO-8859-1 document whose bytes happen to be ASCII: the front door changes nothing
    raw = b'<?xml version="1.0" encoding="ISO-8859-1"?><orders><order id="1">Jose</order></orders>'
    # THEN it is accepted
    status_code, _ = invoke(front_door_event(raw, content_type="application/xml"), lambda_context)
    assert status_code == 202
