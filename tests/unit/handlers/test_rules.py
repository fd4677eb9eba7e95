"""The rule language: validation messages, rule files, the DynamoDB item shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.transform.contract import rule_item, rule_items
from handlers.transform.rules import (
    InvalidRuleSet,
    RuleApplicationError,
    RuleSet,
    cast_value,
    load_rule_files,
    parse_rule_set,
)

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


def invalid(data: Any) -> str:
    with pytest.raises(InvalidRuleSet) as caught:
        parse_rule_set(data)
    return str(caught.value)


def test_full_rule_set_parses_into_an_immutable_value() -> None:
    rules = parse_rule_set(
        {
            "ruleId": "orders-v1",
            "description": "d",
            "forceList": ["orders/order/item"],
            "remove": ["orders/order/@audit"],
            "cast": {"orders/order/item/qty": "int"},
            "default": {"orders/order/currency": "EUR"},
            "rename": {"orders/order/item": "items"},
            "root": "orders",
        }
    )
    assert rules.rule_id == "orders-v1"
    assert rules.cast == (("orders/order/item/qty", "int"),)
    assert rules.root == "orders"
    with pytest.raises(AttributeError):
        rules.rule_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"ruleId": "a", "rmove": []}, "unknown key(s) 'rmove'; allowed keys: ruleId"),
        ({"forceList": []}, "'ruleId' is required"),
        ({"ruleId": ""}, "'ruleId' is required and must be a non-empty string"),
        ({"ruleId": "orders v1"}, "use 1-64 characters from letters, digits"),
        ({"ruleId": "x" * 65}, "use 1-64 characters"),
        (
            {"ruleId": "a", "cast": {"a/b": "decimal"}},
            "has type 'decimal'; allowed types: int, float, bool, str",
        ),
        ({"ruleId": "a", "remove": [42]}, "paths must be strings"),
        ({"ruleId": "a", "remove": "a/b"}, "'remove' must be a list of path strings"),
        ({"ruleId": "a", "cast": ["a/b"]}, "'cast' must be an object of path -> value"),
        ({"ruleId": "a", "remove": ["/a/b"]}, "is malformed"),
        ({"ruleId": "a", "remove": ["a//b"]}, "is malformed"),
        ({"ruleId": "a", "remove": ["a/@x/b"]}, "an attribute ('@x') can only be the last segment"),
        ({"ruleId": "a", "remove": ["a/b*"]}, "'*' must be a whole segment"),
        ({"ruleId": "a", "forceList": ["a/@x"]}, "must end with an element name"),
        ({"ruleId": "a", "default": {"a": "x"}}, "must name a parent element and the child to add"),
        ({"ruleId": "a", "default": {"a/*": "x"}}, "must end with a concrete name"),
        ({"ruleId": "a", "default": {"a/b": [1]}}, "use a string, number, boolean or null"),
        ({"ruleId": "a", "rename": {"a/b": ""}}, "must be a non-empty name without '/'"),
        ({"ruleId": "a", "root": "a/*"}, "must name elements only, without wildcards"),
        ({"ruleId": "a", "root": 3}, "'root' must be a path string"),
        ({"ruleId": "a", "description": 3}, "'description' must be a string"),
        (["ruleId"], "a rule set must be a JSON object"),
    ],
)
def test_invalid_rule_sets_are_rejected_with_a_message_naming_the_key(data: Any, expected: str) -> None:
    assert expected in invalid(data)


@pytest.mark.parametrize(
    ("type_name", "text", "expected"),
    [
        ("int", " 42 ", 42),
        ("int", "-7", -7),
        ("float", "3.50", 3.5),
        ("float", "1e3", 1000.0),
        ("bool", "TRUE", True),
        ("bool", "Yes", True),
        ("bool", "1", True),
        ("bool", "false", False),
        ("bool", "NO", False),
        ("bool", "0", False),
        ("str", "007", "007"),
        ("str", None, ""),
        ("int", None, None),
    ],
)
def test_cast_accepts_the_documented_spellings(type_name: Any, text: str | None, expected: object) -> None:
    result = cast_value("a/b", text, type_name)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("type_name", "text"),
    [("int", "abc"), ("int", "4.0"), ("int", "1_000"), ("float", "nan"), ("float", "inf"), ("bool", "maybe")],
)
def test_cast_failure_names_path_value_and_type(type_name: Any, text: str) -> None:
    with pytest.raises(RuleApplicationError) as caught:
        cast_value(("orders", "order", "qty"), text, type_name)
    message = str(caught.value)
    assert "'orders/order/qty'" in message and repr(text) in message and f"to {type_name}" in message


def test_rule_files_in_the_repository_are_valid_and_unique() -> None:
    rule_sets = load_rule_files(RULES_DIR)
    assert set(rule_sets) == {"orders-v1", "catalog-flat"}


def test_duplicate_rule_ids_across_files_are_rejected(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps({"ruleId": "same"}), encoding="utf-8")
    with pytest.raises(InvalidRuleSet, match="'same' is already used by"):
        load_rule_files(tmp_path)


def test_a_broken_rule_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidRuleSet, match=r"broken\.json: not valid JSON"):
        load_rule_files(tmp_path)


def test_rule_item_is_the_id_plus_the_rule_set_as_json_that_parses_back() -> None:
    rule_set = load_rule_files(RULES_DIR)["orders-v1"]
    item = rule_item(rule_set)
    assert set(item) == {"ruleId", "rules"} and item["ruleId"] == "orders-v1"
    assert parse_rule_set(json.loads(item["rules"])) == rule_set


def test_the_program_deploys_one_item_per_rule_file() -> None:
    # GIVEN the rules/ directory WHEN the program loads it THEN every file becomes its rules-table item
    assert rule_items(RULES_DIR) == [rule_item(rule_set) for rule_set in load_rule_files(RULES_DIR).values()]
    assert {item["ruleId"] for item in rule_items(RULES_DIR)} == set(load_rule_files(RULES_DIR))


def test_empty_rule_set_round_trips() -> None:
    assert parse_rule_set(RuleSet(rule_id="bare").to_json()) == RuleSet(rule_id="bare")
