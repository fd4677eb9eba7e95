"""Who sent an audit message, from where and when: captured from the API Gateway (HTTP API, v2.0) event.

Only what the authorizer vouched for and a short allowlist of headers is kept: credentials (the
Authorization header, cookies) never enter the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from handlers.audit.message import utc_iso_ms

CAPTURED_HEADERS = ("content-type", "x-request-id", "x-amzn-trace-id", "idempotency-key", "x-forwarded-for")
AUTHORIZER_NONE = "none"


def _principal(kind: str, claims: Mapping[str, Any]) -> str | None:
    candidates: tuple[str, ...]
    if kind == "jwt":
        candidates = ("sub", "client_id", "username")
    elif kind == "iam":
        candidates = ("userArn", "callerId", "userId")
    else:
        candidates = ("principalId", "sub")
    for name in candidates:
        value = claims.get(name)
        if value:
            return str(value)
    return None


def _authorizer(request_context: Mapping[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
    """(kind, claims, scopes): jwt claims, the IAM caller's identity, or a Lambda authorizer's context."""
    authorizer = request_context.get("authorizer") or {}
    if authorizer.get("jwt"):
        jwt = authorizer["jwt"]
        return "jwt", dict(jwt.get("claims") or {}), list(jwt.get("scopes") or [])
    if authorizer.get("iam"):
        return "iam", dict(authorizer["iam"]), []
    if authorizer.get("lambda"):
        return "lambda", dict(authorizer["lambda"]), []
    return AUTHORIZER_NONE, {}, []


def capture(event: Mapping[str, Any], *, received_at: datetime) -> dict[str, Any]:
    """The security context of one request: principal, authorizer claims, source, allowlisted headers."""
    request_context = event.get("requestContext") or {}
    http = request_context.get("http") or {}
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    kind, claims, scopes = _authorizer(request_context)
    return {
        "principal": _principal(kind, claims),
        "authorizerType": kind,
        "claims": claims,
        "scopes": scopes,
        "sourceIp": http.get("sourceIp"),
        "userAgent": http.get("userAgent") or headers.get("user-agent"),
        "headers": {name: headers[name] for name in CAPTURED_HEADERS if name in headers},
        "requestId": request_context.get("requestId"),
        "receivedAt": utc_iso_ms(received_at),
    }
