"""A rule acts on the nodes its path names and on no others, whatever else the rule set holds.

`*` matches elements only (never an attribute or an element's text, even when another rule names those),
any element name is reachable whatever its first letter, and a forced list is decided per path: an
element of the same name elsewhere in the document is not forced, whichever comes first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.transform.rules import parse_rule_set
from handlers.transform.transform import transform_document


def run(rules: dict[str, Any], xml: bytes) -> Any:
    return json.loads(transform_document(xml, parse_rule_set({"ruleId": "t", **rules})))


def test_an_element_wildcard_never_removes_an_attribute_another_rule_names() -> None:
    # GIVEN a rule removing every child element of 'a', and another renaming one of a's attributes
    xml = b'<r><a x="1"><k>v</k></a></r>'
    rules = {"remove": ["r/a/*"], "rename": {"r/a/@x": "x"}}
    # WHEN the document is transformed
    result = run(rules, xml)
    # THEN the child element is gone, and the attribute is only renamed, not removed with it
    assert result == {"r": {"a": {"x": "1"}}}


def test_an_element_wildcard_never_removes_the_text_another_rule_names() -> None:
    # GIVEN a rule removing every child element of 'a', and another casting a's text beside its attribute
    xml = b'<r><a x="1">2.5<k>v</k></a></r>'
    rules = {"remove": ["r/a/*"], "cast": {"r/a/#text": "float"}}
    # WHEN the document is transformed
    result = run(rules, xml)
    # THEN the child element is gone, and the text is only cast, not removed with it
    assert result == {"r": {"a": {"@x": "1", "#text": 2.5}}}


@pytest.mark.parametrize("name", ["Xref", "X", "xref", "Qty", "_id"])
def test_a_rule_reaches_an_element_whatever_letter_its_name_starts_with(name: str) -> None:
    # GIVEN an element whose name starts with an upper- or lower-case letter or an underscore
    xml = f"<r><{name}>5</{name}></r>".encode()
    # WHEN a rule casts it
    result = run({"cast": {f"r/{name}": "int"}}, xml)
    # THEN the cast took effect
    assert result == {"r": {name: 5}}


@pytest.mark.parametrize(
    "xml",
    [
        b"<r><q><item>1</item></q><p><items>plain</items></p></r>",
        b"<r><p><items>plain</items></p><q><item>1</item></q></r>",
    ],
    ids=["forced-first", "plain-first"],
)
def test_a_forced_element_renamed_to_a_name_in_use_forces_only_itself(xml: bytes) -> None:
    # GIVEN a forced element renamed to the name an unforced element already has elsewhere, in either
    # document order
    rules = {"forceList": ["r/q/item"], "rename": {"r/q/item": "items"}}
    # WHEN the document is transformed
    result = run(rules, xml)
    # THEN only the forced one is a list
    assert result == {"r": {"q": {"items": ["1"]}, "p": {"items": "plain"}}}


@pytest.mark.parametrize(
    "xml",
    [
        b"<r><a><item>1</item></a><b><item>2</item></b></r>",
        b"<r><b><item>2</item></b><a><item>1</item></a></r>",
    ],
    ids=["forced-first", "cast-first"],
)
def test_a_forced_list_does_not_spread_to_a_same_named_element_another_rule_acts_on(xml: bytes) -> None:
    # GIVEN 'item' forced under 'a', and the 'item' under 'b' only cast, in either document order
    rules = {"forceList": ["r/a/item"], "cast": {"r/b/item": "int"}}
    # WHEN the document is transformed
    result = run(rules, xml)
    # THEN a's item is a list of text, b's item a single cast number
    assert result == {"r": {"a": {"item": ["1"]}, "b": {"item": 2}}}
