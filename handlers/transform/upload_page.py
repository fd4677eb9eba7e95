"""GET / and GET /page/{asset}: the upload page, a static site the transform API serves itself.

People sign in to the stack's user pool (Cognito's InitiateAuth from the browser), pick a rule (GET rules),
send one or more files (POST upload up to DIRECT_UPLOAD_MAX_BYTES, larger ones straight to S3 through the
presigned POST that POST uploads issues) and follow each file (GET uploads/{id}) until it is done, failed
or rejected, then download its JSON. Served from the API's own origin, the page's calls to the API need no
CORS; the input bucket's CORS rules allow this origin's POSTs, and Cognito answers any origin.

The one anonymous route of the stack, like any sign-in page: it reads no data and accepts none. The
page's settings go into its HTML as data attributes; a strict Content-Security-Policy allows scripts and
styles from this origin only and connections to this origin, Cognito and the input bucket alone.
"""

from __future__ import annotations

import functools
import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from handlers.transform.contract import (
    DIRECT_UPLOAD_MAX_BYTES,
    STAGING_PREFIX,
    UploadPageSettings,
    url_origin,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_TEMPLATE = "upload_page.html"
ASSETS = {"upload_page.js": "text/javascript; charset=utf-8", "upload_page.css": "text/css; charset=utf-8"}
ASSET_CACHE_SECONDS = 300  # a deployment's new page reaches browsers within minutes

logger = Logger(service="transform-upload-page")
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class PageContext:
    settings: UploadPageSettings
    cognito_endpoint: str  # where the browser signs in
    headers: dict[str, str]  # every answer's security headers


@functools.cache
def page_context() -> PageContext:
    """The page's settings, with Cognito's endpoint and the input bucket's origin as this function's SDK
    resolves them: the region's public endpoints on AWS, an emulator's where AWS_ENDPOINT_URL says so."""
    settings = UploadPageSettings.from_environment(os.environ)
    cognito_endpoint = boto3.client("cognito-idp").meta.endpoint_url
    # Where the SDK addresses the bucket (virtual-hosted or path style): signing needs no call to AWS.
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    post_url = s3.generate_presigned_post(Bucket=settings.input_bucket, Key=f"{STAGING_PREFIX}page.xml")[
        "url"
    ]
    return PageContext(
        settings=settings,
        cognito_endpoint=cognito_endpoint,
        headers=security_headers(connect_origins=[url_origin(cognito_endpoint), url_origin(post_url)]),
    )


def security_headers(*, connect_origins: list[str]) -> dict[str, str]:
    """What every answer of the page carries: no inline script, no framing, nothing sent elsewhere."""
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {' '.join(connect_origins)}",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


def render_page(template: str, *, settings: UploadPageSettings, cognito_endpoint: str) -> str:
    """The page's HTML with its settings filled in (attribute-escaped)."""
    values = {
        "client_id": settings.user_pool_client_id,
        "cognito_endpoint": cognito_endpoint,
        "max_upload_bytes": str(settings.max_upload_bytes),
        "direct_upload_max_bytes": str(min(DIRECT_UPLOAD_MAX_BYTES, settings.max_upload_bytes)),
    }
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", html.escape(value, quote=True))
    return template


@app.get("/")
def get_page() -> Response:
    context = page_context()
    body = render_page(
        (STATIC_DIR / PAGE_TEMPLATE).read_text(encoding="utf-8"),
        settings=context.settings,
        cognito_endpoint=context.cognito_endpoint,
    )
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={**context.headers, "Cache-Control": "no-store"},
    )


@app.get("/page/<asset>")
def get_asset(asset: str) -> Response:
    headers = page_context().headers
    if asset not in ASSETS:
        return Response(
            status_code=404,
            content_type="text/plain; charset=utf-8",
            body=f"no such page asset; the page has {', '.join(sorted(ASSETS))}",
            headers=headers,
        )
    return Response(
        status_code=200,
        content_type=ASSETS[asset],
        body=(STATIC_DIR / asset).read_text(encoding="utf-8"),
        headers={**headers, "Cache-Control": f"max-age={ASSET_CACHE_SECONDS}"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
