"""HTTP as the loopback gateway's API flavours share it: requests, responses, route matching, invocation.

The HTTP API (v2) and function URL serving (http_api.py) and the REST API (v1) serving (rest_api.py) both
build on this module, and the gateway server (gateway.py) on all three, so none imports another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

_LAMBDA_INVOKE_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$"
)


class InvocationResult(Protocol):
    """What the Lambda runtime returns: the handler's return value, or an error (error_type set)."""

    @property
    def payload(self) -> Any: ...

    @property
    def error_type(self) -> str | None: ...


Invoke = Callable[[str, str, dict[str, Any]], InvocationResult]
# (function ARN, region, principal, action, source ARN, condition context) -> whether the function's
# resource policy allows it: API Gateway and function URLs ask Lambda before they invoke.
MayInvoke = Callable[[str, str, str, str, str | None, dict[str, Any]], bool]
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str  # without the local prefix, still URL-encoded
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str
    url: str = ""  # the whole URL as the client sent it (what a SigV4 signature covers)


def json_response(status: int, payload: Any, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = [("Content-Type", "application/json"), *(extra or [])]
    return Response(status, headers, json.dumps(payload).encode())


NOT_FOUND = json_response(404, {"message": "Not Found"})
INTERNAL_ERROR = json_response(500, {"message": "Internal Server Error"})
TOO_LARGE = json_response(413, {"message": "Request Entity Too Large"})
FORBIDDEN = json_response(403, {"Message": "Forbidden"})


def function_arn_of(invoke_uri: str) -> str | None:
    """The function ARN inside a Lambda invocation URI (a function's `invokeArn`); None if it is not one."""
    match = _LAMBDA_INVOKE_URI.match(invoke_uri)
    return match.group("arn") if match else None


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
