"""API Gateway WebSocket APIs on the loopback gateway: live connections, $connect authorization and
integrations, and the Management API (@connections), as API Gateway serves them.

URL scheme (the gateway's port; the provisioner mints these):
    ws://{gateway}/apis/{api_id}/{stage}                          clients connect (AWS: wss://{api-id}...)
    http://{gateway}/apis/{api_id}/{stage}/@connections/{id}      the stage's Management API (AWS: https://)
so a stage's Management API is its WebSocket URL over HTTP, as on AWS.

Connect: the upgrade request is authorized as the $connect route says. AWS_IAM: SigV4 for
`execute-api` in the API's region (Authorization header, or presigned in the query string), whose signer
may `execute-api:Connect` on `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/$connect`; else API
Gateway's 403 and no connection. Then the $connect integration (Lambda proxy, only if the function's
policy lets API Gateway invoke it for that route) gets the WebSocket event (eventType CONNECT,
requestContext.connectionId, identity); a function error is a 500 and a non-2xx statusCode is that
status, both refusing the connection. Once open, the connection is registered until it closes (client
close, EOF, DeleteConnection, 10 minutes without a client frame, or 2 hours), then the $disconnect
integration is invoked (eventType DISCONNECT) as AWS does, best effort.

Messages from a client: the route selection expression `$request.body.<field>` picks a route, else
$default; its Lambda integration gets the MESSAGE event (no route responses: nothing is sent back). A
message no route takes is answered {"message": "Forbidden", "connectionId", "requestId"} as API Gateway
answers it.

Management API (SigV4 for `execute-api`; the signer may `execute-api:ManageConnections` on
`.../<api-id>/<stage>/<METHOD>/@connections/<id>`, else 403): POST sends the body to the client (a text
frame when it is UTF-8, else binary; over 128 KB: 413 PayloadTooLargeException), GET describes the
connection, DELETE closes it; an unknown or closed connection is 410 GoneException.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.frames import Frame, Opcode
from websockets.http11 import Request as HandshakeRequest
from websockets.http11 import Response as HandshakeResponse
from websockets.protocol import State
from websockets.server import ServerProtocol

from localcloud.core.clients import ClientFactory
from localcloud.services.apigateway import iam_authorization
from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.http import (
    APIGATEWAY_PRINCIPAL,
    NOT_FOUND,
    Invoke,
    MayInvoke,
    Request,
    Response,
    json_response,
)
from localcloud.services.apigateway.http_api import HttpRoute, read_http_api
from localcloud.services.apigateway.iam_authorization import AWS_IAM, IamCaller

logger = logging.getLogger(__name__)

CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE = "$connect", "$disconnect", "$default"
CONNECTIONS_PATH = "@connections"
# API Gateway's WebSocket quotas: a message (and a PostToConnection payload) is at most 128 KB; a
# connection lasts at most 2 hours and closes after 10 minutes without a frame from its client.
MAX_MESSAGE_BYTES = 128 * 1024
MAX_CONNECTION_SECONDS = 2 * 3600
IDLE_TIMEOUT_SECONDS = 10 * 60
_CLOSE_HANDSHAKE_SECONDS = 5.0
_RECEIVE_BYTES = 65536
GOING_AWAY = 1001


def _gone(connection_id: str) -> Response:
    return json_response(
        410, {"message": f"connection {connection_id} is gone"}, [("x-amzn-ErrorType", "GoneException")]
    )


def is_upgrade(headers: Mapping[str, str]) -> bool:
    """Whether a request asks to become a WebSocket (Upgrade: websocket)."""
    return any(
        name.lower() == "upgrade" and value.strip().lower() == "websocket" for name, value in headers.items()
    )


def _connection_id() -> str:
    # API Gateway's ids are 16 base64 characters (e.g. "L0SM9cOFvHcCIhw="); ours avoid "/" and "+", which a
    # path segment would have to escape.
    return base64.b64encode(secrets.token_bytes(11)).decode().replace("/", "S").replace("+", "P")


def _iso(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_seconds))


@dataclass(eq=False)
class LiveConnection:
    """One open WebSocket: its socket and protocol state (sent to under a lock from any thread)."""

    connection_id: str
    api: HttpApiEndpoint
    stage: str
    socket: socket.socket
    protocol: ServerProtocol
    identity: dict[str, Any]  # requestContext.identity
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN

    def send(self, data: bytes) -> bool:
        """Send one message (text when UTF-8); False when the connection is no longer open."""
        with self._lock:
            if not self.open:
                return False
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.protocol.send_binary(data)
            else:
                self.protocol.send_text(data)
            return self._flush()

    def open_registered(
        self, handshake: HandshakeResponse, register: Callable[[LiveConnection], None]
    ) -> None:
        """Register the connection, then answer 101: a client may post to or delete its connection as soon
        as its connect returns, so the gateway must hold it by then. Under the lock, as every use of the
        protocol (a management call before the 101 is out finds it not yet open: Gone)."""
        with self._lock:
            register(self)
            self.protocol.send_response(handshake)
            self._flush()

    def receive(self, data: bytes) -> list[Any]:
        """Feed what the socket read (b"": end of stream); the frames it completed."""
        with self._lock:
            if data:
                self.protocol.receive_data(data)
                self.last_active_at = time.time()
            else:
                self.protocol.receive_eof()
            events = self.protocol.events_received()
            self._flush()
            return events

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (the reading thread finishes it)."""
        with self._lock:
            if self.open:
                self.protocol.send_close(code, reason)
                self._flush()

    def _flush(self) -> bool:
        try:
            for chunk in self.protocol.data_to_send():
                if chunk:
                    self.socket.sendall(chunk)
                else:
                    self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            return False
        return True


class WebSocketApis:
    """The WebSocket APIs' data plane: serves upgrade requests and the Management API, and holds the
    live connections (routes, integrations and stages are read from the emulator on each connect)."""

    def __init__(self, *, invoke: Invoke, may_invoke: MayInvoke, client_factory: ClientFactory) -> None:
        self.invoke = invoke
        self.may_invoke = may_invoke
        self.client_factory = client_factory
        self._connections: dict[str, LiveConnection] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def _register(self, connection: LiveConnection) -> None:
        with self._lock:
            self._connections[connection.connection_id] = connection

    def connections(self, api_id: str | None = None) -> list[LiveConnection]:
        """The live connections (of one API)."""
        with self._lock:
            return [found for found in self._connections.values() if api_id in (None, found.api.api_id)]

    def close_all(self) -> None:
        """Close every connection (the gateway is stopping): no $disconnect runs then."""
        with self._lock:
            self._stopping = True
            live = list(self._connections.values())
        for connection in live:
            connection.close(GOING_AWAY, "Going away")
            with contextlib.suppress(OSError):
                connection.socket.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------------------------ connecting
    def serve_upgrade(self, http: BaseHTTPRequestHandler, api: HttpApiEndpoint, rest: list[str]) -> None:
        """Answer an upgrade request to `{endpoint}/<rest...>`: refuse it, or serve the connection until
        it closes (this thread is the connection's reader)."""
        http.close_connection = True
        protocol = ServerProtocol(max_size=MAX_MESSAGE_BYTES)
        apigatewayv2 = self.client_factory("apigatewayv2", api.region)
        routes, stages = read_http_api(apigatewayv2, api.api_id)
        selection = str(apigatewayv2.get_api(ApiId=api.api_id).get("RouteSelectionExpression") or "")
        if len(rest) != 1 or rest[0] not in stages:
            self._answer(http, protocol, 403, {"message": "Forbidden"})
            return
        stage = rest[0]
        request = self._request(http)
        connect = routes.get(CONNECT_ROUTE)
        caller = self._authorize_connect(connect, request, api, stage)
        if isinstance(caller, Response):
            self._answer(http, protocol, caller.status, json.loads(caller.body))
            return
        upgrade = _handshake_request(http, protocol)
        if upgrade is None:
            self._answer(http, protocol, 400, {"message": "Bad Request"})
            return
        handshake = protocol.accept(upgrade)
        if handshake.status_code != 101:
            self._send(http, protocol, handshake)
            return
        identity = {
            **(caller.rest_identity() if caller else {}),
            "sourceIp": request.source_ip,
            "userAgent": dict(request.headers).get("User-Agent", ""),
        }
        connection = LiveConnection(_connection_id(), api, stage, http.connection, protocol, identity)
        if connect is not None:
            event = self._event(connection, CONNECT_ROUTE, "CONNECT", request=request)
            status = self._integrate(connect, connection, CONNECT_ROUTE, event)
            if not 200 <= status < 300:
                body = {"message": "Internal server error" if status >= 500 else "Forbidden"}
                self._answer(http, protocol, status, body)
                return
        connection.open_registered(handshake, self._register)
        logger.info("gateway: WebSocket %s connected to %s/%s", connection.connection_id, api.api_id, stage)
        try:
            self._read(connection, routes, selection)
        finally:
            with self._lock:
                self._connections.pop(connection.connection_id, None)
                stopping = self._stopping
            logger.info("gateway: WebSocket %s closed (%s)", connection.connection_id, protocol.close_code)
            disconnect = routes.get(DISCONNECT_ROUTE)
            if disconnect is not None and not stopping:
                event = self._event(connection, DISCONNECT_ROUTE, "DISCONNECT")
                event["requestContext"]["disconnectStatusCode"] = protocol.close_code or 1006
                event["requestContext"]["disconnectReason"] = protocol.close_reason or ""
                self._integrate(disconnect, connection, DISCONNECT_ROUTE, event)

    def _authorize_connect(
        self, connect: HttpRoute | None, request: Request, api: HttpApiEndpoint, stage: str
    ) -> IamCaller | Response | None:
        if connect is None or connect.authorization_type == "NONE":
            return None
        if connect.authorization_type == AWS_IAM:
            route_arn = (
                f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{stage}/{CONNECT_ROUTE}"
            )
            return iam_authorization.authorize(
                request, route_arn, api.account_id, action="execute-api:Connect"
            )
        # Fail closed: an authorizer localcloud does not run lets no one in.
        logger.warning("gateway: $connect of %s uses %s authorization, not verified", api.api_id, connect)
        return json_response(401, {"message": "Unauthorized"})

    def _read(self, connection: LiveConnection, routes: dict[str, HttpRoute], selection: str) -> None:
        sock, protocol = connection.socket, connection.protocol
        parts: list[bytes] = []
        while protocol.state is not State.CLOSED:
            now = time.time()
            if protocol.state is State.OPEN:
                idle_left = connection.last_active_at + IDLE_TIMEOUT_SECONDS - now
                left = min(idle_left, connection.connected_at + MAX_CONNECTION_SECONDS - now)
                if left <= 0:
                    connection.close(GOING_AWAY, "Going away")
                    continue
                sock.settimeout(left)
            else:
                sock.settimeout(_CLOSE_HANDSHAKE_SECONDS)
            try:
                data = sock.recv(_RECEIVE_BYTES)
            except TimeoutError:
                if protocol.state is not State.OPEN:
                    return
                continue
            except OSError:
                data = b""
            for frame in connection.receive(data):
                if isinstance(frame, Frame) and frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    parts.append(bytes(frame.data))
                    if frame.fin:
                        self._on_message(connection, routes, selection, b"".join(parts))
                        parts = []
            if not data:
                return

    def _on_message(
        self, connection: LiveConnection, routes: dict[str, HttpRoute], selection: str, body: bytes
    ) -> None:
        route_key = _selected_route(routes, selection, body)
        request_id = str(uuid.uuid4())
        if route_key is None:
            answer = {
                "message": "Forbidden",
                "connectionId": connection.connection_id,
                "requestId": request_id,
            }
            connection.send(json.dumps(answer).encode())
            return
        event = self._event(connection, route_key, "MESSAGE", request_id=request_id)
        event["requestContext"]["messageId"] = request_id
        event["body"] = body.decode("utf-8", errors="replace")
        self._integrate(routes[route_key], connection, route_key, event)

    # ---------------------------------------------------------------------------------- integrations
    def _integrate(
        self, route: HttpRoute, connection: LiveConnection, route_key: str, event: dict[str, Any]
    ) -> int:
        """Invoke a route's Lambda integration; the status API Gateway takes from it."""
        api = connection.api
        function_arn = route.integration.function_arn
        source_arn = (
            f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{connection.stage}/{route_key}"
        )
        if not function_arn:
            logger.error(
                "gateway: WebSocket route %s has an integration localcloud does not serve", route_key
            )
            return 500
        if not self.may_invoke(
            function_arn, api.region, APIGATEWAY_PRINCIPAL, "lambda:InvokeFunction", source_arn, {}
        ):
            logger.warning("gateway: %s may not be invoked by %s (its policy)", function_arn, source_arn)
            return 500
        try:
            result = self.invoke(function_arn, api.region, event)
        except Exception:
            logger.exception("gateway: invoking %s for %s failed", function_arn, route_key)
            return 500
        if result.error_type is not None:
            logger.warning("gateway: %s failed on %s with %s", function_arn, route_key, result.error_type)
            return 500
        payload = result.payload
        if isinstance(payload, bytes | bytearray):
            payload = json.loads(payload) if payload else None
        if isinstance(payload, dict) and "statusCode" in payload:
            return int(payload["statusCode"])
        return 200

    def _event(
        self,
        connection: LiveConnection,
        route_key: str,
        event_type: str,
        *,
        request: Request | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """API Gateway's WebSocket event for a Lambda proxy integration."""
        now = time.time()
        api = connection.api
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "extendedRequestId": str(uuid.uuid4()),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "messageDirection": "IN",
                "stage": connection.stage,
                "connectedAt": int(connection.connected_at * 1000),
                "requestTimeEpoch": int(now * 1000),
                "identity": dict(connection.identity),
                "requestId": request_id or str(uuid.uuid4()),
                "domainName": urlsplit(api.endpoint).netloc,
                "connectionId": connection.connection_id,
                "apiId": api.api_id,
            },
            "isBase64Encoded": False,
        }
        if request is not None:
            headers: dict[str, str] = {}
            multi: dict[str, list[str]] = {}
            for name, value in request.headers:
                headers[name] = value
                multi.setdefault(name, []).append(value)
            event["headers"], event["multiValueHeaders"] = headers, multi
            query = parse_qsl(request.raw_query, keep_blank_values=True)
            if query:
                event["queryStringParameters"] = dict(query)
                grouped: dict[str, list[str]] = {}
                for name, value in query:
                    grouped.setdefault(name, []).append(value)
                event["multiValueQueryStringParameters"] = grouped
        return event

    # -------------------------------------------------------------------------------- Management API
    def manage(self, request: Request, api: HttpApiEndpoint, rest: list[str]) -> Response:
        """Answer `{endpoint}/<stage>/@connections/<id>` (POST, GET, DELETE)."""
        if len(rest) != 3 or rest[1] != CONNECTIONS_PATH or request.method not in {"POST", "GET", "DELETE"}:
            return NOT_FOUND
        stage, connection_id = rest[0], unquote(rest[2])
        resource = (
            f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{stage}/{request.method}/"
            f"{CONNECTIONS_PATH}/{connection_id}"
        )
        caller = iam_authorization.authorize(
            request, resource, api.account_id, action="execute-api:ManageConnections"
        )
        if isinstance(caller, Response):
            return caller
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None or connection.api.api_id != api.api_id or not connection.open:
            return _gone(connection_id)
        if request.method == "POST":
            return _post(connection, request.body)
        if request.method == "GET":
            return json_response(
                200,
                {
                    "connectedAt": _iso(connection.connected_at),
                    "lastActiveAt": _iso(connection.last_active_at),
                    "identity": {
                        "sourceIp": connection.identity.get("sourceIp", ""),
                        "userAgent": connection.identity.get("userAgent", ""),
                    },
                },
            )
        connection.close(1000, "")
        return Response(204, [], b"")

    # ------------------------------------------------------------------------------------- plumbing
    @staticmethod
    def _request(http: BaseHTTPRequestHandler) -> Request:
        target, _, raw_query = http.path.partition("?")
        host = http.headers.get("Host", "")
        return Request(
            method=http.command,
            raw_path=target,
            raw_query=raw_query,
            headers=list(http.headers.items()),
            body=b"",
            source_ip=http.client_address[0],
            host=host,
            url=f"http://{host}{http.path}",
        )

    def _answer(self, http: BaseHTTPRequestHandler, protocol: ServerProtocol, status: int, body: Any) -> None:
        response = protocol.reject(status, json.dumps(body))
        response.headers["Content-Type"] = "application/json"
        self._send(http, protocol, response)
        logger.info("gateway: WebSocket upgrade %s refused: %s %s", http.path.split("?")[0], status, body)

    @staticmethod
    def _send(http: BaseHTTPRequestHandler, protocol: ServerProtocol, response: Any) -> None:
        protocol.send_response(response)
        with contextlib.suppress(OSError):
            for chunk in protocol.data_to_send():
                if chunk:
                    http.connection.sendall(chunk)


def _handshake_request(http: BaseHTTPRequestHandler, protocol: ServerProtocol) -> HandshakeRequest | None:
    """The upgrade request, fed to the protocol as it arrived (the HTTP server has read it already), so
    that the protocol parses frames, not a request, once the handshake is answered."""
    lines = [http.requestline, *(f"{name}: {value}" for name, value in http.headers.items()), "", ""]
    protocol.receive_data("\r\n".join(lines).encode("latin-1"))
    requests = [event for event in protocol.events_received() if isinstance(event, HandshakeRequest)]
    return requests[0] if requests else None  # None: not a request websockets accepts (a body, say)


def _post(connection: LiveConnection, data: bytes) -> Response:
    """PostToConnection: the data to the client, as one message."""
    if len(data) > MAX_MESSAGE_BYTES:
        return json_response(
            413,
            {"message": f"the data is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}"},
            [("x-amzn-ErrorType", "PayloadTooLargeException")],
        )
    return Response(200, [], b"") if connection.send(data) else _gone(connection.connection_id)


def _selected_route(routes: Mapping[str, HttpRoute], selection: str, body: bytes) -> str | None:
    """The route a client message takes: the value of the selection expression `$request.body.<path>`
    in a JSON message when a route has that key, else $default (None: no route takes it)."""
    node: Any = None
    if selection.startswith("$request.body."):
        try:
            node = json.loads(body)
        except ValueError:
            node = None
        for part in selection.removeprefix("$request.body.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, str) and node in routes and not node.startswith("$"):
        return node
    return DEFAULT_ROUTE if DEFAULT_ROUTE in routes else None
