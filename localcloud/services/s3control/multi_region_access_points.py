"""S3 Multi-Region Access Points, which moto lacks: created by the provisioner, served on the emulator's port.

An MRAP has a global name, `<alias>.accesspoint.s3-global.amazonaws.com`, which clients reach through
localcloud (LocalCloud.request sends such URLs to the emulator with that Host, as DNS would). localcloud
serves presigned object reads through it (GET, HEAD: what a download link is), their SigV4A signature
recomputed (iam/signatures.py), and refuses other requests by name. Each read is authorized as on
AWS for access points: the signer's identity policies and the underlying bucket's policy, on the access
point's ARN (`arn:aws:s3::<account>:accesspoint/<alias>/object/<key>`) and on the bucket's object.

Routing: AWS sends a request to the bucket with the lowest latency; locally every region is equally near,
so an MRAP routes to the first bucket its configuration lists (README states it).
"""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from localcloud.core.server_routes import add_route
from localcloud.services.iam.enforcement import authorize_session, secret_of
from localcloud.services.iam.request_authorization import Check
from localcloud.services.iam.signatures import PresignedRequest, SignatureError, is_presigned, verify

MRAP_DOMAIN_SUFFIX = ".accesspoint.s3-global.amazonaws.com"
_ALIAS_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class MultiRegionAccessPoint:
    name: str
    alias: str
    account: str
    buckets: tuple[str, ...]  # in the order the configuration lists their regions

    @property
    def arn(self) -> str:
        return f"arn:aws:s3::{self.account}:accesspoint/{self.alias}"

    @property
    def domain_name(self) -> str:
        return f"{self.alias}{MRAP_DOMAIN_SUFFIX}"


class MultiRegionAccessPoints:
    """The emulator's access points by alias (one registry per emulator, as moto's backends)."""

    def __init__(self) -> None:
        self._by_alias: dict[str, MultiRegionAccessPoint] = {}
        self._lock = threading.Lock()

    def create(self, name: str, account: str, buckets: list[str]) -> MultiRegionAccessPoint:
        if not 3 <= len(name) <= 50 or not all(char in _ALIAS_ALPHABET + "-" for char in name):
            raise ValueError(f"MRAP name {name!r}: 3-50 lowercase letters, digits and hyphens")
        if not buckets:
            raise ValueError(f"MRAP {name}: at least one region's bucket is required")
        with self._lock:
            if any(point.name == name for point in self._by_alias.values()):
                raise ValueError(f"an MRAP named {name} exists in this account")
            alias = "".join(secrets.choice(_ALIAS_ALPHABET) for _ in range(13)) + ".mrap"
            point = MultiRegionAccessPoint(name, alias, account, tuple(buckets))
            self._by_alias[alias] = point
        return point

    def by_alias(self, alias: str) -> MultiRegionAccessPoint | None:
        return self._by_alias.get(alias)


_points: MultiRegionAccessPoints | None = None


def install(points: MultiRegionAccessPoints) -> None:
    """Serve `points` on the emulator's port (process-global, as moto's own state)."""
    global _points  # noqa: PLW0603 - one emulator per process, as moto
    _points = points
    add_route(_mrap_app)


def uninstall() -> None:
    global _points  # noqa: PLW0603
    _points = None


def current() -> MultiRegionAccessPoints:
    if _points is None:
        raise RuntimeError("the emulator is not running; call Emulator.start() first")
    return _points


def _mrap_app(environ: dict[str, Any]) -> Any:
    host = str(environ.get("HTTP_HOST") or "").split(":", 1)[0].lower()
    return _serve if host.endswith(MRAP_DOMAIN_SUFFIX) else None


# -- serving a request -------------------------------------------------------------------------------


def _serve(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    status, headers, body = _answer(environ)
    start_response(status, list(headers.items()))
    return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]


def _error(status: str, code: str, message: str) -> tuple[str, dict[str, str], bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml", "Content-Length": str(len(body))}, body


def _answer(environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    host = str(environ.get("HTTP_HOST") or "").split(":", 1)[0].lower()
    point = current().by_alias(host[: -len(MRAP_DOMAIN_SUFFIX)])
    if point is None:
        return _error("404 Not Found", "NoSuchMultiRegionAccessPoint", f"no Multi-Region Access Point {host}")
    method = str(environ.get("REQUEST_METHOD"))
    key = unquote(str(environ.get("PATH_INFO") or "").lstrip("/"))
    if method not in {"GET", "HEAD"} or not key:
        return _error(
            "501 Not Implemented",
            "NotImplemented",
            f"localcloud serves object reads (GET, HEAD) through {point.name}, not {method} {key or '/'}",
        )
    access_key_id, refusal = _signer(environ)
    if refusal is not None:
        return _error("403 Forbidden", "AccessDenied", refusal)
    bucket = point.buckets[0]
    checks = [
        Check("s3:GetObject", f"{point.arn}/object/{key}"),
        Check("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}"),
    ]
    try:
        denial = authorize_session(access_key_id, checks)
    except LookupError:
        return _error("403 Forbidden", "InvalidAccessKeyId", f"no principal holds access key {access_key_id}")
    if denial is not None:
        return _error("403 Forbidden", "AccessDenied", denial.message())
    return _object(point, bucket, key)


def _signer(environ: dict[str, Any]) -> tuple[str, str | None]:
    """(access key id, None) of a presigned request whose signature and expiry hold, or ("", why not)."""
    query = str(environ.get("QUERY_STRING") or "")
    if not is_presigned(query):
        return "", (
            "localcloud serves presigned (SigV4A) reads through Multi-Region Access Points; this request "
            "is not presigned"
        )
    request = PresignedRequest(
        method=str(environ.get("REQUEST_METHOD")),
        raw_path=str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/").split("?", 1)[0],
        query_string=query,
        headers={"host": str(environ.get("HTTP_HOST") or "")},
    )
    try:
        return verify(request, secret_of), None
    except SignatureError as refused:
        return "", f"{refused.code}: {refused}"


def _object(point: MultiRegionAccessPoint, bucket: str, key: str) -> tuple[str, dict[str, str], bytes]:
    from moto.s3.models import s3_backends  # noqa: PLC0415 - moto is slow to import

    backend = s3_backends[point.account]["aws"]
    try:
        stored = backend.get_object(bucket, key)
    except Exception:
        stored = None
    if stored is None:
        return _error("404 Not Found", "NoSuchKey", f"The specified key does not exist: {key}")
    # The object's own headers (ETag, Last-Modified, encryption, version id) and its metadata, as S3 answers.
    headers = {
        name: str(value)
        for name, value in {**stored.metadata, **stored.response_dict}.items()
        if name.lower() != "content-length"
    }
    headers["Content-Length"] = str(stored.size)
    return "200 OK", headers, bytes(stored.value)
