"""The request-body limits every HTTP-facing handler shares, at their edges: one under, at, one over.

read_body measures a text body twice (its characters, then its UTF-8 bytes) and a base64 body twice (its
text, then its decoded bytes); parse_json_body refuses nesting deeper than MAX_JSON_DEPTH. Each check is
taken at the byte or level where it turns.
"""

from __future__ import annotations

import base64

import pytest

from handlers.http_request import MAX_JSON_DEPTH, RequestRejectedError, parse_json_body, read_body

LIMIT_BYTES = 8
EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)


def read(body: str, *, encoded: bool = False) -> bytes:
    return read_body(
        body, is_base64_encoded=encoded, max_body_bytes=LIMIT_BYTES, expected="{...}", limit_reason="LIMIT"
    )


@EDGES
def test_a_text_body_is_read_up_to_and_including_the_limit(offset: int, accepted: bool) -> None:
    # GIVEN an ASCII text body of 7, 8 or 9 bytes under a limit of 8
    body = "a" * (LIMIT_BYTES + offset)
    # WHEN it is read THEN up to 8 bytes come back as they are; 9 are refused by their length alone
    if accepted:
        assert read(body) == body.encode()
    else:
        with pytest.raises(
            RequestRejectedError, match=r"^the request body is at least 9 bytes; the limit is 8"
        ):
            read(body)


@EDGES
def test_multibyte_text_is_read_up_to_and_including_the_limit_in_bytes(offset: int, accepted: bool) -> None:
    # GIVEN text of 7, 8 or 9 UTF-8 bytes in fewer characters (each "é" is two bytes)
    body = "é" * 3 + "a" * (2 + offset)
    assert len(body.encode()) == LIMIT_BYTES + offset < len(body) + LIMIT_BYTES
    # WHEN it is read THEN up to 8 bytes it is returned; 9 are refused, counted in bytes, not characters
    if accepted:
        assert read(body) == body.encode()
    else:
        with pytest.raises(RequestRejectedError, match=r"^the request body is 9 bytes; the limit is 8 bytes"):
            read(body)


@EDGES
def test_a_base64_body_is_read_up_to_and_including_the_limit_of_its_decoded_bytes(
    offset: int, accepted: bool
) -> None:
    # GIVEN a base64 body that decodes to 7, 8 or 9 bytes (12 characters of base64 each: the text check,
    # which allows 12 for a limit of 8, lets all three through to the decoded check)
    data = bytes(range(LIMIT_BYTES + offset))
    body = base64.b64encode(data).decode()
    assert len(body) == 12
    # WHEN it is read THEN up to 8 decoded bytes are returned; 9 are refused naming their exact size
    if accepted:
        assert read(body, encoded=True) == data
    else:
        with pytest.raises(RequestRejectedError, match=r"^the request body is 9 bytes; the limit is 8 bytes"):
            read(body, encoded=True)


def test_base64_text_longer_than_any_body_within_the_limit_is_refused_before_decoding() -> None:
    # GIVEN base64 text of 11, 12 and 13 characters: 12 is the most that can decode to 8 bytes
    under, at, over = "A" * 10 + "=", "A" * 11 + "=", "A" * 11 + "=A"
    # WHEN each is read
    # THEN 11 and 12 are decoded (11 is not valid base64; 12 is 8 zero bytes)...
    with pytest.raises(RequestRejectedError, match=r"^the body is flagged base64 but is not valid base64"):
        read(under, encoded=True)
    assert read(at, encoded=True) == bytes(8)
    # ...and 13 is refused as too large without being decoded
    with pytest.raises(RequestRejectedError, match=r"^the request body is about 9 bytes; the limit is 8"):
        read(over, encoded=True)


@EDGES
def test_json_is_parsed_up_to_and_including_the_nesting_limit(offset: int, accepted: bool) -> None:
    # GIVEN arrays nested 63, 64 or 65 deep (the limit is 64 levels)
    assert MAX_JSON_DEPTH == 64
    levels = 64 + offset
    body = ("[" * levels + "]" * levels).encode()
    # WHEN the body is parsed THEN up to 64 levels it is the nested lists; 65 are refused naming both depths
    if accepted:
        value = parse_json_body(body, expected="{...}")
        for _ in range(levels - 1):
            [value] = value
        assert value == []
    else:
        with pytest.raises(
            RequestRejectedError,
            match=r"^the JSON document nests 65 levels deep, deeper than the limit of 64",
        ):
            parse_json_body(body, expected="{...}")
