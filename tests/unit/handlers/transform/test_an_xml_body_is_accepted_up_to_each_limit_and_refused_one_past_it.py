"""validate_xml's limits (size, depth, attribute count, attribute value size), each at limit - 1, limit and
limit + 1, and where each refusal points (status, code, the numbers and the line)."""

from __future__ import annotations

import pytest

from handlers.transform.xml_validation import XmlRejected, validate_xml

MAX_BYTES = 100
MAX_DEPTH = 3
# The limits xml_validation documents for attributes (per element, and characters per value).
MAX_ATTRIBUTES = 256
MAX_VALUE_CHARS = 64 * 1024


def validated(body: bytes) -> bytes:
    return validate_xml(body, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)


def rejection(body: bytes, *, max_bytes: int = MAX_BYTES) -> XmlRejected:
    with pytest.raises(XmlRejected) as caught:
        validate_xml(body, max_bytes=max_bytes, max_depth=MAX_DEPTH)
    return caught.value


def of_size(size: int) -> bytes:
    """A well-formed document of exactly `size` bytes."""
    return b"<a>" + b"x" * (size - 7) + b"</a>"


def element_with(attributes: list[tuple[str, str]]) -> bytes:
    return ("<a " + " ".join(f'{name}="{value}"' for name, value in attributes) + "/>").encode()


# --- size ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [MAX_BYTES - 1, MAX_BYTES])
def test_a_body_up_to_the_size_limit_is_accepted(size: int) -> None:
    # GIVEN a document one byte under the limit, or exactly at it
    body = of_size(size)
    # WHEN it is validated THEN it is accepted unchanged
    assert validated(body) == body


def test_a_body_one_byte_over_the_size_limit_is_413_naming_its_size_and_the_limit() -> None:
    # GIVEN a document one byte over the limit
    error = rejection(of_size(MAX_BYTES + 1))
    # THEN it is 413 payload_too_large, naming both numbers
    assert (error.status_code, error.code) == (413, "payload_too_large")
    assert error.message.startswith("the body is 101 bytes, over the limit of 100 bytes; ")


def test_an_empty_body_is_400_empty_body_saying_what_to_send() -> None:
    # GIVEN no body at all
    error = rejection(b"")
    # THEN it is 400 empty_body
    assert (error.status_code, error.code) == (400, "empty_body")
    assert error.message.startswith("the body is empty; ")


def test_a_one_byte_body_is_checked_as_xml() -> None:
    # GIVEN the shortest body there is, one byte
    error = rejection(b"a")
    # THEN it reaches the parser and is refused as malformed, not as an encoding
    assert (error.status_code, error.code) == (400, "malformed_xml")


# --- depth -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH])
def test_nesting_up_to_the_depth_limit_is_accepted(depth: int) -> None:
    # GIVEN elements nested one level under the limit, or exactly at it
    body = b"<e>" * depth + b"</e>" * depth
    # THEN the document is accepted
    assert validated(body) == body


def test_nesting_one_level_over_the_limit_is_refused_naming_the_limit_and_the_line() -> None:
    # GIVEN a fourth level, on line 4, under a limit of 3
    error = rejection(b"<a>\n<b>\n<c>\n<d/></c></b></a>")
    # THEN it is 400 too_deep, naming the limit and the line of the element too deep
    assert (error.status_code, error.code) == (400, "too_deep")
    assert error.message.startswith("elements are nested more than 3 levels deep; ")
    assert error.message.endswith(" (line 4)")


def test_many_siblings_at_the_depth_limit_are_accepted() -> None:
    # GIVEN twenty siblings, each at the deepest level allowed
    body = b"<a><b>" + b"<c/>" * 20 + b"</b></a>"
    # THEN the document is accepted: closing an element leaves its level
    assert validated(body) == body


def test_depth_is_counted_from_the_parent_after_a_child_closes() -> None:
    # GIVEN a child at the deepest level allowed, closed, then a sibling with a child one level deeper
    body = b"<a><b><c/><x><y/></x></b></a>"
    # THEN the deeper one is refused: closing c went back one level, to b's
    assert rejection(body).code == "too_deep"


# --- attributes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, MAX_ATTRIBUTES - 1, MAX_ATTRIBUTES])
def test_up_to_256_attributes_on_one_element_are_accepted(count: int) -> None:
    # GIVEN one element with 1, 255 or 256 attributes
    body = element_with([(f"x{index}", "1") for index in range(count)])
    # THEN it is accepted
    assert validate_xml(body, max_bytes=1_000_000, max_depth=MAX_DEPTH) == body


def test_257_attributes_on_one_element_are_refused_naming_the_count_and_the_limit() -> None:
    # GIVEN an element with one attribute more than the limit, on line 2
    body = b"<r>\n" + element_with([(f"x{index}", "1") for index in range(MAX_ATTRIBUTES + 1)]) + b"</r>"
    # WHEN it is validated
    with pytest.raises(XmlRejected) as caught:
        validate_xml(body, max_bytes=1_000_000, max_depth=MAX_DEPTH)
    # THEN it is 400 too_many_attributes, naming both numbers and the line
    error = caught.value
    assert (error.status_code, error.code) == (400, "too_many_attributes")
    assert error.message.startswith("an element has 257 attributes, more than the limit of 256; ")
    assert error.message.endswith(" (line 2)")


def test_256_attributes_on_each_of_several_elements_are_accepted() -> None:
    # GIVEN two elements with 256 attributes each (512 in the document)
    element = element_with([(f"x{index}", "1") for index in range(MAX_ATTRIBUTES)])
    body = b"<r>" + element + element + b"</r>"
    # THEN it is accepted: the limit is per element
    assert validate_xml(body, max_bytes=1_000_000, max_depth=MAX_DEPTH) == body


@pytest.mark.parametrize("chars", [MAX_VALUE_CHARS - 1, MAX_VALUE_CHARS])
def test_an_attribute_value_up_to_the_limit_in_characters_is_accepted_whatever_its_bytes(chars: int) -> None:
    # GIVEN a value of up to the limit in characters, each two bytes in UTF-8 (twice the limit in bytes)
    body = element_with([("v", "é" * chars)])
    # THEN it is accepted: the limit counts characters
    assert validate_xml(body, max_bytes=1_000_000, max_depth=MAX_DEPTH) == body


@pytest.mark.parametrize("position", [0, 1, 2], ids=["first", "second", "third"])
def test_an_attribute_value_one_character_over_the_limit_is_refused_wherever_the_attribute_is(
    position: int,
) -> None:
    # GIVEN three attributes, the one at `position` one character over the limit
    attributes = [("p", "1"), ("q", "2"), ("r", "3")]
    name = attributes[position][0]
    attributes[position] = (name, "x" * (MAX_VALUE_CHARS + 1))
    # WHEN it is validated
    with pytest.raises(XmlRejected) as caught:
        validate_xml(element_with(attributes), max_bytes=1_000_000, max_depth=MAX_DEPTH)
    # THEN it is 400 attribute_too_large, naming that attribute, its size and the limit
    assert (caught.value.status_code, caught.value.code) == (400, "attribute_too_large")
    assert caught.value.message.startswith(
        f"attribute {name!r} holds 65,537 characters, more than the limit of 65,536; "
    )


def test_the_value_limit_counts_values_not_attribute_names() -> None:
    # GIVEN an element whose second attribute has a name longer than the value limit and a short value
    long_name = "n" * (MAX_VALUE_CHARS + 1)
    body = element_with([("x", "1"), (long_name, "2")])
    # THEN it is accepted: the limit is on values
    assert validate_xml(body, max_bytes=1_000_000, max_depth=MAX_DEPTH) == body


# --- well-formedness and declarations --------------------------------------------------------------------


def test_a_malformed_document_is_refused_naming_the_line_column_and_expat_reason() -> None:
    # GIVEN a document whose third line closes the wrong tag
    error = rejection(b"<a>\n<b/>\n  <c></d>\n</a>")
    # THEN it is 400 malformed_xml, pointing at line 3, column 7, with the parser's reason
    assert (error.status_code, error.code) == (400, "malformed_xml")
    assert error.message.startswith("the XML is not well-formed at line 3, column 7: mismatched tag; ")


def test_an_unclosed_document_is_refused_at_its_end() -> None:
    # GIVEN a document whose root is never closed
    error = rejection(b"<a>\n<b/>\n")
    # THEN the end of the document is where it is malformed
    assert error.code == "malformed_xml"
    assert error.message.startswith("the XML is not well-formed at line 3, column 0: no element found; ")


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "http://x.example/e" NDATA n>]><a/>',
        b'<!DOCTYPE a [<!NOTATION n SYSTEM "viewer">]><a/>',
        b'<!DOCTYPE a [<!ENTITY % p "x">]><a/>',
    ],
    ids=["external-entity", "unparsed-entity", "notation", "parameter-entity"],
)
def test_every_kind_of_dtd_declaration_is_refused_on_the_line_of_its_doctype(body: bytes) -> None:
    # GIVEN a DTD declaring an entity or a notation, on line 2
    error = rejection(b"<?xml version='1.0'?>\n" + body, max_bytes=10_000)
    # THEN it is refused as a forbidden DOCTYPE, on that line
    assert (error.status_code, error.code) == (400, "doctype_forbidden")
    assert error.message.endswith(" (line 2)")


def test_a_refusal_reads_as_its_message_wherever_it_is_printed() -> None:
    # GIVEN a refused body
    error = rejection(b"")
    # WHEN the exception is turned into text (a log line, a traceback)
    # THEN it reads as the message the client gets
    assert str(error) == error.message == "the body is empty; send an XML document as the request body"
