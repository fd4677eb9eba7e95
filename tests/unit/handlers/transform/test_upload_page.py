"""GET / and GET /page/{asset}: the upload page carries its settings, its own assets only, and a policy
that lets it talk to its origin, Cognito and the input bucket alone."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from handlers.transform import upload_page
from handlers.transform.contract import DIRECT_UPLOAD_MAX_BYTES, UploadPageSettings

from ..conftest import FakeLambdaContext, Pipeline, load_event

CLIENT_ID = "3n4example5clientid6"


@pytest.fixture
def page_env(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    for name, value in UploadPageSettings.environment(
        user_pool_client_id=CLIENT_ID, input_bucket=pipeline.input_bucket, max_upload_bytes=10 * 1024 * 1024
    ).items():
        monkeypatch.setenv(name, value)
    upload_page.page_context.cache_clear()
    yield pipeline
    upload_page.page_context.cache_clear()


def get(path: str, context: Any) -> dict[str, Any]:  # a FakeLambdaContext
    event = copy.deepcopy(load_event("transform_page_get.json"))
    route = "GET /" if path == "/" else "GET /page/{asset}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    if path != "/":
        event["pathParameters"] = {"asset": path.rsplit("/", 1)[1]}
    return upload_page.lambda_handler(event, context)


class PageParts(HTMLParser):
    """What the page's HTML asks a browser to load and run."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.stylesheets: list[str | None] = []
        self.inline_handlers: list[str] = []
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes.get("src"))
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href"))
        if tag == "style" or "style" in attributes:
            self.inline_handlers.append(f"{tag} style")
        self.inline_handlers += [f"{tag} {name}" for name in attributes if name.startswith("on")]
        if tag == "body":
            self.body = {name: value or "" for name, value in attributes.items()}


def parsed(html: str) -> PageParts:
    parts = PageParts()
    parts.feed(html)
    return parts


def csp_directives(response: dict[str, Any]) -> dict[str, list[str]]:
    policy = response["headers"]["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def test_the_page_carries_its_settings_and_runs_only_its_own_script_and_style(
    page_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # WHEN a browser opens the API's root
    response = get("/", lambda_context)
    # THEN it gets the page, never cached, with the user pool client, Cognito's endpoint and the limits
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert response["headers"]["Cache-Control"] == "no-store"
    parts = parsed(response["body"])
    assert parts.body["data-client-id"] == CLIENT_ID
    assert parts.body["data-cognito-endpoint"].startswith(("https://cognito-idp.", "http"))
    assert parts.body["data-max-upload-bytes"] == str(10 * 1024 * 1024)
    assert parts.body["data-direct-upload-max-bytes"] == str(DIRECT_UPLOAD_MAX_BYTES)
    # AND everything it runs or styles with is its own asset: no inline script, style or handler
    assert parts.scripts == ["page/upload_page.js"] and parts.stylesheets == ["page/upload_page.css"]
    assert parts.inline_handlers == []
    assert "{{" not in response["body"]


def test_the_pages_policy_allows_connections_to_its_origin_cognito_and_the_input_bucket_alone(
    page_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    response = get("/", lambda_context)
    directives = csp_directives(response)
    cognito = parsed(response["body"]).body["data-cognito-endpoint"]
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == directives["base-uri"] == ["'none'"]
    [self_source, cognito_origin, bucket_origin] = directives["connect-src"]
    assert self_source == "'self'" and cognito.startswith(cognito_origin)
    # The bucket's origin as the SDK addresses it (virtual-hosted on AWS, path style in an emulator)
    assert re.fullmatch(r"https?://[^/]+", bucket_origin)
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_settings_are_escaped_into_the_page() -> None:
    # GIVEN a client id that would break out of its attribute
    settings = UploadPageSettings(user_pool_client_id='x"><script>alert(1)</script>', input_bucket="b")
    # WHEN the page is rendered THEN it stays one attribute value
    html = upload_page.render_page(
        '<body data-client-id="{{client_id}}">', settings=settings, cognito_endpoint="https://c"
    )
    assert "<script>" not in html
    assert parsed(html).body["data-client-id"] == settings.user_pool_client_id


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("upload_page.js", "text/javascript"), ("upload_page.css", "text/css")],
)
def test_the_pages_assets_are_served_with_their_types(
    page_env: Pipeline, lambda_context: FakeLambdaContext, asset: str, content_type: str
) -> None:
    response = get(f"/page/{asset}", lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith(content_type)
    assert response["body"] == (upload_page.STATIC_DIR / asset).read_text(encoding="utf-8")


@pytest.mark.parametrize("asset", ["upload_page.html", "..%2Fupload_page.py", "contract.py", "missing.js"])
def test_nothing_but_the_pages_assets_is_served(
    page_env: Pipeline, lambda_context: FakeLambdaContext, asset: str
) -> None:
    response = get(f"/page/{asset}", lambda_context)
    assert response["statusCode"] == 404
    assert "upload_page.js" in response["body"]  # the message names what there is


def test_the_script_sets_untrusted_text_only_as_text() -> None:
    # Text from the API, Cognito and S3 reaches the DOM through textContent alone.
    script = (upload_page.STATIC_DIR / "upload_page.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)
