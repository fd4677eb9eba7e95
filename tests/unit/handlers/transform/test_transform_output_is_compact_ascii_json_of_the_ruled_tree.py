"""What the transform hands back: compact ASCII JSON bytes, or (parse_document) the tree itself.

transform_document's output has no whitespace between tokens and escapes every non-ASCII character;
parse_document returns the same rule-applied tree as Python values, with the cast types kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from handlers.transform.rules import load_rule_files, parse_rule_set
from handlers.transform.transform import parse_document, transform_document
from tests.transform_golden import GOLDEN_DIR, canonical

RULES_DIR = Path(__file__).resolve().parents[4] / "rules"


def test_the_output_is_compact_json_with_no_space_between_tokens() -> None:
    # GIVEN a document with sibling elements, an attribute and a cast
    xml = b'<r><a k="v">1</a><b>two words</b></r>'
    rules = parse_rule_set({"ruleId": "t", "cast": {"r/a/#text": "int"}})
    # WHEN it is transformed
    output = transform_document(xml, rules)
    # THEN the bytes are the JSON with no space after ',' or ':' (spaces inside strings kept)
    assert output == b'{"r":{"a":{"@k":"v","#text":1},"b":"two words"}}'


def test_non_ascii_text_is_output_as_json_escapes() -> None:
    # GIVEN a document with non-ASCII text (UTF-8)
    xml = "<r><city>Malmö</city><name>Łukasz</name></r>".encode()
    # WHEN it is transformed without rules
    output = transform_document(xml, parse_rule_set({"ruleId": "t"}))
    # THEN every non-ASCII character is a \u escape
    assert output == b'{"r":{"city":"Malm\\u00f6","name":"\\u0141ukasz"}}'


def test_parse_document_returns_the_tree_with_the_rules_applied() -> None:
    # GIVEN a document and rules casting, forcing into a list and renaming
    xml = b'<r><n unit="kg">2.5</n><item>1</item></r>'
    rules = parse_rule_set(
        {
            "ruleId": "t",
            "forceList": ["r/item"],
            "cast": {"r/n": "float", "r/item": "int"},
            "rename": {"r/n/@unit": "unit"},
        }
    )
    # WHEN the document is parsed
    tree = parse_document(xml, rules)
    # THEN the tree holds the Python values (1 an int, 2.5 a float), not JSON text
    assert canonical(tree) == canonical({"r": {"n": {"unit": "kg", "#text": 2.5}, "item": [1]}})


def test_parse_document_of_the_golden_orders_is_their_reviewed_output() -> None:
    # GIVEN the golden orders document and the shipped orders-v1 rule set
    xml = (GOLDEN_DIR / "orders-v1.xml").read_bytes()
    rules = load_rule_files(RULES_DIR)["orders-v1"]
    golden = json.loads((GOLDEN_DIR / "orders-v1.json").read_text(encoding="utf-8"))
    # WHEN the document is parsed
    tree = parse_document(xml, rules)
    # THEN the tree is the reviewed output, value types included
    assert canonical(tree) == canonical(golden)
