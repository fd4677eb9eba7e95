"""to_utf8 through validate_xml: how the encoding is told (byte order mark, zero bytes, declaration), the
exact UTF-8 bytes stored, and refusals naming the encoding and the byte offset, BOM included."""

from __future__ import annotations

import codecs

import pytest

from handlers.transform.xml_validation import XmlRejected, validate_xml

LIMITS = {"max_bytes": 100_000, "max_depth": 8}
ACCEPTED = "UTF-8, UTF-16 (LE or BE), ISO-8859-1 or US-ASCII"


def rejection(body: bytes) -> XmlRejected:
    with pytest.raises(XmlRejected) as caught:
        validate_xml(body, **LIMITS)
    return caught.value


def test_a_utf8_document_without_a_declaration_is_stored_as_sent() -> None:
    # GIVEN UTF-8 without an XML declaration
    body = "<a>é</a>".encode()
    # THEN the very bytes sent are stored
    assert validate_xml(body, **LIMITS) is body


def test_a_utf8_document_whose_declaration_names_no_encoding_is_stored_as_sent() -> None:
    # GIVEN UTF-8 with a declaration that has no encoding (XML's default is UTF-8)
    body = '<?xml version="1.0" standalone="yes"?><a>é</a>'.encode()
    # THEN the very bytes sent are stored
    assert validate_xml(body, **LIMITS) is body


def test_a_document_whose_declaration_names_no_encoding_must_be_utf8() -> None:
    # GIVEN ISO-8859-1 bytes under a declaration that names no encoding
    body = b'<?xml version="1.0"?><a>caf\xe9</a>'
    # THEN it is refused as invalid UTF-8 at the byte that is not (27: a 21-byte declaration, "<a>caf")
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert error.message.startswith(
        "the body is not valid UTF-8 (byte offset 27: invalid continuation byte); "
    )


@pytest.mark.parametrize("declared", ["csUTF8", "CSutf8"])
def test_a_utf8_alias_in_the_declaration_is_rewritten_as_utf8(declared: str) -> None:
    # GIVEN UTF-8 whose declaration names it by a registered alias, in any case
    body = f'<?xml version="1.0" encoding="{declared}"?>\n<a>é</a>'.encode()
    # THEN the declaration is rewritten to the name every parser knows, the rest unchanged
    assert validate_xml(body, **LIMITS) == '<?xml version="1.0" encoding="UTF-8"?>\n<a>é</a>'.encode()


def test_a_declared_upper_case_utf8_is_stored_as_sent() -> None:
    # GIVEN UTF-8 declared as 'UTF-8'
    body = "<?xml version='1.0' encoding='UTF-8'?><a>é</a>".encode()
    # THEN it is stored as sent
    assert validate_xml(body, **LIMITS) == body


@pytest.mark.parametrize("declared", ["l1", "IBM819", "csISOLatin1", "ISO_8859-1:1987"])
def test_an_iso_8859_1_alias_is_read_as_latin1_and_stored_as_utf8(declared: str) -> None:
    # GIVEN ISO-8859-1 bytes declared by one of its registered aliases, with single quotes
    body = f"<?xml version='1.0' encoding='{declared}'?><a>café</a>".encode("latin-1")
    # THEN it is stored as UTF-8 with a UTF-8 declaration
    assert validate_xml(body, **LIMITS) == "<?xml version='1.0' encoding='UTF-8'?><a>café</a>".encode()


def test_a_declaration_without_its_closing_mark_names_no_encoding() -> None:
    # GIVEN ISO-8859-1 bytes after an unterminated declaration naming ISO-8859-1 (no '?>')
    body = '<?xml version="1.0" encoding="ISO-8859-1" <a>café</a>'.encode("latin-1")
    # THEN there is no declaration to honour: the bytes are read as UTF-8, which they are not
    assert rejection(body).code == "invalid_encoding"


def test_a_declared_encoding_is_honoured_past_the_200th_byte() -> None:
    # GIVEN an ISO-8859-1 declaration whose closing quote is the document's 201st byte (XML allows any
    # amount of whitespace between the declaration's pseudo-attributes)
    head = '<?xml version="1.0"'
    tail = 'encoding="ISO-8859-1"'
    padding = " " * (201 - len(head) - len(tail))
    body = f"{head}{padding}{tail}?><a>café</a>".encode("latin-1")
    # THEN it is read as ISO-8859-1 and stored as UTF-8, as with a shorter declaration
    assert validate_xml(body, **LIMITS) == f'{head}{padding}encoding="UTF-8"?><a>café</a>'.encode()


def test_non_ascii_bytes_under_a_us_ascii_declaration_are_refused_however_long_the_declaration() -> None:
    # GIVEN UTF-8 bytes under a US-ASCII declaration padded past the 200th byte
    body = ('<?xml version="1.0"' + " " * 200 + 'encoding="US-ASCII"?><a>é</a>').encode()
    # THEN it is refused at the door, as the same document with a short declaration is
    assert rejection(body).code == "invalid_encoding"


def test_a_declared_encoding_outside_the_accepted_ones_is_refused_naming_it_and_the_accepted_ones() -> None:
    # GIVEN a declaration naming an encoding the pipeline does not read
    error = rejection(b'<?xml version="1.0" encoding="EBCDIC-US"?><a/>')
    # THEN the refusal names it and lists the accepted encodings
    assert (error.status_code, error.code) == (400, "unsupported_encoding")
    assert error.message.startswith(
        "the XML declaration names encoding 'EBCDIC-US', which is not accepted; "
        f"send the document in {ACCEPTED}, "
    )


@pytest.mark.parametrize(
    ("body", "how"),
    [
        ("<a/>".encode("utf-32-le"), "utf-32-le"),
        ("<a/>".encode("utf-32-be"), "utf-32-be"),
    ],
    ids=["le", "be"],
)
def test_utf32_without_a_byte_order_mark_is_refused_by_its_zero_bytes(body: bytes, how: str) -> None:
    # GIVEN UTF-32 (either byte order) without a byte order mark or declaration
    error = rejection(body)
    # THEN it is refused as UTF-32, told by its first character's width
    assert (error.status_code, error.code) == (400, "unsupported_encoding"), how
    assert error.message.startswith(
        "the document is UTF-32 (its first character is 4 bytes wide), which is not "
    )


def test_utf32_with_a_byte_order_mark_is_refused_naming_the_mark() -> None:
    # GIVEN UTF-32 little endian with its byte order mark (which starts like UTF-16 LE's)
    error = rejection(codecs.BOM_UTF32_LE + "<a/>".encode("utf-32-le"))
    # THEN it is refused as UTF-32, not read as UTF-16
    assert error.message.startswith(
        "the document is UTF-32 (it starts with a UTF-32 byte order mark), which "
    )


@pytest.mark.parametrize("body", [b"<\x00", b"\x00<", b"<\x00a\x00/\x00>\x00", b"\x00<\x00a\x00/\x00>"])
def test_a_zero_byte_beside_a_non_zero_one_at_the_start_is_taken_for_utf16_without_a_mark(
    body: bytes,
) -> None:
    # GIVEN a body (from two bytes long) that starts with one zero byte and one non-zero byte, either way
    error = rejection(body)
    # THEN it is refused as UTF-16 without the byte order mark or declaration XML requires
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert error.message.startswith(
        "the document looks like UTF-16 without a byte order mark or an XML declaration"
    )


def test_a_body_starting_with_two_zero_bytes_is_malformed_not_utf16() -> None:
    # GIVEN a body starting with two zero bytes (not a UTF-16 or UTF-32 pattern)
    error = rejection(b"\x00\x00<a/>")
    # THEN it is refused by the parser as malformed XML
    assert (error.status_code, error.code) == (400, "malformed_xml")


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
    ],
)
def test_invalid_utf16_is_refused_naming_its_byte_order_and_the_offset_counted_from_the_mark(
    bom: bytes, codec: str, name: str
) -> None:
    # GIVEN UTF-16 with its byte order mark and a lone surrogate after '<a>x' (bytes 2-9)
    surrogate = "\ud800".encode(codec, "surrogatepass")
    body = bom + "<a>x".encode(codec) + surrogate + "</a>".encode(codec)
    # THEN it is refused naming the byte order and the offset in the body as sent
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert error.message.startswith(
        f"the body is not valid {name} (byte offset 10: illegal UTF-16 surrogate); "
    )


def test_invalid_utf8_after_a_byte_order_mark_is_refused_at_its_offset_in_the_body() -> None:
    # GIVEN a UTF-8 byte order mark (3 bytes), '<a>' and a byte that starts no UTF-8 character
    error = rejection(codecs.BOM_UTF8 + b"<a>\xff</a>")
    # THEN the offset counts the mark
    assert error.message.startswith("the body is not valid UTF-8 (byte offset 6: invalid start byte); ")


def test_non_ascii_under_a_us_ascii_declaration_is_refused_naming_us_ascii_and_the_byte() -> None:
    # GIVEN a US-ASCII declaration and an 'é' (UTF-8) at byte 44
    error = rejection('<?xml version="1.0" encoding="US-ASCII"?><a>é</a>'.encode())
    # THEN the refusal names US-ASCII as the encoding it is not valid in, and the byte
    assert error.message.startswith(
        "the body is not valid US-ASCII (byte offset 44: ordinal not in range(128)); "
    )
    assert ACCEPTED in error.message


@pytest.mark.parametrize(
    ("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
)
def test_utf16_whose_declaration_names_no_encoding_is_stored_with_that_declaration(
    bom: bytes, codec: str
) -> None:
    # GIVEN UTF-16 with its byte order mark and a declaration without an encoding
    body = bom + '<?xml version="1.0"?><a>é</a>'.encode(codec)
    # THEN it is stored as UTF-8 with the declaration as it was (UTF-8 is the default)
    assert validate_xml(body, **LIMITS) == '<?xml version="1.0"?><a>é</a>'.encode()


def test_a_utf16_byte_order_mark_wins_over_a_contradicting_declaration() -> None:
    # GIVEN UTF-16 LE with its mark, whose declaration claims ISO-8859-1
    body = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode("utf-16-le")
    # THEN it is read as UTF-16 and stored as UTF-8, its declaration rewritten
    assert validate_xml(body, **LIMITS) == '<?xml version="1.0" encoding="UTF-8"?><a>é</a>'.encode()


@pytest.mark.parametrize(("codec", "name"), [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
def test_invalid_utf16_without_a_byte_order_mark_is_refused_at_its_offset(codec: str, name: str) -> None:
    # GIVEN UTF-16 without a mark, told by its declaration (39 characters, 78 bytes), then '<a>' (6 bytes)
    # and a lone surrogate at byte 84
    declaration = '<?xml version="1.0" encoding="UTF-16"?>'
    surrogate = "\ud800".encode(codec, "surrogatepass")
    body = f"{declaration}<a>".encode(codec) + surrogate + "</a>".encode(codec)
    # THEN it is refused naming the byte order and that offset
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert error.message.startswith(
        f"the body is not valid {name} (byte offset 84: illegal UTF-16 surrogate); "
    )


def test_a_single_byte_document_declaring_utf16_is_refused_saying_why_it_is_not() -> None:
    # GIVEN ASCII bytes whose declaration claims UTF-16
    error = rejection(b'<?xml version="1.0" encoding="utf-16"?><a>x</a>')
    # THEN the refusal names the declared encoding and why the bytes are not in it
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert error.message.startswith(
        "the XML declaration names 'utf-16', but the document is not UTF-16: it has no byte order mark and "
        "its '<?xml' is in single bytes; "
    )
