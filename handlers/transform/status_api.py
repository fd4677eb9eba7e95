"""GET /uploads/{id}: the status of an upload and, once done, a presigned URL to its JSON.

An upload is `awaiting_upload` (a large one whose file has not reached S3 or not been checked yet),
`pending`, then `done`, `failed` or `rejected` (a large one whose file failed the checks); the last two
come with their reason.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from handlers.http_request import UNAUTHENTICATED_MESSAGE, caller_arn, principal_of
from handlers.transform.contract import StatusSettings
from handlers.transform.upload_status import STATUS_DONE, STATUSES_WITH_REASON, UploadStatusTable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

UPLOAD_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

logger = Logger(service="transform-status")
tracer = Tracer(service="transform-status")
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class StatusDependencies:
    s3: S3Client
    statuses: UploadStatusTable
    output_bucket: str
    presigned_url_ttl_seconds: int


@functools.cache
def dependencies() -> StatusDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = StatusSettings.from_environment(os.environ)
    return StatusDependencies(
        # SigV4 presigned URLs: SigV2 is deprecated and rejected in newer regions.
        s3=boto3.client("s3", config=Config(signature_version="s3v4")),
        statuses=UploadStatusTable(boto3.resource("dynamodb").Table(settings.status_table)),
        output_bucket=settings.output_bucket,
        presigned_url_ttl_seconds=settings.presigned_url_ttl_seconds,
    )


def describe_upload(
    upload_id: str,
    *,
    s3: S3Client,
    statuses: UploadStatusTable,
    output_bucket: str,
    presigned_url_ttl_seconds: int,
    caller: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for GET /uploads/{upload_id} asked by `caller` (a principal_of): another
    person's upload is answered as if it did not exist, so ids cannot be probed."""
    if not UPLOAD_ID_PATTERN.fullmatch(upload_id):
        return 400, {
            "error": "invalid_upload_id",
            "message": f"{upload_id!r} is not an upload id; use the uploadId (a lowercase UUID) "
            "returned by POST /upload",
        }
    status = statuses.get(upload_id)
    if status is not None and not status.visible_to(caller):
        logger.info("upload of another caller asked for", extra={"uploadId": upload_id, "caller": caller})
        status = None
    if status is None:
        # Where it was looked for goes to the logs; the caller learns only that there is no such upload.
        logger.info("no such upload", extra={"uploadId": upload_id, "table": statuses.name})
        return 404, {
            "error": "not_found",
            "message": f"there is no upload {upload_id}; check the uploadId returned by POST /upload",
        }
    body: dict[str, Any] = {
        "uploadId": status.upload_id,
        "status": status.status,
        "fileName": status.file_name,
        "ruleId": status.rule_id,
        "createdAt": status.created_at,
        "updatedAt": status.updated_at,
    }
    # failed or rejected (a large upload whose file failed the checks): what went wrong, for the uploader.
    if status.status in STATUSES_WITH_REASON:
        body["reason"] = status.reason
    if status.status == STATUS_DONE and status.output_key:
        body["outputKey"] = status.output_key
        body["outputUrl"] = s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": output_bucket,
                "Key": status.output_key,
                # A browser following the link saves the JSON under the uploaded file's name.
                "ResponseContentDisposition": attachment(output_file_name(status.file_name)),
            },
            ExpiresIn=presigned_url_ttl_seconds,
        )
    return 200, body


def output_file_name(file_name: str) -> str:
    """orders.xml -> orders.json: the name the transformed document is saved under."""
    stem = file_name[: -len(".xml")] if file_name.lower().endswith(".xml") else file_name
    return f"{stem}.json"


def attachment(file_name: str) -> str:
    """A Content-Disposition that saves under `file_name`: an ASCII fallback (RFC 6266) and the exact
    name percent-encoded (RFC 5987) for any other character."""
    fallback = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\' else "_" for char in file_name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


# Neither trace records the response: a done upload's reply holds a presigned URL, a bearer credential
# for the output object until it expires, which X-Ray would keep and show to anyone who may read traces.
@app.get("/uploads/<upload_id>")
@tracer.capture_method(capture_response=False)
def get_upload(upload_id: str) -> Response:
    caller = caller_arn(app.current_event.raw_event)
    if caller is None:
        return Response(
            status_code=401,
            content_type="application/json",
            body=json.dumps({"error": "unauthenticated", "message": UNAUTHENTICATED_MESSAGE}),
        )
    deps = dependencies()
    status_code, body = describe_upload(
        upload_id,
        caller=principal_of(caller),
        s3=deps.s3,
        statuses=deps.statuses,
        output_bucket=deps.output_bucket,
        presigned_url_ttl_seconds=deps.presigned_url_ttl_seconds,
    )
    return Response(status_code=status_code, content_type="application/json", body=json.dumps(body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
