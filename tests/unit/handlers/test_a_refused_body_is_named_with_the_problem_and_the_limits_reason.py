"""What read_body's refusals say: an empty body names that it is empty and what to send; a body over the
limit names its size, the limit and where the limit comes from, whichever check (text length, base64
length, decoded bytes) refused it."""

from __future__ import annotations

import base64

import pytest

from handlers.http_request import RequestRejectedError, read_body


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
@pytest.mark.parametrize("body", [None, ""], ids=["null", "empty"])
def test_an_empty_body_is_refused_saying_it_has_none_and_what_to_send(
    body: str | None, encoded: bool
) -> None:
    # GIVEN a request with no body, flagged base64 or not
    # WHEN it is read
    with pytest.raises(RequestRejectedError) as refused:
        read_body(
            body, is_base64_encoded=encoded, max_body_bytes=8, expected="an XML document", limit_reason="R"
        )
    # THEN it is 400 empty_body, saying the body is missing and naming what to send
    assert (refused.value.status_code, refused.value.code) == (400, "empty_body")
    assert refused.value.message == "the request has no body; send an XML document"
    assert str(refused.value) == refused.value.message


@pytest.mark.parametrize(
    ("body", "encoded", "size"),
    [
        ("a" * 9, False, "at least 9"),
        ("é" * 4 + "a", False, "9"),
        ("A" * 16, True, "about 12"),
        (base64.b64encode(bytes(9)).decode(), True, "9"),
    ],
    ids=["text-length", "text-bytes", "base64-length", "base64-decoded"],
)
def test_a_body_over_the_limit_is_413_naming_its_size_the_limit_and_the_limits_reason(
    body: str, encoded: bool, size: str
) -> None:
    # GIVEN a body over a limit of 8 bytes, caught by each of the size checks in turn
    # WHEN it is read under a limit whose reason is named
    with pytest.raises(RequestRejectedError) as refused:
        read_body(
            body,
            is_base64_encoded=encoded,
            max_body_bytes=8,
            expected="{...}",
            limit_reason="the upload function's setting",
        )
    # THEN it is 413 payload_too_large, naming its size, the limit and the limit's reason
    assert (refused.value.status_code, refused.value.code) == (413, "payload_too_large")
    assert refused.value.message.startswith(
        f"the request body is {size} bytes; the limit is 8 bytes (the upload function's setting): "
    )
