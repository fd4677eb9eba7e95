"""Validate an uploaded XML body before anything is stored, and normalise it to UTF-8.

Checks run in this order: size (413), empty (400), declared encoding (415), then one expat pass for
DOCTYPE/ENTITY declarations (400, refused rather than expanded: billion laughs, XXE), well-formedness
(400) and nesting depth (400). The expat pass sees each byte once, which matters on 10 MB bodies.
"""

from __future__ import annotations

import codecs
import re
from xml.parsers import expat

_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
# Byte order marks, longest first: a UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# XML 1.0 appendix F: without a BOM, '<?' in a 16-bit encoding is recognisable from its zero bytes.
_BOMLESS_UTF16: tuple[tuple[bytes, str], ...] = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_DECLARATION = re.compile(
    r"""^<\?xml\s+version\s*=\s*(?P<q1>["'])[^"']*(?P=q1)"""
    r"""(?P<enc>\s+encoding\s*=\s*(?P<q2>["'])(?P<name>[^"']*)(?P=q2))?""",
)
_DECLARATION_PROBE_CHARS = 200


class XmlRejected(Exception):  # noqa: N818 - name fixed by the pipeline contract
    """The body cannot be accepted; status_code and code are what the API replies."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


class _DtdForbiddenError(Exception):
    pass


class _TooDeepError(Exception):
    pass


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
    document = _to_utf8(body)
    _check_structure(document, max_depth=max_depth)
    return document


def _to_utf8(body: bytes) -> bytes:
    encoding, has_bom = _detected_encoding(body)
    if encoding in _UTF8_NAMES and not has_bom:
        # Already UTF-8 and declared so (or undeclared): check the bytes, keep them as they are.
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _invalid_bytes("UTF-8", error) from error
        return body
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        raise _invalid_bytes(encoding, error) from error
    text = text.removeprefix("\ufeff")
    match = _DECLARATION.match(text)
    if match and match.group("enc"):
        text = text[: match.start("name")] + "UTF-8" + text[match.end("name") :]
    return text.encode("utf-8")


def _detected_encoding(body: bytes) -> tuple[str, bool]:
    """The codec to decode with and whether a BOM set it; a BOM wins over the declaration (XML 1.0)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, True
    for prefix, codec in _BOMLESS_UTF16:
        if body.startswith(prefix):
            return codec, False
    probe = body[:_DECLARATION_PROBE_CHARS].decode("latin-1")
    match = _DECLARATION.match(probe)
    if not match or not match.group("enc"):
        return "utf-8", False
    return _codec_name(match.group("name")), False


def _codec_name(declared: str) -> str:
    try:
        info = codecs.lookup(declared)
    except LookupError:
        info = None
    # codecs also knows bytes-to-bytes transforms such as 'base64' and 'zlib', which are not charsets.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise XmlRejected(
            415,
            "unsupported_encoding",
            f"the XML declaration names encoding {declared!r}, which is not supported; "
            "re-encode the document as UTF-8 (or another standard charset such as ISO-8859-1 or UTF-16)",
        )
    return info.name


def _invalid_bytes(encoding: str, error: UnicodeDecodeError) -> XmlRejected:
    return XmlRejected(
        415,
        "unsupported_encoding",
        f"the body is not valid {encoding} (byte offset {error.start}: {error.reason}); declare the "
        "document's real encoding in its XML declaration or re-encode it as UTF-8",
    )


def _check_structure(document: bytes, *, max_depth: int) -> None:
    parser = expat.ParserCreate("UTF-8")
    depth = 0

    def start(_name: str, _attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise _TooDeepError

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def forbid(*_args: object) -> int:
        raise _DtdForbiddenError

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
    except _DtdForbiddenError:
        raise XmlRejected(
            400,
            "doctype_forbidden",
            f"the document declares a DOCTYPE/DTD or entities (line {parser.CurrentLineNumber}); "
            "these are refused for security (entity expansion, external entities): remove the declaration",
        ) from None
    except _TooDeepError:
        raise XmlRejected(
            400,
            "too_deep",
            f"elements are nested more than {max_depth} levels deep (line {parser.CurrentLineNumber}); "
            "flatten the document or ask for a higher MAX_XML_DEPTH",
        ) from None
    except expat.ExpatError as error:
        raise XmlRejected(
            400,
            "malformed_xml",
            f"the XML is not well-formed at line {error.lineno}, column {error.offset}: "
            f"{expat.ErrorString(error.code)}; fix the document and upload it again",
        ) from None
