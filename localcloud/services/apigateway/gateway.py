"""Loopback HTTP gateway serving the program's HTTP APIs (v2), REST APIs (v1) and Lambda function URLs.

URL scheme (one port, a path prefix per endpoint; the provisioner mints these URLs):
    {base}/apis/{api_id}/<path>                         an HTTP API's $default stage (http_api.py)
    {base}/apis/{api_id}/{stage}/<path>                 a named stage of that API
    {base}/lambda-url/{region}/{function_name}/<path>   a function URL (http_api.py)
    {base}/restapis/{api_id}/{stage}/<path>             a REST API stage (rest_api.py)
    ws://{host}/apis/{api_id}/{stage}                   a WebSocket API stage; its Management API at
                                                        {base}/apis/{api_id}/{stage}/@connections/{id}
                                                        (websocket.py)
The prefix is stripped: the handler sees `rawPath` = "/<path>" exactly as behind AWS. `/` and
`/_console/...` are localcloud's console (localcloud/console/), when the gateway is given one.

An HTTP API's routes are read through the API Gateway v2 API and a function URL through the Lambda API
(GetFunctionUrlConfig) on each request, so those created by any client are served too (a function URL at
`{base}/lambda-url/{region}/{function_name}/`); the provisioner records where each HTTP API is served and
the snapshots REST API stages serve (definitions.py says why).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from localcloud.console.serve import Console
from localcloud.core.activity_log import request_line
from localcloud.core.clients import ClientFactory
from localcloud.core.deployment import Deployment
from localcloud.services.apigateway.definitions import ApiGatewayRecord, HttpApiEndpoint, RestApiDeployment
from localcloud.services.apigateway.http import (
    INTERNAL_ERROR,
    NOT_FOUND,
    TOO_LARGE,
    Invoke,
    MayInvoke,
    Request,
    Response,
)
from localcloud.services.apigateway.http_api import serve_function_url, serve_http_api
from localcloud.services.apigateway.integration_roles import IntegrationRoles
from localcloud.services.apigateway.jwt_authorization import IssuerKeys
from localcloud.services.apigateway.rest_api import serve_rest_api
from localcloud.services.apigateway.websocket import WebSocketApis, is_upgrade

logger = logging.getLogger(__name__)

# AWS quotas: HTTP API payload 10 MB; a function URL is bounded by Lambda's 6 MB synchronous payload.
HTTP_API_MAX_BODY = 10 * 1024 * 1024
FUNCTION_URL_MAX_BODY = 6 * 1024 * 1024


@dataclass(frozen=True)
class FunctionUrl:
    """A function URL's configuration, as GetFunctionUrlConfig answers it."""

    url_id: str  # "{region}/{function_name}": the path segments the gateway routes on
    function_arn: str
    region: str
    auth_type: str  # NONE or AWS_IAM

    @property
    def account_id(self) -> str:
        return self.function_arn.split(":")[4]


class HttpGateway:
    """Serves the HTTP and REST APIs recorded in `deployment` and every function URL in the emulator
    (all read at request time)."""

    def __init__(
        self,
        *,
        invoke: Invoke,
        may_invoke: MayInvoke,
        client_factory: ClientFactory,
        deployment: Deployment | None = None,
        console: Console | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.invoke = invoke
        self.may_invoke = may_invoke
        self.client_factory = client_factory
        # REST integrations call their backends as their credentials roles (integration_roles.py).
        self.integration_roles = IntegrationRoles(client_factory)
        self.issuer_keys = IssuerKeys(client_factory)  # JWT authorizers' issuers' public keys
        self.deployment = deployment if deployment is not None else Deployment()
        self.websockets = WebSocketApis(invoke=invoke, may_invoke=may_invoke, client_factory=client_factory)
        self.console = console
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def apis(self) -> ApiGatewayRecord:
        return self.deployment.record(ApiGatewayRecord)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

    def start(self) -> HttpGateway:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localcloud-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.websockets.close_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HttpGateway:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ dispatching
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: on a kept connection Nagle's algorithm would hold the
            # body for the client's delayed ACK (up to 40 ms), as localcloud.core.moto_dispatch explains.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                started = time.monotonic()
                websocket_api = gateway.websocket_api_of(self)
                if websocket_api is not None and is_upgrade(dict(self.headers.items())):
                    # The connection becomes a WebSocket: this thread serves it until it closes.
                    gateway.websockets.serve_upgrade(
                        self, websocket_api, self.path.partition("?")[0].split("/")[3:]
                    )
                    return
                owner = gateway.console
                console = owner if owner is not None and owner.owns(self.path) else None
                response = gateway.handle(self) if console is None else console.answer(self)
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
                duration_ms = (time.monotonic() - started) * 1000
                # An open console polls every 2 s: at INFO its requests would bury the APIs' in the log.
                level = logging.INFO if console is None else logging.DEBUG
                logger.log(level, request_line(self.command, self.path, response.status, duration_ms))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("gateway: " + format, *args)

        return _Handler

    def websocket_api_of(self, http: BaseHTTPRequestHandler) -> HttpApiEndpoint | None:
        """The WebSocket API a request's path names ({base}/apis/{api_id}/...), if it names one."""
        parts = http.path.partition("?")[0].lstrip("/").split("/")
        if len(parts) < 2 or parts[0] != "apis":
            return None
        with self.deployment.lock:
            return self.apis.websocket_apis.get(parts[1])

    def function_url(self, region: str, function_name: str) -> FunctionUrl | None:
        """The function URL of `function_name` in `region`, read from the emulator; None if it has none."""
        try:
            config = self.client_factory("lambda", region).get_function_url_config(FunctionName=function_name)
        except ClientError:
            return None
        return FunctionUrl(
            url_id=f"{region}/{function_name}",
            function_arn=config["FunctionArn"],
            region=region,
            auth_type=config.get("AuthType") or "NONE",
        )

    def handle(self, http: BaseHTTPRequestHandler) -> Response:
        target, _, raw_query = http.path.partition("?")
        parts = target.lstrip("/").split("/")
        length = int(http.headers.get("Content-Length") or 0)
        websocket_api = self.websocket_api_of(http)
        with self.deployment.lock:
            api = self.apis.http_apis.get(parts[1]) if len(parts) > 1 and parts[0] == "apis" else None
            rest_api = (
                self.apis.rest_apis.get(parts[1]) if len(parts) > 1 and parts[0] == "restapis" else None
            )
        api = api or websocket_api
        function_url = (
            self.function_url(parts[1], parts[2]) if len(parts) > 2 and parts[0] == "lambda-url" else None
        )
        limit = FUNCTION_URL_MAX_BODY if function_url else HTTP_API_MAX_BODY
        if length > limit:
            # Refused without buffering the body; it is still drained so the client can read the answer
            # (closing on an unread body makes clients fail with a broken pipe instead of the 413).
            remaining = length
            while remaining > 0:
                chunk = http.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            http.close_connection = True
            return TOO_LARGE
        body = http.rfile.read(length) if length else b""

        def request(raw_path: str) -> Request:
            return Request(
                method=http.command,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=list(http.headers.items()),
                body=body,
                source_ip=http.client_address[0],
                host=http.headers.get("Host", ""),
                url=f"http://{http.headers.get('Host', '')}{http.path}",
            )

        try:
            if api is not None:
                return self._serve_api(api, parts[2:], request)
            if function_url is not None:
                return serve_function_url(
                    request("/" + "/".join(parts[3:])),
                    url_id=function_url.url_id,
                    function_arn=function_url.function_arn,
                    region=function_url.region,
                    account_id=function_url.account_id,
                    auth_type=function_url.auth_type,
                    invoke=self.invoke,
                    may_invoke=self.may_invoke,
                )
            if rest_api is not None:
                # rawPath keeps the stage, as event.requestContext.path does on AWS.
                return self._serve_rest_api(rest_api, parts[2:], request("/" + "/".join(parts[2:])))
        except Exception:
            logger.exception("gateway: request %s %s failed", http.command, http.path)
            return INTERNAL_ERROR
        return NOT_FOUND

    def _serve_api(
        self, api: HttpApiEndpoint, rest: list[str], request: Callable[[str], Request]
    ) -> Response:
        with self.deployment.lock:
            websocket = api.api_id in self.apis.websocket_apis
        if websocket:
            # Plain HTTP to a WebSocket API: its stages' Management API.
            return self.websockets.manage(request("/" + "/".join(rest)), api, rest)
        return serve_http_api(
            api,
            rest,
            request,
            invoke=self.invoke,
            may_invoke=self.may_invoke,
            client_factory=self.client_factory,
            issuer_keys=self.issuer_keys,
        )

    def _serve_rest_api(self, api: RestApiDeployment, rest: list[str], req: Request) -> Response:
        return serve_rest_api(
            api,
            rest,
            req,
            invoke=self.invoke,
            may_invoke=self.may_invoke,
            client_factory=self.client_factory,
            roles=self.integration_roles,
            lock=self.deployment.lock,
        )
