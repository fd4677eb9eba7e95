"""A text body is a str from the Lambda event, whose JSON escapes can hold lone surrogates ("\\ud800")
that no UTF-8 byte sequence represents. read_body keeps them (as json.loads would, with surrogatepass)
instead of raising, and parse_json_body gives back what json.loads gives for those bytes: outside a
string the body is refused as invalid JSON (400); inside one it is text the field checks refuse by name."""

from __future__ import annotations

import pytest

from handlers.http_request import RequestRejectedError, parse_json_body, read_body


def read_text(body: str) -> bytes:
    return read_body(body, is_base64_encoded=False, max_body_bytes=64, expected="{...}", limit_reason="LIMIT")


def test_a_text_body_holding_a_lone_surrogate_is_read_to_its_surrogatepass_bytes() -> None:
    # GIVEN a text body whose JSON string holds a lone high surrogate
    body = '["\ud800"]'
    # WHEN it is read
    data = read_text(body)
    # THEN its bytes come back, the surrogate as the three bytes surrogatepass writes for it
    assert data == b'["\xed\xa0\x80"]'


def test_a_lone_surrogate_inside_a_json_string_is_parsed_as_json_loads_parses_it() -> None:
    # GIVEN a UTF-8 body whose JSON string holds the bytes of a lone surrogate
    data = b'{"title": "x\xed\xa0\x80y"}'
    # WHEN it is parsed
    value = parse_json_body(data, expected="{...}")
    # THEN the string holds the lone surrogate, for the field checks to refuse by name
    assert value == {"title": "x\ud800y"}


def test_a_lone_surrogate_in_a_utf16_body_is_parsed_as_json_loads_parses_it() -> None:
    # GIVEN a UTF-16 (little endian, detected from its zero bytes) body holding a lone low surrogate
    data = b'[\x00"\x00\x00\xdc"\x00]\x00'
    # WHEN it is parsed
    value = parse_json_body(data, expected="{...}")
    # THEN the string holds the lone surrogate
    assert value == ["\udc00"]


def test_a_lone_surrogate_outside_a_json_string_is_400_invalid_json() -> None:
    # GIVEN a text body that is nothing but a lone surrogate
    data = read_text("\ud800")
    # WHEN its bytes are parsed
    with pytest.raises(RequestRejectedError, match=r"^the body is not valid JSON \(") as refused:
        parse_json_body(data, expected="{...}")
    # THEN it is refused as invalid JSON, a 400, not a crash
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_json")
