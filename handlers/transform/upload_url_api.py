"""POST /uploads?rule=<ruleId>&name=<file>: where to send a large document, straight to S3.

A Lambda request is limited to 6 MB, so POST /upload cannot take a document near the 10 MB limit. This
route takes no document: it checks the rule and file name as POST /upload does, creates the upload's row
`awaiting_upload` (owned by the caller), and answers with a presigned POST for incoming/<uploadId>.xml in
the input bucket. Its policy fixes the key and the Content-Type and bounds the file's size to
MAX_UPLOAD_BYTES, so S3 itself refuses anything else (a larger file: 400 EntityTooLarge). The client posts
the file with the form's fields (multipart/form-data, the file last); the staged-upload validator then runs
POST /upload's checks on it and the upload goes on as if uploaded directly, or ends `rejected`.

The reply holds a presigned POST, a credential for that one key until it expires: neither trace records
the reply, and it is never logged.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from handlers.http_request import (
    UNAUTHENTICATED_MESSAGE,
    RequestRejectedError,
    behind_function_url,
    caller_arn,
    principal_of,
)
from handlers.transform.contract import STAGED_CONTENT_TYPE, UploadUrlSettings, staged_key
from handlers.transform.rule_store import RuleStore
from handlers.transform.upload_request import check_query, check_rule
from handlers.transform.upload_status import STATUS_AWAITING_UPLOAD, UploadStatusTable, iso_utc

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROUTE = "POST /uploads"

logger = Logger(service="transform-upload-url")
tracer = Tracer(service="transform-upload-url")
metrics = Metrics(namespace="regionflow", service="transform-upload-url")
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class UploadUrlDependencies:
    s3: S3Client
    statuses: UploadStatusTable
    rules: RuleStore
    settings: UploadUrlSettings


@functools.cache
def dependencies() -> UploadUrlDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = UploadUrlSettings.from_environment(os.environ)
    dynamodb = boto3.resource("dynamodb")
    return UploadUrlDependencies(
        # SigV4 POST policies: S3 refuses SigV2 for buckets created since June 2020.
        s3=boto3.client("s3", config=Config(signature_version="s3v4")),
        statuses=UploadStatusTable(dynamodb.Table(settings.status_table)),
        rules=RuleStore(
            settings.rules_table, dynamodb_resource=dynamodb, cache_seconds=settings.rule_cache_seconds
        ),
        settings=settings,
    )


def issue_upload_url(
    *,
    query: dict[str, str] | None,
    body: str | None,
    s3: S3Client,
    statuses: UploadStatusTable,
    rules: RuleStore,
    settings: UploadUrlSettings,
    owner: str | None,
    now: datetime | None = None,
    upload_id: str | None = None,
) -> dict[str, Any]:
    """Check the request, create the awaiting_upload row, return the reply (with the presigned POST);
    RequestRejectedError when the request names no usable rule or file name, or carries a document."""
    if body:
        raise RequestRejectedError(
            400,
            "unexpected_body",
            f"{ROUTE} takes no document: POST the file to the presigned URL it answers with (or send a "
            "document of up to 6 MB to POST /upload)",
        )
    rule_id, file_name = check_query(query, route=ROUTE)
    check_rule(rules, rule_id, logger=logger)
    now = now or datetime.now(UTC)
    upload_id = upload_id or str(uuid.uuid4())
    key = staged_key(upload_id)
    # The row goes first: the file's S3 event can reach the validator as soon as the client has sent it.
    statuses.create_awaiting_upload(
        upload_id=upload_id, rule_id=rule_id, file_name=file_name, staged_key=key, now=now, owner=owner
    )
    post = s3.generate_presigned_post(
        Bucket=settings.input_bucket,
        Key=key,
        Fields={"Content-Type": STAGED_CONTENT_TYPE},
        Conditions=[
            ["content-length-range", 1, settings.max_upload_bytes],
            {"Content-Type": STAGED_CONTENT_TYPE},
        ],
        ExpiresIn=settings.upload_url_ttl_seconds,
    )
    return {
        "uploadId": upload_id,
        "status": STATUS_AWAITING_UPLOAD,
        "statusUrl": f"uploads/{upload_id}",  # relative to .../uploads, as POST /upload's (upload_api.py)
        "upload": {"url": post["url"], "fields": post["fields"]},
        "maxUploadBytes": settings.max_upload_bytes,
        "expiresAt": iso_utc(now + timedelta(seconds=settings.upload_url_ttl_seconds)),
    }


def error_response(status_code: int, code: str, message: str) -> Response:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message}),
    )


@app.post("/uploads")
@tracer.capture_method(capture_response=False)
def post_uploads() -> Response:
    event = app.current_event
    caller = caller_arn(event.raw_event)
    if caller is None:
        return error_response(401, "unauthenticated", UNAUTHENTICATED_MESSAGE)
    deps = dependencies()
    try:
        issued = issue_upload_url(
            query=event.query_string_parameters,
            body=event.body,
            s3=deps.s3,
            statuses=deps.statuses,
            rules=deps.rules,
            settings=deps.settings,
            owner=principal_of(caller),
        )
    except RequestRejectedError as rejection:
        logger.info("upload URL refused", extra={"code": rejection.code, "reason": rejection.message})
        metrics.add_metric(name="UploadUrlsRefused", unit=MetricUnit.Count, value=1)
        return error_response(rejection.status_code, rejection.code, rejection.message)
    if behind_function_url(event.raw_event):
        del issued["statusUrl"]  # it would name nothing there (upload_api.py says why)
    logger.info("upload URL issued", extra={"uploadId": issued["uploadId"], "expiresAt": issued["expiresAt"]})
    metrics.add_metric(name="UploadUrlsIssued", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=json.dumps(issued))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
