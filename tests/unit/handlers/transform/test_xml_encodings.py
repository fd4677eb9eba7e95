"""The upload door's encodings and attribute limits: what XML allows is accepted, the rest refused with 400.

Accepted: UTF-8 and UTF-16 (LE or BE, with a byte order mark, or without one when an XML declaration
starts the document), ISO-8859-1 and US-ASCII, all stored as UTF-8 the worker's parser reads. Refused
(400, naming the encoding or the byte): other encodings, UTF-32, bytes invalid for the encoding.
"""

from __future__ import annotations

import codecs
import json

import pytest

from handlers.transform import xml_validation
from handlers.transform.rules import RuleSet
from handlers.transform.transform import transform_document
from handlers.transform.xml_validation import XmlRejected, validate_xml

LIMITS = {"max_bytes": 1_000_000, "max_depth": 8}
NAME = "Zoë Łukasz"
EXPECTED_UTF8 = f'<?xml version="1.0" encoding="UTF-8"?><name>{NAME}</name>'.encode()


def rejection(body: bytes) -> XmlRejected:
    with pytest.raises(XmlRejected) as caught:
        validate_xml(body, **LIMITS)
    return caught.value


def worker_reads(stored: bytes) -> bytes:
    """What the worker makes of the stored document: its parser must read what the door stored."""
    return transform_document(stored, RuleSet(rule_id="identity"))


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
    ids=["le", "be"],
)
@pytest.mark.parametrize(
    "declared", ["UTF-16", "utf-16", None], ids=["declared", "declared-lower", "undeclared"]
)
def test_utf16_with_a_byte_order_mark_is_accepted_and_stored_as_utf8(
    bom: bytes, codec: str, declared: str | None
) -> None:
    # GIVEN a UTF-16 document (little or big endian) starting with its byte order mark
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    body = bom + f"{declaration}<name>{NAME}</name>".encode(codec)
    # WHEN the door validates it
    stored = validate_xml(body, **LIMITS)
    # THEN it is stored as UTF-8 with the same characters, and the worker reads it
    expected = EXPECTED_UTF8 if declared else f"<name>{NAME}</name>".encode()
    assert stored == expected
    assert json.loads(worker_reads(stored)) == {"name": NAME}


@pytest.mark.parametrize(
    ("codec", "declared"),
    [("utf-16-le", "UTF-16"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16"), ("utf-16-be", "UTF-16BE")],
)
def test_utf16_without_a_byte_order_mark_is_accepted_when_an_xml_declaration_starts_it(
    codec: str, declared: str
) -> None:
    # GIVEN a UTF-16 document without a BOM whose first characters are its XML declaration
    body = f'<?xml version="1.0" encoding="{declared}"?><name>{NAME}</name>'.encode(codec)
    # THEN '<?xml' in 16-bit units identifies it (XML 1.0 appendix F) and it is stored as UTF-8
    assert validate_xml(body, **LIMITS) == EXPECTED_UTF8


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_or_declaration_is_refused_saying_what_to_add(codec: str) -> None:
    # GIVEN UTF-16 text with neither a BOM nor an XML declaration, which XML does not allow
    error = rejection(f"<name>{NAME}</name>".encode(codec))
    # THEN it is refused as an encoding problem, not as malformed XML, with the fix in the message
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert "UTF-16" in error.message and "byte order mark" in error.message


def test_a_single_byte_document_declaring_utf16_is_refused() -> None:
    # GIVEN ASCII bytes whose declaration claims UTF-16 (no BOM, '<?xml' in single bytes)
    error = rejection(b'<?xml version="1.0" encoding="UTF-16"?><a>x</a>')
    # THEN the contradiction is named instead of decoding garbage
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert "UTF-16" in error.message and "declare" in error.message


@pytest.mark.parametrize(
    "body",
    [
        codecs.BOM_UTF32_LE + "<a/>".encode("utf-32-le"),
        codecs.BOM_UTF32_BE + "<a/>".encode("utf-32-be"),
        '<?xml version="1.0" encoding="UTF-32"?><a/>'.encode("utf-32-le"),
    ],
    ids=["bom-le", "bom-be", "declared"],
)
def test_utf32_is_refused_naming_it(body: bytes) -> None:
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "unsupported_encoding")
    assert "UTF-32" in error.message


def test_invalid_utf8_in_a_document_declaring_utf8_is_refused_at_the_door_naming_the_byte() -> None:
    # GIVEN a document declaring UTF-8 whose name holds the ISO-8859-1 byte for 'é'
    body = b'<?xml version="1.0" encoding="UTF-8"?><name>Jos\xe9</name>'
    offset = body.index(b"\xe9")
    # WHEN it is validated
    error = rejection(body)
    # THEN it is a 400 naming the byte offset and the problem, and nothing downstream ever sees it
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert f"byte offset {offset}" in error.message and "UTF-8" in error.message


@pytest.mark.parametrize(
    "declared",
    [
        "unicode_escape",
        "raw_unicode_escape",
        "idna",
        "rot13",
        "utf-7",
        "punycode",
        "base64",
        "windows-1252",
        "cp1252",
        "Shift_JIS",
        "U8",
        "utf_8",
        "cp65001",
        "klingon",
    ],
)
def test_encodings_xml_processors_need_not_support_are_refused_naming_the_encoding(declared: str) -> None:
    # GIVEN a document whose declaration names a codec other than UTF-8, UTF-16, ISO-8859-1 or US-ASCII
    error = rejection(f'<?xml version="1.0" encoding="{declared}"?><a>x</a>'.encode())
    # THEN it is refused before any decoding, naming the encoding and the accepted ones
    assert (error.status_code, error.code) == (400, "unsupported_encoding")
    assert repr(declared) in error.message
    assert "UTF-8" in error.message and "ISO-8859-1" in error.message


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("ISO-8859-1", "latin-1"),
        ("iso-8859-1", "latin-1"),
        ("latin1", "latin-1"),
        ("US-ASCII", "ascii"),
        ("utf-8", "utf-8"),
        ("UTF-8", "utf-8"),
    ],
)
def test_accepted_encodings_are_stored_as_utf8_the_worker_reads(declared: str, codec: str) -> None:
    # GIVEN a document in an accepted encoding, named in any case or by a registered alias
    text = "Zoe" if codec == "ascii" else "Zoë"
    body = f'<?xml version="1.0" encoding="{declared}"?><name>{text}</name>'.encode(codec)
    # WHEN the door stores it
    stored = validate_xml(body, **LIMITS)
    # THEN the stored bytes are UTF-8 and the worker reads the same characters
    assert stored.decode("utf-8").endswith(f"<name>{text}</name>")
    assert json.loads(worker_reads(stored)) == {"name": text}


def test_bytes_outside_us_ascii_are_refused_for_a_document_declaring_it() -> None:
    error = rejection('<?xml version="1.0" encoding="US-ASCII"?><a>é</a>'.encode())
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert "US-ASCII" in error.message and "byte offset" in error.message


def test_a_doctype_is_refused_in_utf16_too() -> None:
    body = codecs.BOM_UTF16_LE + '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16-le")
    assert rejection(body).code == "doctype_forbidden"


def test_attribute_count_over_the_limit_is_refused_and_at_the_limit_accepted() -> None:
    limit = xml_validation.MAX_ATTRIBUTES_PER_ELEMENT
    # GIVEN one element with as many attributes as allowed, and one with one more
    at_limit = ("<a " + " ".join(f'x{index}="1"' for index in range(limit)) + "/>").encode()
    over = ("<a " + " ".join(f'x{index}="1"' for index in range(limit + 1)) + "/>").encode()
    # THEN the first is accepted and the second refused with 400 naming the limit
    assert validate_xml(at_limit, **LIMITS) == at_limit
    error = rejection(over)
    assert (error.status_code, error.code) == (400, "too_many_attributes")
    assert str(limit) in error.message and "line 1" in error.message


def test_attribute_value_over_the_size_limit_is_refused_and_at_the_limit_accepted() -> None:
    limit = xml_validation.MAX_ATTRIBUTE_VALUE_CHARS
    # GIVEN attribute values of exactly the limit and one character more
    at_limit = f'<a v="{"x" * limit}"/>'.encode()
    over = f'<a v="{"x" * (limit + 1)}"/>'.encode()
    # THEN the first is accepted and the second refused with 400 naming the attribute and the limit
    assert validate_xml(at_limit, **LIMITS) == at_limit
    error = rejection(over)
    assert (error.status_code, error.code) == (400, "attribute_too_large")
    assert "'v'" in error.message and f"{limit:,}" in error.message
