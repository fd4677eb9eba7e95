"""Reading a request body within a limit: the one way every HTTP-facing handler does it."""

from __future__ import annotations

import base64

import pytest

from handlers.http_request import RequestRejectedError, read_body


def read(body: str | None, *, encoded: bool = False, limit: int = 8) -> bytes:
    return read_body(
        body, is_base64_encoded=encoded, max_body_bytes=limit, expected="{...}", limit_reason="LIMIT"
    )


def test_a_body_within_the_limit_is_returned_as_bytes_plain_or_base64() -> None:
    assert read("abc") == b"abc"
    assert read(base64.b64encode(b"\x00\xff").decode(), encoded=True) == b"\x00\xff"


@pytest.mark.parametrize(
    ("body", "encoded"), [("123456789", False), (base64.b64encode(b"123456789").decode(), True)]
)
def test_a_body_over_the_limit_is_413_naming_the_limit_and_its_reason(body: str, encoded: bool) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        read(body, encoded=encoded)
    assert (refused.value.status_code, refused.value.code) == (413, "payload_too_large")
    assert "the limit is 8 bytes (LIMIT)" in refused.value.message


def test_multibyte_text_is_measured_in_bytes_not_characters() -> None:
    with pytest.raises(RequestRejectedError, match="the request body is 9 bytes"):
        read("ééé" + "abc")  # 6 characters, 9 UTF-8 bytes


@pytest.mark.parametrize(
    ("body", "encoded", "code"),
    [(None, False, "empty_body"), ("", False, "empty_body"), ("%%%", True, "invalid_body")],
)
def test_an_empty_or_badly_encoded_body_is_400_saying_what_to_send(
    body: str | None, encoded: bool, code: str
) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        read(body, encoded=encoded)
    assert (refused.value.status_code, refused.value.code) == (400, code)
