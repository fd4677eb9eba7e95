"""Validate an uploaded XML body before anything is stored, and normalise it to UTF-8.

Checks run in this order: size (413), empty (400), encoding (400: one the pipeline accepts, and bytes
valid in it), then one expat pass for DOCTYPE/ENTITY declarations (400, refused rather than expanded:
billion laughs, XXE), well-formedness, nesting depth and attribute limits (400). The expat pass sees each
byte once, which matters on 10 MB bodies.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import NoReturn
from xml.parsers import expat

# The encodings accepted, by every name an XML declaration may give them (IANA names and registered
# aliases, matched without regard to case), and the Python codec that reads each.
#
# Decision: UTF-8 and UTF-16 because XML 1.0 (section 4.3.3) requires every processor to read them;
# ISO-8859-1 and US-ASCII because they are the only other encodings expat, the parser of this check and
# of the worker, reads natively, and the legacy encodings feeds are still sent in. Everything else is
# refused with 400 naming it, and the client re-encodes as UTF-8: Python's codec registry, which decided
# before, also knows names that are not character sets of XML at all (unicode_escape decodes escape
# sequences, idna and punycode rewrite host names, utf-7 smuggles markup past text filters), and a name
# Python reads but expat does not (such as U8) let a document in that the worker could then not parse.
# UTF-32 is refused too: XML processors need not read it.
_CODEC_OF_NAME: Mapping[str, str] = {
    name.lower(): codec
    for codec, names in (
        ("utf-8", ("UTF-8", "csUTF8")),
        ("utf-16", ("UTF-16", "csUTF16")),
        ("utf-16-le", ("UTF-16LE", "csUTF16LE")),
        ("utf-16-be", ("UTF-16BE", "csUTF16BE")),
        (
            "latin-1",
            (
                "ISO-8859-1",
                "ISO_8859-1",
                "ISO_8859-1:1987",
                "iso-ir-100",
                "latin1",
                "l1",
                "IBM819",
                "CP819",
                "csISOLatin1",
            ),
        ),
        (
            "ascii",
            (
                "US-ASCII",
                "ANSI_X3.4-1968",
                "ANSI_X3.4-1986",
                "ISO_646.irv:1991",
                "ISO646-US",
                "iso-ir-6",
                "us",
                "IBM367",
                "cp367",
                "csASCII",
            ),
        ),
    )
    for name in names
}
ACCEPTED_ENCODINGS = "UTF-8, UTF-16 (LE or BE), ISO-8859-1 or US-ASCII"
_UTF16_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be"})
_DISPLAY_NAME = {"utf-8": "UTF-8", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "ascii": "US-ASCII"}
# Byte order marks; the UTF-32 ones first, as the UTF-32-LE mark starts with the UTF-16-LE one.
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 appendix F: without a BOM, '<?' is recognisable in 16- and 32-bit encodings by its zero bytes.
_BOMLESS_UTF32 = (b"<\x00\x00\x00", b"\x00\x00\x00<")
_BOMLESS_UTF16: tuple[tuple[bytes, str], ...] = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
XML_DECLARATION = re.compile(
    r"""^<\?xml\s+version\s*=\s*(?P<q1>["'])[^"']*(?P=q1)"""
    r"""(?P<enc>\s+encoding\s*=\s*(?P<q2>["'])(?P<name>[^"']*)(?P=q2))?""",
)

# Attributes are identifiers, codes and flags; data belongs in element text. xmltodict turns each
# attribute into a key of its element's object and the rules match attribute paths one by one, so an
# element with thousands of attributes costs the worker far more than its bytes, and a megabyte value
# lands in the JSON where consumers expect a short field. Real feeds stay far below both limits.
MAX_ATTRIBUTES_PER_ELEMENT = 256
MAX_ATTRIBUTE_VALUE_CHARS = 64 * 1024


class XmlRejected(Exception):  # noqa: N818 - name fixed by the pipeline contract
    """The body cannot be accepted; status_code and code are what the API replies."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def validate_xml(body: bytes, *, max_bytes: int, max_depth: int) -> bytes:
    """Return the document as UTF-8 bytes (declaration rewritten) or raise XmlRejected."""
    if len(body) > max_bytes:
        raise XmlRejected(
            413,
            "payload_too_large",
            f"the body is {len(body)} bytes, over the limit of {max_bytes} bytes; split the document "
            "or ask for a higher MAX_UPLOAD_BYTES",
        )
    if not body:
        raise XmlRejected(400, "empty_body", "the body is empty; send an XML document as the request body")
    document = to_utf8(body)
    _check_structure(document, max_depth=max_depth)
    return document


def to_utf8(body: bytes) -> bytes:
    """The document as UTF-8, its declaration (if any) naming UTF-8 so the worker's parser reads it so.

    A byte order mark decides the encoding, then 16-bit zero bytes around '<?xml', then the declaration.
    """
    wide = _from_wide_encoding(body)
    if wide is not None:
        return wide
    # The whole declaration, however much whitespace XML lets it hold between its pseudo-attributes (the
    # body is already within the upload limit); without its closing '?>' there is no declaration to read.
    declaration = XML_DECLARATION.match(body[: body.find(b"?>") + 2].decode("latin-1"))
    if declaration is None or not declaration.group("enc"):
        return _checked_utf8(body)
    declared = declaration.group("name")
    codec = _CODEC_OF_NAME.get(declared.lower())
    if codec is None:
        raise _unsupported(f"the XML declaration names encoding {declared!r}")
    if codec in _UTF16_CODECS:
        raise XmlRejected(
            400,
            "invalid_encoding",
            f"the XML declaration names {declared!r}, but the document is not UTF-16: it has no byte order "
            "mark and its '<?xml' is in single bytes; declare the encoding its bytes are in, or re-encode "
            "it as UTF-16 with a byte order mark",
        )
    if codec != "utf-8":
        return _reencode(body, codec, skip=0)
    _checked_utf8(body)
    if declared.lower() == "utf-8":
        return body
    # An alias such as csUTF8: the declaration is ASCII, so a latin-1 offset is a byte offset.
    return body[: declaration.start("name")] + b"UTF-8" + body[declaration.end("name") :]


def _from_wide_encoding(body: bytes) -> bytes | None:
    """The document re-encoded when a byte order mark or zero bytes tell its encoding; None otherwise."""
    for bom in _UTF32_BOMS:
        if body.startswith(bom):
            raise _unsupported("the document is UTF-32 (it starts with a UTF-32 byte order mark)")
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _reencode(body, codec, skip=len(bom))
    if body.startswith(_BOMLESS_UTF32):
        raise _unsupported("the document is UTF-32 (its first character is 4 bytes wide)")
    for prefix, codec in _BOMLESS_UTF16:
        if body.startswith(prefix):
            return _reencode(body, codec, skip=0)
    # No 8-bit document starts with a NUL or a character followed by one: XML forbids U+0000.
    if len(body) > 1 and (body[0] == 0) != (body[1] == 0):
        raise XmlRejected(
            400,
            "invalid_encoding",
            "the document looks like UTF-16 without a byte order mark or an XML declaration, and XML "
            "requires one of them in a UTF-16 document; start it with the byte order mark U+FEFF or "
            "re-encode it as UTF-8",
        )
    return None


def _checked_utf8(body: bytes) -> bytes:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid_bytes("utf-8", error, offset=0) from error
    return body


def _reencode(body: bytes, codec: str, *, skip: int) -> bytes:
    try:
        text = body[skip:].decode(codec)
    except UnicodeDecodeError as error:
        raise _invalid_bytes(codec, error, offset=skip) from error
    match = XML_DECLARATION.match(text)
    if match and match.group("enc"):
        text = text[: match.start("name")] + "UTF-8" + text[match.end("name") :]
    return text.encode("utf-8")


def _unsupported(what: str) -> XmlRejected:
    return XmlRejected(
        400,
        "unsupported_encoding",
        f"{what}, which is not accepted; send the document in {ACCEPTED_ENCODINGS}, named in its XML "
        "declaration (re-encode it as UTF-8 if it is in another encoding)",
    )


def _invalid_bytes(codec: str, error: UnicodeDecodeError, *, offset: int) -> XmlRejected:
    return XmlRejected(
        400,
        "invalid_encoding",
        f"the body is not valid {_DISPLAY_NAME.get(codec, codec)} (byte offset {offset + error.start}: "
        f"{error.reason}); declare the document's real encoding ({ACCEPTED_ENCODINGS}) in its XML "
        "declaration, or re-encode it as UTF-8",
    )


def _check_structure(document: bytes, *, max_depth: int) -> None:
    parser = expat.ParserCreate("UTF-8")
    depth = 0
    max_attribute_items = 2 * MAX_ATTRIBUTES_PER_ELEMENT

    def refuse(code: str, message: str) -> NoReturn:
        raise XmlRejected(400, code, f"{message} (line {parser.CurrentLineNumber})")

    def start(_name: str, attributes: list[str]) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            refuse(
                "too_deep",
                f"elements are nested more than {max_depth} levels deep; flatten the document or ask for "
                "a higher MAX_XML_DEPTH",
            )
        if not attributes:
            return
        # ordered_attributes: [name, value, name, value, ...]
        if len(attributes) > max_attribute_items:
            refuse(
                "too_many_attributes",
                f"an element has {len(attributes) // 2} attributes, more than the limit of "
                f"{MAX_ATTRIBUTES_PER_ELEMENT}; move data into child elements",
            )
        for position in range(1, len(attributes), 2):
            if len(attributes[position]) > MAX_ATTRIBUTE_VALUE_CHARS:
                refuse(
                    "attribute_too_large",
                    f"attribute {attributes[position - 1]!r} holds {len(attributes[position]):,} "
                    f"characters, more than the limit of {MAX_ATTRIBUTE_VALUE_CHARS:,}; move large values "
                    "into element text",
                )

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def forbid(*_args: object) -> NoReturn:
        refuse(
            "doctype_forbidden",
            "the document declares a DOCTYPE/DTD or entities; these are refused for security (entity "
            "expansion, external entities): remove the declaration",
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.NotationDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    # Never read a parameter entity or external DTD subset, even if a handler above were bypassed.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.ordered_attributes = True
    try:
        parser.Parse(document, True)
    except expat.ExpatError as error:
        raise XmlRejected(
            400,
            "malformed_xml",
            f"the XML is not well-formed at line {error.lineno}, column {error.offset}: "
            f"{expat.ErrorString(error.code)}; fix the document and upload it again",
        ) from None
