"""Loopback HTTP gateway serving the program's API Gateway v2 HTTP APIs and Lambda function URLs.

moto keeps only the control plane of API Gateway v2 and never serves function URLs, so localcloud answers
the HTTP itself, building the same payload 2.0 event AWS builds and mapping the result back the same way.

URL scheme (one port, a path prefix per endpoint; the provisioner mints these URLs):
    {base}/apis/{api_id}/<path>                     an HTTP API's $default stage
    {base}/apis/{api_id}/{stage}/<path>             a named stage of that API
    {base}/lambda-url/{region}/{function_name}/<path>   a function URL
    {base}/restapis/{api_id}/{stage}/<path>         a REST API (v1) stage, served by localcloud/rest_api.py
The prefix is stripped: the handler sees `rawPath` = "/<path>" exactly as behind AWS.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from localcloud.deployment import (
    Deployment,
    FunctionUrlDeployment,
    HttpApiDeployment,
    RestApiDeployment,
    RouteIntegration,
)

log = logging.getLogger(__name__)

# AWS quotas: HTTP API payload 10 MB; a function URL is bounded by Lambda's 6 MB synchronous payload.
HTTP_API_MAX_BODY = 10 * 1024 * 1024
FUNCTION_URL_MAX_BODY = 6 * 1024 * 1024

_TEXTUAL_TYPES = re.compile(
    r"^(text/.*|application/(json|javascript|xml|yaml|x-yaml|graphql|x-www-form-urlencoded)|.*\+(json|xml))$"
)
_REQUEST_EXPRESSION = re.compile(
    r"\$\{?(request\.[A-Za-z0-9_.\-]+|context\.[A-Za-z0-9_.]+|stageVariables\.\w+)\}?"
)


class InvocationResult(Protocol):
    """What the Lambda runtime returns: the handler's return value, or an error (error_type set)."""

    @property
    def payload(self) -> Any: ...

    @property
    def error_type(self) -> str | None: ...


Invoke = Callable[[str, str, dict[str, Any]], InvocationResult]
ClientFactory = Callable[[str, str], Any]


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_response(status: int, payload: Any, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = [("Content-Type", "application/json"), *(extra or [])]
    return Response(status, headers, json.dumps(payload).encode())


NOT_FOUND = _json_response(404, {"message": "Not Found"})
INTERNAL_ERROR = _json_response(500, {"message": "Internal Server Error"})
TOO_LARGE = _json_response(413, {"message": "Request Entity Too Large"})


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str  # without the local prefix, still URL-encoded
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


# -------------------------------------------------------------------------------------- route matching
@dataclass(frozen=True)
class _Route:
    key: str
    method: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, key: str) -> _Route:
        method, _, path = key.partition(" ")
        return cls(key, method.upper(), tuple(path.strip("/").split("/")) if path.strip("/") else ())

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")

    @property
    def parameters(self) -> int:
        return sum(1 for s in self.segments if s.startswith("{"))

    def match(self, method: str, segments: tuple[str, ...]) -> dict[str, str] | None:  # noqa: PLR0911
        if self.method not in {method, "ANY"}:
            return None
        parameters: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                rest = segments[index:]
                if not rest or rest == ("",):
                    return None  # a greedy variable needs at least one segment
                parameters[pattern[1:-2]] = unquote("/".join(rest))
                return parameters
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segments[index]:
                    return None
                parameters[pattern[1:-1]] = unquote(segments[index])
            elif pattern != segments[index]:
                return None
        return parameters if len(segments) == len(self.segments) else None

    def specificity(self) -> tuple[int, int, int, int]:
        # AWS picks the most specific route: an explicit method beats ANY; then an exact path beats path
        # variables, which beat a greedy {proxy+}; $default is the last resort (handled by the caller).
        literals = len(self.segments) - self.parameters
        return (self.method == "ANY", self.greedy, self.parameters, -literals)


def match_route(route_keys: list[str], method: str, raw_path: str) -> tuple[str, dict[str, str]] | None:
    """The route key AWS would pick for `method raw_path`, with its path parameters; None -> 404.

    HTTP APIs answer 404 {"message":"Not Found"} when no route matches, also when the path exists only
    with another method (405 is never returned), unless an ANY route or the $default route catches it.
    """
    stripped = raw_path.strip("/")
    segments = tuple(stripped.split("/")) if stripped else ()
    candidates = []
    for key in route_keys:
        if key == "$default":
            continue
        route = _Route.parse(key)
        parameters = route.match(method.upper(), segments)
        if parameters is not None:
            candidates.append((route.specificity(), key, parameters))
    if candidates:
        _, key, parameters = min(candidates)
        return key, parameters
    if "$default" in route_keys:
        return "$default", {}
    return None


# --------------------------------------------------------------------------------------- event building
def _is_textual(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXTUAL_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


def build_event(
    request: Request,
    *,
    route_key: str,
    path_parameters: dict[str, str],
    stage: str,
    api_id: str,
    account_id: str,
    stage_variables: dict[str, str] | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway v2 / function URL payload format 2.0 event for `request`."""
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            # AWS moves cookies out of the headers into `cookies`, one entry per cookie.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        # Repeated parameters are joined with commas in payload 2.0.
        query[name] = f"{query[name]},{value}" if name in query else value
    host = headers.get("host", request.host)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
            "http": {
                "method": request.method,
                "path": unquote(request.raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    if request.body:
        if _is_textual(headers.get("content-type")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            # Non-text bodies (and bodies without a content type) arrive base64-encoded, as on AWS.
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    return event


def map_lambda_result(payload: Any) -> Response:
    """Payload 2.0 response mapping: a dict with statusCode is a full response; anything else is 200 JSON."""
    if isinstance(payload, bytes | bytearray):
        payload = json.loads(payload) if payload else None
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # "If your function returns valid JSON and doesn't return a statusCode", API Gateway answers 200
        # with content-type application/json and the function's response as the body.
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Response(200, [("Content-Type", "application/json")], text.encode())
    status = int(payload["statusCode"])
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or [])
    raw_body = payload.get("body")
    body: bytes
    if raw_body is None:
        body = b""
    elif payload.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode()
    return Response(status, headers, body)


# ------------------------------------------------------------------------------ SQS-SendMessage mapping
def _resolve_expression(  # noqa: PLR0911 - one return per mapping source
    expression: str, request: Request, event: dict[str, Any], body_text: str
) -> str | None:
    """Evaluate one parameter-mapping source: $request.body[.path], .header.x, .querystring.x, .path.x."""
    if expression == "request.body":
        return body_text
    if expression.startswith("request.body."):
        node: Any = json.loads(body_text) if body_text else {}
        for part in expression.removeprefix("request.body.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else (node if isinstance(node, str) else json.dumps(node))
    if expression.startswith("request.header."):
        return event["headers"].get(expression.removeprefix("request.header.").lower())
    if expression.startswith("request.querystring."):
        return (event.get("queryStringParameters") or {}).get(expression.removeprefix("request.querystring."))
    if expression.startswith("request.path."):
        return (event.get("pathParameters") or {}).get(expression.removeprefix("request.path."))
    if expression.startswith("context."):
        node = event["requestContext"]
        for part in expression.removeprefix("context.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else str(node)
    if expression.startswith("stageVariables."):
        return (event.get("stageVariables") or {}).get(expression.removeprefix("stageVariables."))
    return None


def map_parameter(value: str, request: Request, event: dict[str, Any], body_text: str) -> str:
    """A request parameter mapping value: static text with $request.../${request...} references."""
    return _REQUEST_EXPRESSION.sub(
        lambda match: _resolve_expression(match.group(1), request, event, body_text) or "", value
    )


# --------------------------------------------------------------------------------------------- gateway
class HttpGateway:
    """Serves every HTTP API and function URL recorded in `deployment` (read at request time)."""

    def __init__(
        self,
        *,
        invoke: Invoke,
        client_factory: ClientFactory,
        deployment: Deployment | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.invoke = invoke
        self.client_factory = client_factory
        self.deployment = deployment if deployment is not None else Deployment()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

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

            def _serve(self) -> None:
                response = gateway.handle(self)
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("gateway: " + format, *args)

        return _Handler

    def handle(self, http: BaseHTTPRequestHandler) -> Response:
        target, _, raw_query = http.path.partition("?")
        parts = target.lstrip("/").split("/")
        length = int(http.headers.get("Content-Length") or 0)
        with self.deployment.lock:
            api = self.deployment.http_apis.get(parts[1]) if len(parts) > 1 and parts[0] == "apis" else None
            url_id = "/".join(parts[1:3]) if len(parts) > 2 and parts[0] == "lambda-url" else ""
            function_url = self.deployment.function_urls.get(url_id)
            rest_api = (
                self.deployment.rest_apis.get(parts[1]) if len(parts) > 1 and parts[0] == "restapis" else None
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
            )

        try:
            if api is not None:
                return self._serve_api(api, parts[2:], request)
            if function_url is not None:
                return self._serve_function_url(function_url, request("/" + "/".join(parts[3:])))
            if rest_api is not None:
                # rawPath keeps the stage, as event.requestContext.path does on AWS.
                return self._serve_rest_api(rest_api, parts[2:], request("/" + "/".join(parts[2:])))
        except Exception:
            log.exception("gateway: request %s %s failed", http.command, http.path)
            return INTERNAL_ERROR
        return NOT_FOUND

    def _serve_api(
        self, api: HttpApiDeployment, rest: list[str], request: Callable[[str], Request]
    ) -> Response:
        with self.deployment.lock:
            routes = api.route_integrations()
            stages = list(api.stages)
        stage = "$default"
        raw_path = "/" + "/".join(rest)
        if rest and rest[0] in stages and rest[0] != "$default":
            stage = rest[0]  # a named stage keeps its prefix in rawPath, as on AWS
            route_path = "/" + "/".join(rest[1:])
        elif "$default" in stages:
            route_path = raw_path
        else:
            return NOT_FOUND
        req = request(raw_path)
        matched = match_route(list(routes), req.method, route_path)
        if matched is None:
            return NOT_FOUND
        route_key, path_parameters = matched
        integration = routes[route_key]
        event = build_event(
            req,
            route_key=route_key,
            path_parameters=path_parameters,
            stage=stage,
            api_id=api.api_id,
            account_id=api.account_id,
        )
        request_id = event["requestContext"]["requestId"]
        response = self._integrate(integration, api.region, req, event)
        return Response(response.status, [*response.headers, ("apigw-requestid", request_id)], response.body)

    def _serve_rest_api(self, api: RestApiDeployment, rest: list[str], req: Request) -> Response:
        # rest_api builds on this module's Request/Response/match_route, so it is imported on first use.
        from localcloud.rest_api import serve_rest_api  # noqa: PLC0415

        return serve_rest_api(
            api, rest, req, invoke=self.invoke, client_factory=self.client_factory, lock=self.deployment.lock
        )

    def _serve_function_url(self, function_url: FunctionUrlDeployment, req: Request) -> Response:
        # Function URLs send the same 2.0 payload with routeKey "$default" and stage "$default".
        event = build_event(
            req,
            route_key="$default",
            path_parameters={},
            stage="$default",
            api_id=function_url.url_id,
            account_id=function_url.account_id,
        )
        return self._invoke_lambda(function_url.function_arn, function_url.region, event)

    def _integrate(
        self, integration: RouteIntegration, region: str, req: Request, event: dict[str, Any]
    ) -> Response:
        if integration.integration_subtype == "SQS-SendMessage":
            return self._sqs_send_message(integration, region, req, event)
        if integration.function_arn and integration.payload_format_version == "2.0":
            return self._invoke_lambda(integration.function_arn, region, event)
        log.error("gateway: unsupported integration %s", integration)
        return INTERNAL_ERROR

    def _invoke_lambda(self, function_arn: str, region: str, event: dict[str, Any]) -> Response:
        try:
            result = self.invoke(function_arn, region, event)
        except Exception:
            log.exception("gateway: invoking %s failed", function_arn)
            return INTERNAL_ERROR
        if result.error_type is not None:
            # A function error is never passed through: the client sees API Gateway's generic 500.
            log.warning("gateway: %s failed with %s", function_arn, result.error_type)
            return INTERNAL_ERROR
        try:
            return map_lambda_result(result.payload)
        except (ValueError, TypeError, KeyError):
            log.exception("gateway: malformed response from %s", function_arn)
            return INTERNAL_ERROR

    def _sqs_send_message(
        self, integration: RouteIntegration, region: str, req: Request, event: dict[str, Any]
    ) -> Response:
        body_text = req.body.decode("utf-8", errors="replace")
        mapped = {
            name: map_parameter(value, req, event, body_text)
            for name, value in integration.request_parameters.items()
        }
        kwargs: dict[str, Any] = {
            "QueueUrl": mapped["QueueUrl"],
            "MessageBody": mapped.get("MessageBody", ""),
        }
        for name in ("MessageGroupId", "MessageDeduplicationId"):
            if mapped.get(name):
                kwargs[name] = mapped[name]
        if mapped.get("DelaySeconds"):
            kwargs["DelaySeconds"] = int(mapped["DelaySeconds"])
        if mapped.get("MessageAttributes"):
            kwargs["MessageAttributes"] = json.loads(mapped["MessageAttributes"])
        sqs = self.client_factory("sqs", mapped.get("Region") or region)
        try:
            sent = sqs.send_message(**kwargs)
        except Exception as error:  # botocore ClientError: AWS passes the service's error through
            status = 500
            with contextlib.suppress(AttributeError, KeyError, TypeError):
                status = int(error.response["ResponseMetadata"]["HTTPStatusCode"])  # type: ignore[attr-defined]
            return _json_response(status, {"message": str(error)})
        result = {
            "SendMessageResponse": {
                "ResponseMetadata": {"RequestId": sent.get("ResponseMetadata", {}).get("RequestId", "")},
                "SendMessageResult": {
                    "MD5OfMessageAttributes": sent.get("MD5OfMessageAttributes"),
                    "MD5OfMessageBody": sent.get("MD5OfMessageBody")
                    or hashlib.md5(kwargs["MessageBody"].encode(), usedforsecurity=False).hexdigest(),
                    "MD5OfMessageSystemAttributes": sent.get("MD5OfMessageSystemAttributes"),
                    "MessageId": sent["MessageId"],
                    "SequenceNumber": sent.get("SequenceNumber"),
                },
            }
        }
        return _json_response(200, result)
