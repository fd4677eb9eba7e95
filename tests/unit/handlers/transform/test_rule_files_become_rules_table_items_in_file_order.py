"""handlers/transform/contract.py: the rules-table items the program loads from rules/*.json."""

from __future__ import annotations

import json
from pathlib import Path

from handlers.transform.contract import rule_item, rule_items
from handlers.transform.rules import RuleSet


def test_a_rule_set_is_stored_as_its_id_and_its_file_form_as_json_keys_in_order() -> None:
    # GIVEN a rule set whose renames are listed b before a
    rule_set = RuleSet(
        rule_id="orders-v2",
        rename=(("orders/order/b", "second"), ("orders/order/a", "first")),
        root="orders",
    )
    # WHEN its rules-table item is made
    item = rule_item(rule_set)
    # THEN the item is the id under ruleId and the rule set's file form as a JSON string under rules,
    # its renames still b before a (among wildcard paths the first listed wins)
    assert set(item) == {"ruleId", "rules"}
    assert item["ruleId"] == "orders-v2"
    stored = json.loads(item["rules"])
    assert stored == {
        "ruleId": "orders-v2",
        "rename": {"orders/order/b": "second", "orders/order/a": "first"},
        "root": "orders",
    }
    assert list(stored["rename"]) == ["orders/order/b", "orders/order/a"]


def test_every_rule_file_of_a_directory_becomes_one_item_in_file_name_order(tmp_path: Path) -> None:
    # GIVEN a directory with two rule files, and a file that is not a rule file
    (tmp_path / "b-orders.json").write_text(json.dumps({"ruleId": "orders-v2", "root": "orders"}), "utf-8")
    (tmp_path / "a-catalog.json").write_text(json.dumps({"ruleId": "catalog-v2"}), "utf-8")
    (tmp_path / "README.md").write_text("not a rule file", "utf-8")
    # WHEN the program turns the directory into rules-table items
    items = rule_items(tmp_path)
    # THEN there is one item per rule file, in file name order, each its id and its rule set as JSON
    assert [item["ruleId"] for item in items] == ["catalog-v2", "orders-v2"]
    assert [json.loads(item["rules"]) for item in items] == [
        {"ruleId": "catalog-v2"},
        {"ruleId": "orders-v2", "root": "orders"},
    ]


def test_a_directory_without_rule_files_gives_no_items(tmp_path: Path) -> None:
    # GIVEN an empty directory
    # WHEN the program turns it into rules-table items
    # THEN there are none
    assert rule_items(tmp_path) == []
