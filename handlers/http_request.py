"""What every HTTP-facing handler does with a request before its own checks: refuse it clearly, read its
body within a size limit, and parse a JSON body within a nesting limit.

The APIs answer refusals as {"error": <code>, "message": <what to fix>} with the error's status code.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

# Arrays and objects nested deeper than this are refused before the body is parsed. json.loads, json.dumps
# and schema validators recurse once per level, and CPython stops them with a RecursionError (a 500 that
# keeps nothing) at about 10,000 levels: 20 KB of brackets. No request these APIs take needs more than a
# few levels; an audit payload that does can travel as a base64 string.
MAX_JSON_DEPTH = 64

# A JSON string: a quote, then runs of anything but a quote or a backslash, each backslash taking the
# next character (so \" does not end it and \\ does not escape the quote after it). An unterminated
# string runs to the end of the text: the parser fails there, before reaching any bracket after it.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class RequestRejectedError(Exception):
    """The request cannot be accepted as sent; status_code and code are what the API replies."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def body_too_large(size: str, max_body_bytes: int, *, reason: str) -> RequestRejectedError:
    return RequestRejectedError(
        413,
        "payload_too_large",
        f"the request body is {size} bytes; the limit is {max_body_bytes} bytes ({reason}): "
        "send a smaller body",
    )


def read_body(
    body: str | None, *, is_base64_encoded: bool, max_body_bytes: int, expected: str, limit_reason: str
) -> bytes:
    """The body's bytes, refused with 413 over max_body_bytes (checked on the raw text before decoding)
    and 400 when empty or not valid base64. `expected` shows the sender what to send instead;
    `limit_reason` says where the limit comes from."""
    if not body:
        raise RequestRejectedError(400, "empty_body", f"the request has no body; send {expected}")
    if not is_base64_encoded:
        # Every character is at least one UTF-8 byte: longer text is over the limit whatever it holds.
        if len(body) > max_body_bytes:
            raise body_too_large(f"at least {len(body)}", max_body_bytes, reason=limit_reason)
        # Lone surrogates (smuggled in by JSON escapes upstream) survive the encoding: outside a JSON
        # string they fail the parse with a 400; inside one they reach the handler's field checks, as with
        # json.loads.
        data = body.encode("utf-8", errors="surrogatepass")
    else:
        if len(body) > 4 * -(-max_body_bytes // 3):
            raise body_too_large(f"about {len(body) * 3 // 4}", max_body_bytes, reason=limit_reason)
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise RequestRejectedError(
                400, "invalid_body", f"the body is flagged base64 but is not valid base64 ({error})"
            ) from error
    if len(data) > max_body_bytes:
        raise body_too_large(str(len(data)), max_body_bytes, reason=limit_reason)
    return data


def json_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (0 for a scalar), found without parsing it:
    brackets inside strings do not count. Malformed text gets a number too; the parser refuses it later.

    Strings and everything but brackets are dropped by regular expressions, and the running depth is
    summed by itertools, so even a 6 MB body of brackets costs a fraction of a second, not a Python loop
    per character."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_NESTING_STEP.__getitem__, brackets), initial=0))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(data: bytes, *, expected: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON document in a request body, refused with 400 when it is not JSON (NaN and Infinity are
    not) or nests deeper than max_depth; the depth is checked before anything that recurses sees it.
    `expected` shows the sender what to send instead."""
    try:
        # What json.loads does with bytes (UTF-8, -16 or -32), done here so the depth check sees the text.
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    except UnicodeDecodeError as error:
        raise RequestRejectedError(
            400, "invalid_json", f"the body is not valid JSON ({error}); send {expected}"
        ) from error
    depth = json_depth(text)
    if depth > max_depth:
        raise RequestRejectedError(
            400,
            "too_deep",
            f"the JSON document nests {depth} levels deep, deeper than the limit of {max_depth} levels "
            f"(arrays and objects inside each other); send {expected}",
        )
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise RequestRejectedError(
            400, "invalid_json", f"the body is not valid JSON ({error}); send {expected}"
        ) from error


FUNCTION_URL_ROUTE_KEY = "$default"  # what a function URL's payload 2.0 event names as its route


def behind_function_url(event: Mapping[str, Any]) -> bool:
    """True for a function URL's request: each function is a URL of its own there, so a reference
    relative to this request's URL reaches only this function (HTTP API routes share one base)."""
    request_context = event.get("requestContext")
    return isinstance(request_context, Mapping) and request_context.get("routeKey") == FUNCTION_URL_ROUTE_KEY


def caller_arn(event: Mapping[str, Any]) -> str | None:
    """Who the gateway authenticated for a request: None when neither an IAM nor a JWT authorizer vouched
    for anyone (a Lambda authorizer's context has no fixed shape, and no route of ours uses one).

    A payload 2.0 event (HTTP API, or a function URL) of an AWS_IAM route carries the SigV4 signer in
    requestContext.authorizer.iam: its userArn (a user's ARN, or an assumed role's session ARN). A JWT
    route carries the token's claims in requestContext.authorizer.jwt.claims: its subject ("sub") is the
    caller there (unique per issuer, and a route trusts one issuer). Only the authorizer's block counts:
    headers and the body are the caller's own words, not the gateway's."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    if not isinstance(authorizer, Mapping):
        return None
    iam = authorizer.get("iam")
    if isinstance(iam, Mapping):
        user_arn = iam.get("userArn")
        return user_arn if isinstance(user_arn, str) and user_arn else None
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if isinstance(claims, Mapping):
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject else None
    return None


# arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>; neither name contains a slash.
_ASSUMED_ROLE_SESSION = re.compile(r"^(arn:aws[a-z-]*:sts::\d{12}:assumed-role/[^/]+)/[^/]+$")


def principal_of(caller: str) -> str:
    """The principal a caller acts as: its ARN, or for an assumed role's session the role's session-less
    ARN (arn:aws:sts::<account>:assumed-role/<role>). IAM treats the role as the principal
    (aws:PrincipalArn), whoever may assume it picks any session name, and a producer's session name
    changes whenever its credentials are renewed: what a caller owns or has sent must not depend on it."""
    matched = _ASSUMED_ROLE_SESSION.match(caller)
    return matched.group(1) if matched else caller


# What a door answers a request no authorizer vouched for (its route lost its authorization).
UNAUTHENTICATED_MESSAGE = (
    "the request carries no authenticated caller: sign it (SigV4 for a machine route, a bearer token "
    "of the stack's user pool for a people's route) with credentials allowed to call this route"
)
