"""scripts/put_rule.py: validates every file, then adds or replaces rule items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.transform.contract import rule_item
from handlers.transform.rules import InvalidRuleSet, load_rule_file
from scripts.put_rule import main, put_rules

from .conftest import RULES_DIR, Pipeline


def items(pipeline: Pipeline) -> dict[str, dict[str, str]]:
    rows = pipeline.dynamodb.Table(pipeline.rules_table_name).scan()["Items"]
    return {row["ruleId"]: row for row in rows}


def test_cli_adds_rules_as_the_one_item_shape(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an empty rules table
    table = pipeline.dynamodb.Table(pipeline.rules_table_name)
    for rule_id in list(items(pipeline)):
        table.delete_item(Key={"ruleId": rule_id})
    # WHEN the CLI loads the orders rules
    code = main(
        ["--table", pipeline.rules_table_name, "--region", "eu-west-1", str(RULES_DIR / "orders-v1.json")]
    )
    # THEN the item is exactly rule_item of the file
    assert code == 0
    assert items(pipeline) == {"orders-v1": rule_item(load_rule_file(RULES_DIR / "orders-v1.json"))}
    assert "put rule 'orders-v1'" in capsys.readouterr().out


def test_put_replaces_an_existing_rule(pipeline: Pipeline, tmp_path: Path) -> None:
    changed = json.loads((RULES_DIR / "orders-v1.json").read_text(encoding="utf-8"))
    changed["default"] = {"orders/order/currency": "SEK"}
    path = tmp_path / "orders-v1.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    put_rules(pipeline.dynamodb.Table(pipeline.rules_table_name), [path])
    assert json.loads(items(pipeline)["orders-v1"]["rules"])["default"] == {"orders/order/currency": "SEK"}


def test_an_invalid_file_exits_2_and_writes_nothing(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a valid new rule file and an invalid one
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"ruleId": "new-rule"}), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ruleId": "bad", "cast": {"a/b": "decimal"}}), encoding="utf-8")
    before = items(pipeline)
    # WHEN both are given to the CLI
    code = main(["--table", pipeline.rules_table_name, "--region", "eu-west-1", str(good), str(bad)])
    # THEN it exits 2 naming the file and the problem, and the table is unchanged
    assert code == 2
    error = capsys.readouterr().err
    assert "bad.json" in error and "allowed types: int, float, bool, str" in error
    assert items(pipeline) == before


def test_two_files_with_one_rule_id_are_rejected(pipeline: Pipeline, tmp_path: Path) -> None:
    paths = []
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps({"ruleId": "twice"}), encoding="utf-8")
        paths.append(tmp_path / name)
    with pytest.raises(InvalidRuleSet, match="also used by"):
        put_rules(pipeline.dynamodb.Table(pipeline.rules_table_name), paths)
    assert "twice" not in items(pipeline)
