"""A tiny HTTP client for the gateway's loopback endpoints (stdlib only; the demo and e2e tests share it)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_seconds: float = 60.0,
) -> HttpResponse:
    """Send one request; 4xx/5xx are returned, not raised, so callers can assert on them."""
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError(f"localcloud only talks to loopback endpoints, not {url}")
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(prepared, timeout=timeout_seconds) as response:  # noqa: S310
            return HttpResponse(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return HttpResponse(error.code, error.read(), dict(error.headers))
