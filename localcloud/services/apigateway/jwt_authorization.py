"""API Gateway's JWT authorizers (HTTP APIs), as API Gateway applies them before a route's integration runs.

A JWT route answers only a request whose identity source (the Authorization header, with or without a
"Bearer " prefix) holds a token that:
- is a JWS signed (RS256) by a key of the issuer's JWKS (`<issuer>/.well-known/jwks.json`, found by `kid`);
- has `iss` equal to the authorizer's issuer and an `aud` or `client_id` among its audiences;
- is within its validity (`exp` in the future, `nbf` and `iat` not in it);
- carries one of the route's authorization scopes in `scope`/`scp`, when the route names any.
Otherwise: 401 {"message":"Unauthorized"} with a `www-authenticate` header saying why (403 Forbidden for a
valid token lacking a scope), and nothing reaches the integration. An allowed request's claims are what
`requestContext.authorizer.jwt` carries to the function.

The issuers localcloud can reach are its own Cognito user pools (moto issues their tokens and serves their
JWKS); any other issuer answers 401 with a log line naming it, so a route never opens for lack of a key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from localcloud.core.clients import ClientFactory
from localcloud.services.apigateway.http import Request, Response, json_response

logger = logging.getLogger(__name__)

JWT = "JWT"
_COGNITO_ISSUER_PREFIX = "https://cognito-idp."
_COGNITO_ISSUER_SUFFIX = ".amazonaws.com/"
# API Gateway caches an issuer's public keys for up to two hours.
JWKS_CACHE_SECONDS = 2 * 3600


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API's JWT authorizer, as GetAuthorizer answers it."""

    issuer: str
    audiences: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> JwtAuthorizer:
        configuration = item.get("JwtConfiguration") or {}
        sources = item.get("IdentitySource") or ["$request.header.Authorization"]
        return cls(
            issuer=str(configuration.get("Issuer") or "").rstrip("/"),
            audiences=tuple(configuration.get("Audience") or ()),
            identity_source=sources[0],
        )


@dataclass(frozen=True)
class JwtCaller:
    claims: dict[str, Any]
    scopes: list[str] | None

    def authorizer_context(self) -> dict[str, Any]:
        """`requestContext.authorizer.jwt` of a payload 2.0 event: every claim as a string, as API Gateway
        passes them."""
        return {
            "claims": {
                name: value if isinstance(value, str) else json.dumps(value)
                for name, value in self.claims.items()
            },
            "scopes": self.scopes,
        }


class IssuerKeys:
    """The issuers' public keys, fetched once per JWKS_CACHE_SECONDS like API Gateway's cache."""

    def __init__(self, client_factory: ClientFactory) -> None:
        self._client_factory = client_factory
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def key_set(self, issuer: str) -> KeySet | None:
        with self._lock:
            cached = self._keys.get(issuer)
            if cached is not None and time.monotonic() - cached[0] < JWKS_CACHE_SECONDS:
                return cached[1]
        fetched = self._fetch(issuer)
        if fetched is not None:
            with self._lock:
                self._keys[issuer] = (time.monotonic(), fetched)
        return fetched

    def _fetch(self, issuer: str) -> KeySet | None:
        pool = _cognito_pool(issuer)
        if pool is None:
            logger.warning(
                "gateway: JWT issuer %s is not a localcloud user pool; its tokens are refused", issuer
            )
            return None
        region, pool_id = pool
        cognito = self._client_factory("cognito-idp", region)
        try:
            cognito.describe_user_pool(UserPoolId=pool_id)
        except ClientError:
            logger.warning("gateway: JWT issuer %s names no user pool; its tokens are refused", issuer)
            return None
        # The JWKS as anyone fetches it: over HTTP from the pool's well-known URL (the emulator's).
        request = urllib.request.Request(  # noqa: S310 - the emulator's loopback endpoint
            f"{cognito.meta.endpoint_url}/{pool_id}/.well-known/jwks.json",
            headers={"Host": f"cognito-idp.{region}.amazonaws.com"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return KeySet.import_key_set(json.loads(response.read()))


def _cognito_pool(issuer: str) -> tuple[str, str] | None:
    """(region, pool id) of a Cognito issuer URL, else None."""
    if not issuer.startswith(_COGNITO_ISSUER_PREFIX) or _COGNITO_ISSUER_SUFFIX not in issuer:
        return None
    region, _, pool_id = issuer.removeprefix(_COGNITO_ISSUER_PREFIX).partition(_COGNITO_ISSUER_SUFFIX)
    return (region, pool_id) if region and pool_id and "/" not in pool_id else None


def _unauthorized(description: str) -> Response:
    challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return json_response(401, {"message": "Unauthorized"}, [("www-authenticate", challenge)])


def _token(request: Request, identity_source: str) -> str | None:
    header = identity_source.removeprefix("$request.header.").lower()
    value = next((value for name, value in request.headers if name.lower() == header), "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


class _TokenRefusedError(Exception):
    """Why a token is refused: the www-authenticate error_description API Gateway sends."""


def authorize(
    request: Request,
    authorizer: JwtAuthorizer,
    scopes: Sequence[str],
    keys: IssuerKeys,
    *,
    now: float | None = None,
) -> JwtCaller | Response:
    """The claims of a request to a JWT route, or the 401/403 API Gateway answers instead."""
    token = _token(request, authorizer.identity_source)
    if token is None:
        return json_response(401, {"message": "Unauthorized"})
    try:
        claims = _verified_claims(token, authorizer, keys, int(time.time() if now is None else now))
    except _TokenRefusedError as refused:
        return _unauthorized(str(refused))
    granted = str(claims.get("scope") or claims.get("scp") or "").split()
    if scopes and not set(granted) & set(scopes):
        return json_response(403, {"message": "Forbidden"})
    return JwtCaller(claims, granted or None)


def _verified_claims(token: str, authorizer: JwtAuthorizer, keys: IssuerKeys, moment: int) -> dict[str, Any]:
    key_set = keys.key_set(authorizer.issuer)
    if key_set is None:
        raise _TokenRefusedError("signing key not found")
    try:
        claims = dict(jwt.decode(token, key_set, algorithms=["RS256"]).claims)
    except JoseError as refused:
        raise _TokenRefusedError(f"the token could not be verified: {refused.error}") from None
    except ValueError:
        raise _TokenRefusedError("the token is not a JWT") from None
    if str(claims.get("iss", "")).rstrip("/") != authorizer.issuer:
        raise _TokenRefusedError("the token's issuer is not the authorizer's")
    audiences = claims.get("aud", claims.get("client_id"))
    if not any(audience in authorizer.audiences for audience in _listed(audiences)):
        raise _TokenRefusedError("the token's audience is not one the authorizer accepts")
    try:
        jwt.JWTClaimsRegistry(now=moment, exp={"essential": True}).validate(claims)
    except JoseError:
        expired = not isinstance(claims.get("exp"), int) or claims["exp"] <= moment
        why = "the token has expired" if expired else "the token is not valid yet"
        raise _TokenRefusedError(why) from None
    return claims


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
