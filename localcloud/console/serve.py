"""The console's routes, which the gateway hands over: the page at `/`, its script and style sheet, and
the JSON it polls, under `/_console/`.

Every answer forbids what the page does not need: scripts and styles come from these files only (no
inline script, no eval), the page fetches from its own origin only, and nothing may frame it. The
gateway listens on loopback, but a web page elsewhere can still point a name of its own at 127.0.0.1
(DNS rebinding) and read what the browser fetches; the console therefore answers only requests whose Host
is a loopback name.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localcloud.console.executions import execution_history
from localcloud.console.state import snapshot, to_json
from localcloud.core.deployment import Deployment
from localcloud.services.apigateway.http import INTERNAL_ERROR, Response

logger = logging.getLogger(__name__)

PREFIX = "/_console/"
PAGE_PATHS = frozenset({"/", PREFIX})
STATIC_FILES = {
    f"{PREFIX}console.js": ("console.js", "text/javascript; charset=utf-8"),
    f"{PREFIX}console.css": ("console.css", "text/css; charset=utf-8"),
    f"{PREFIX}favicon.svg": ("favicon.svg", "image/svg+xml"),
}
STATE_PATH = f"{PREFIX}state.json"
EXECUTION_PATH = f"{PREFIX}execution.json"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]
LOOPBACK_NAMES = frozenset({"localhost"})


def static_text(name: str) -> bytes:
    """One of the page's files, read from the package (so wherever localcloud is, they are)."""
    return (resources.files(__package__) / "static" / name).read_bytes()


def is_loopback_host(host: str) -> bool:
    """Whether a Host header names this machine's loopback (any port); an absent one passes, as only a
    browser, which always sends one, can be led here by a rebound name."""
    if not host:
        return True
    name = urlsplit(f"//{host}").hostname or ""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _answer(
    status: int, content_type: str, body: bytes, extra: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, [("Content-Type", content_type), *SECURITY_HEADERS, *(extra or [])], body)


def _json(status: int, payload: Any) -> Response:
    return _answer(status, "application/json; charset=utf-8", to_json(payload))


class Console:
    """The console of one LocalCloud: its stack's name and exports, its deployment's resources, and
    everything else read from moto's backends in this process (localcloud.console.state)."""

    def __init__(
        self, *, stack: str, deployment: Deployment, exports: Callable[[], Mapping[str, Any]]
    ) -> None:
        self.stack = stack
        self.deployment = deployment
        self.exports = exports

    @staticmethod
    def owns(path: str) -> bool:
        """Whether a request path (query included or not) is the console's."""
        target = path.partition("?")[0]
        return target == "/" or target.startswith(PREFIX)

    def answer(self, http: BaseHTTPRequestHandler) -> Response:
        """The answer to a request the gateway received for the console. No body is read: a request
        carrying one ends its connection, so the unread bytes are never taken for the next request."""
        if int(http.headers.get("Content-Length") or 0):
            http.close_connection = True
        target, _, query = http.path.partition("?")
        try:
            return self.respond(http.command, target, query, http.headers.get("Host", ""))
        except Exception:
            logger.exception("console: %s %s failed", http.command, http.path)
            return INTERNAL_ERROR

    def respond(self, method: str, target: str, query: str, host: str) -> Response:
        """The answer to a request the console owns (see `owns`); `target` is its path, `query` the rest."""
        if not is_loopback_host(host):
            return _json(403, {"message": "the console answers loopback names only (localhost, 127.0.0.1)"})
        if method not in {"GET", "HEAD"}:
            return _answer(
                405,
                "application/json; charset=utf-8",
                to_json({"message": "Method Not Allowed"}),
                [("Allow", "GET, HEAD")],
            )
        return self._route(target, query)

    def _route(self, target: str, query: str) -> Response:
        if target in PAGE_PATHS:
            return _answer(200, "text/html; charset=utf-8", static_text("console.html"))
        if target in STATIC_FILES:
            name, content_type = STATIC_FILES[target]
            return _answer(200, content_type, static_text(name))
        if target == STATE_PATH:
            with self.deployment.lock:
                deployed = list(self.deployment.resources)
            return _json(200, snapshot(stack=self.stack, exports=self.exports(), resources=deployed))
        if target == EXECUTION_PATH:
            return self._execution(query)
        return _json(404, {"message": "Not Found"})

    @staticmethod
    def _execution(query: str) -> Response:
        arns = parse_qs(query).get("arn") or []
        if len(arns) != 1:
            return _json(400, {"message": "give one execution ARN: execution.json?arn=<executionArn>"})
        history = execution_history(arns[0])
        if history is None:
            return _json(404, {"message": f"no execution {arns[0]}"})
        return _json(200, history)
