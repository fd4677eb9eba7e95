"""POST /upload?rule=<ruleId>&name=<file>: validate an XML document and queue it for transformation.

Every check runs before anything is written, so a rejected request leaves no object and no row.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.http_request import (
    UNAUTHENTICATED_MESSAGE,
    RequestRejectedError,
    behind_function_url,
    caller_arn,
    principal_of,
)
from handlers.transform.contract import UploadSettings, input_key
from handlers.transform.rule_store import RuleStore
from handlers.transform.upload_request import check_query, check_rule
from handlers.transform.upload_status import STATUS_PENDING, UploadStatusTable
from handlers.transform.xml_validation import XML_DECLARATION, XmlRejected, validate_xml

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCEPTED_MEDIA_TYPES = ("application/xml", "text/xml", "application/octet-stream")
REPLACEMENT_CHARACTER = "\ufffd"

logger = Logger(service="transform-upload")
tracer = Tracer(service="transform-upload")
metrics = Metrics(namespace="regionflow", service="transform-upload")
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class UploadDependencies:
    s3: S3Client
    statuses: UploadStatusTable
    rules: RuleStore
    settings: UploadSettings


@functools.cache
def dependencies() -> UploadDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = UploadSettings.from_environment(os.environ)
    dynamodb = boto3.resource("dynamodb")
    return UploadDependencies(
        s3=boto3.client("s3"),
        statuses=UploadStatusTable(dynamodb.Table(settings.status_table)),
        rules=RuleStore(
            settings.rules_table, dynamodb_resource=dynamodb, cache_seconds=settings.rule_cache_seconds
        ),
        settings=settings,
    )


def check_content_type(content_type: str | None) -> None:
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise RequestRejectedError(
            415,
            "unsupported_media_type",
            f"Content-Type {media_type!r} is not accepted; send the XML as {', '.join(ACCEPTED_MEDIA_TYPES)} "
            "(a charset parameter is allowed) or omit the header",
        )


def decode_body(body: str | None, *, is_base64_encoded: bool) -> bytes:
    """The bytes the client sent, or RequestRejectedError when the front door could not pass them intact."""
    if body is None:
        return b""
    if not is_base64_encoded:
        check_text_body(body)
        # Without a replacement character, the front door's UTF-8 decoding was exact: this is its inverse.
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as error:
            # Only an event not built by the front door can hold a lone surrogate.
            raise RequestRejectedError(
                400,
                "invalid_body",
                f"the text body holds a lone surrogate at character {error.start}, which no UTF-8 text "
                "has; send the document as binary (Content-Type: application/octet-stream)",
            ) from error
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise RequestRejectedError(
            400, "invalid_body", f"the body is flagged base64 but is not valid base64 ({error})"
        ) from error


def check_text_body(body: str) -> None:
    """Refuse a text body the front door altered: its bytes are lost, so it must never be stored.

    API Gateway HTTP APIs and function URLs pass text media types (application/xml, text/xml) as a str
    decoded from UTF-8, each byte that is not UTF-8 replaced by U+FFFD. Such a body cannot be told apart
    from a document that really holds U+FFFD, and the original bytes cannot be rebuilt from it; the
    remedy (send as binary) also serves that rare document.
    """
    position = body.find(REPLACEMENT_CHARACTER)
    if position < 0:
        return
    declaration = XML_DECLARATION.match(body)
    declared = declaration.group("name") if declaration and declaration.group("enc") else None
    because = (
        f" (its XML declaration names {declared!r}, which API Gateway does not read)"
        if declared and declared.lower() != "utf-8"
        else ""
    )
    raise RequestRejectedError(
        400,
        "text_body_altered",
        f"the body arrived as text and holds U+FFFD at character {position}, the character API Gateway "
        f"puts in place of bytes that are not UTF-8 when it passes on a text media type such as "
        f"application/xml{because}: it is not the document that was sent. Send the document as binary, "
        "with Content-Type: application/octet-stream, and its bytes arrive unchanged in any accepted "
        "encoding its XML declaration names (curl --data-binary @file.xml -H 'Content-Type: "
        "application/octet-stream'); or re-encode it as UTF-8",
    )


def accept_upload(
    *,
    body: bytes,
    content_type: str | None,
    query: Mapping[str, str] | None,
    s3: S3Client,
    statuses: UploadStatusTable,
    rules: RuleStore,
    settings: UploadSettings,
    now: datetime | None = None,
    upload_id: str | None = None,
    owner: str | None = None,
) -> dict[str, str]:
    """Validate, then store the normalised XML and a pending row owned by `owner` (the uploader: only
    they may read its status); raise RequestRejectedError/XmlRejected."""
    check_content_type(content_type)
    rule_id, file_name = check_query(query)
    document = validate_xml(body, max_bytes=settings.max_upload_bytes, max_depth=settings.max_xml_depth)
    check_rule(rules, rule_id, logger=logger)

    upload_id = upload_id or str(uuid.uuid4())
    key = input_key(upload_id)
    # The row goes first: the S3 event can reach the worker within milliseconds, and a worker that
    # finds no row retries, while an object with no row would be invisible to GET /uploads/{id}.
    statuses.create_pending(
        upload_id=upload_id,
        rule_id=rule_id,
        file_name=file_name,
        input_key=key,
        size_bytes=len(document),
        now=now or datetime.now(UTC),
        owner=owner,
    )
    try:
        s3.put_object(
            Bucket=settings.input_bucket,
            Key=key,
            Body=document,
            ContentType="application/xml",
            ServerSideEncryption="AES256",
            # S3 user metadata must be ASCII, hence the percent-encoded file name.
            Metadata={"upload-id": upload_id, "rule-id": rule_id, "file-name": quote(file_name)},
        )
    except Exception as error:
        statuses.mark_failed(upload_id, reason=f"storing the upload failed: {error}", now=datetime.now(UTC))
        raise
    # statusUrl is relative to this request's URL (RFC 3986): on an HTTP API, whose routes share one
    # base, .../upload resolves it to .../uploads/<id> (on AWS and in localcloud alike). Behind function
    # URLs it would name nothing: the route leaves it out there (the status door is transformStatusUrl).
    return {"uploadId": upload_id, "status": STATUS_PENDING, "statusUrl": f"uploads/{upload_id}"}


def error_response(status_code: int, code: str, message: str) -> Response:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message}),
    )


@app.post("/upload")
@tracer.capture_method
def post_upload() -> Response:
    event = app.current_event
    caller = caller_arn(event.raw_event)
    if caller is None:
        # Defence in depth: the route's authorizer lets no anonymous request through; if it ever did,
        # nothing is stored for no one.
        return error_response(401, "unauthenticated", UNAUTHENTICATED_MESSAGE)
    deps = dependencies()
    try:
        accepted = accept_upload(
            body=decode_body(event.body, is_base64_encoded=bool(event.is_base64_encoded)),
            content_type=event.headers.get("content-type"),
            query=event.query_string_parameters,
            s3=deps.s3,
            statuses=deps.statuses,
            rules=deps.rules,
            settings=deps.settings,
            owner=principal_of(caller),
        )
    except (RequestRejectedError, XmlRejected) as rejection:
        logger.info("upload rejected", extra={"code": rejection.code, "reason": rejection.message})
        metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
        return error_response(rejection.status_code, rejection.code, rejection.message)
    if behind_function_url(event.raw_event):
        del accepted["statusUrl"]
    logger.info("upload accepted", extra=accepted)
    metrics.add_metric(name="UploadsAccepted", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body=json.dumps(accepted))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
