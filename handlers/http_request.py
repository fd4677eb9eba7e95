"""What every HTTP-facing handler does with a request before its own checks: refuse it clearly, and read
its body within a size limit.

The APIs answer refusals as {"error": <code>, "message": <what to fix>} with the error's status code.
"""

from __future__ import annotations

import base64
import binascii


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
        # Lone surrogates (smuggled in by JSON escapes upstream) survive to fail the JSON parse with a 400.
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
