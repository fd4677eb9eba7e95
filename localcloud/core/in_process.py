"""The emulator's own AWS calls, answered in the calling thread instead of over loopback HTTP.

localcloud's provisioning, pollers, replicators and Lambda runtime, and the tests' and demos' drivers, call
the emulator with boto3 clients. Over HTTP each call costs a socket round trip, werkzeug's
request parsing on a server thread and a thread switch under the one GIL that the whole emulator shares.
A client built for an endpoint whose WSGI app runs in this process (`serve`) instead hands each signed
request to that app directly: the same app the server runs (moto's dispatcher, IAM enforcement, every
localcloud route), given the environ werkzeug's request handler would build (moto's handler included,
which keeps S3 metadata names with underscores and drops other underscored headers), so it decides and
answers exactly as it would over the socket. Lambda workers are other processes and keep using HTTP; the
Step Functions interpreter's service integrations keep it too (services/stepfunctions/service_roles.py).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

WsgiApp = Callable[..., Iterable[bytes]]

_APPS: dict[str, WsgiApp] = {}
# werkzeug's answer when the app raises (werkzeug.exceptions.InternalServerError's page).
_INTERNAL_SERVER_ERROR = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to "
    b"complete your request. Either the server is overloaded or there is an error in the application.</p>\n"
)
_APPS_LOCK = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def serve(endpoint_url: str, app: WsgiApp) -> None:
    """Clients built from now on for `endpoint_url` send their requests to `app` in-process."""
    with _APPS_LOCK:
        _APPS[_origin(endpoint_url)] = app


def withdraw(endpoint_url: str) -> None:
    """Stop serving `endpoint_url` in-process (its server stopped); idempotent."""
    with _APPS_LOCK:
        _APPS.pop(_origin(endpoint_url), None)


def attach(client: Any, endpoint_url: str) -> Any:
    """`client`, sending to the app that serves `endpoint_url` in this process, when one does."""
    origin = _origin(endpoint_url)
    with _APPS_LOCK:
        served = origin in _APPS
    if served:
        client.meta.events.register_first("before-send", _InProcessSender(origin).send)
    return client


class _InProcessSender:
    """botocore's before-send hook: a response from the in-process app ends the send (no HTTP)."""

    def __init__(self, origin: str) -> None:
        self._origin = origin

    def send(self, request: Any, **_: Any) -> Any:
        with _APPS_LOCK:
            app = _APPS.get(self._origin)
        if app is None or _origin(request.url) != self._origin:
            return None  # the server is gone or the request goes elsewhere: botocore sends it over HTTP
        return call_app(app, request)


def wsgi_environ(
    method: str, url: str, headers: Iterable[tuple[str | bytes, str | bytes]], body: bytes
) -> dict[str, Any]:
    """The environ werkzeug's server (with moto's request handler) builds for this request."""
    from moto.core.request import (  # noqa: PLC0415 - moto is slow to import
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )
    from werkzeug.test import EnvironBuilder  # noqa: PLC0415

    parts = urlsplit(url)
    pairs = [(_text(name), _text(value)) for name, value in headers]
    # werkzeug's server drops every underscored header (WSGI cannot tell X_Foo from X-Foo); moto's
    # handler then writes back S3 metadata names, unless a dashed header of the same key exists.
    dashed = [(name, value) for name, value in pairs if "_" not in name]
    builder = EnvironBuilder(
        path=parts.path or "/",
        base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query,
        method=method,
        headers=dashed,
        data=body,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    dashed_keys = {environ_key_for_header(name) for name, _ in dashed}
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if "_" not in name or not should_preserve_original_header_name(name):
            continue
        key = environ_key_for_header(name)
        if key in dashed_keys:
            continue
        names.setdefault(key, name)
        values.setdefault(key, []).append(value.replace("\r\n", ""))
    for key, key_values in values.items():
        environ[key] = ",".join(key_values)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
    return environ


def _text(value: str | bytes) -> str:
    """A header name or value as the server reads it off the wire (botocore keeps some as bytes)."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def call_app(app: WsgiApp, request: Any) -> Any:
    """Run one botocore AWSPreparedRequest through `app`; the botocore AWSResponse it answers."""
    from botocore.awsrequest import AWSResponse  # noqa: PLC0415
    from moto.core.botocore_stubber import MockRawResponse  # noqa: PLC0415
    from werkzeug.test import run_wsgi_app  # noqa: PLC0415

    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:  # a file-like body (S3 uploads): read it whole, as the server would
        data = body.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
    environ = wsgi_environ(request.method, request.url, request.headers.items(), data)
    try:
        app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
    except Exception:  # what werkzeug's server does with an app's error: log it, answer 500
        logging.getLogger("werkzeug").error("Error on request:\n%s", traceback.format_exc())
        error_headers = [("Content-Type", "text/html; charset=utf-8")]
        return AWSResponse(request.url, 500, _headers(error_headers), MockRawResponse(_INTERNAL_SERVER_ERROR))
    status_code = int(status.split(" ", 1)[0])
    return AWSResponse(request.url, status_code, _headers(response_headers.items()), MockRawResponse(content))


def _headers(pairs: Iterable[tuple[str, str]]) -> Any:
    from botocore.compat import HTTPHeaders  # noqa: PLC0415

    headers = HTTPHeaders()
    for name, value in pairs:
        headers[name] = value
    return headers
