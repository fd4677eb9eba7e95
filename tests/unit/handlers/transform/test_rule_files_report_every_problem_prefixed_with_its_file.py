"""Rule files: every problem of every file at once, each prefixed with its file; ruleIds unique across
files; a rule set written back to its file format reads back as the same rule set."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from handlers.transform.rules import (
    InvalidRuleSet,
    RuleSet,
    load_rule_file,
    load_rule_file_list,
    load_rule_files,
    parse_rule_set,
)


def write(directory: Path, name: str, content: Any) -> Path:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def refused_files(paths: list[Path]) -> InvalidRuleSet:
    with pytest.raises(InvalidRuleSet) as caught:
        load_rule_file_list(paths)
    return caught.value


# --- InvalidRuleSet ---------------------------------------------------------------------------------------


def test_an_error_built_from_a_message_alone_lists_that_message_as_its_one_problem() -> None:
    # GIVEN an InvalidRuleSet raised with a message and no problem list
    error = InvalidRuleSet("'root' must be a path string, got int")
    # THEN its problems are that message alone
    assert error.problems == ("'root' must be a path string, got int",)


def test_one_problem_makes_an_error_whose_message_is_that_problem() -> None:
    # GIVEN one problem
    error = InvalidRuleSet.of(["'description' must be a string"])
    # THEN the message and the problem list are that problem
    assert str(error) == "'description' must be a string"
    assert error.problems == ("'description' must be a string",)


def test_several_problems_make_an_error_that_counts_and_joins_them() -> None:
    # GIVEN two problems
    error = InvalidRuleSet.of(["first problem", "second problem"])
    # THEN the message counts them and joins them with '; ', and each is listed apart
    assert str(error) == "2 problems: first problem; second problem"
    assert error.problems == ("first problem", "second problem")


def test_a_prefixed_error_prefixes_its_message_and_each_of_its_problems() -> None:
    # GIVEN an error of two problems
    error = InvalidRuleSet.of(["first problem", "second problem"])
    # WHEN it is prefixed with its file
    prefixed = error.prefixed("rules/x.json: ")
    # THEN the message and each problem start with the prefix
    assert str(prefixed) == "rules/x.json: 2 problems: first problem; second problem"
    assert prefixed.problems == ("rules/x.json: first problem", "rules/x.json: second problem")


# --- one file ---------------------------------------------------------------------------------------------


def test_a_valid_rule_file_reads_as_its_rule_set(tmp_path: Path) -> None:
    # GIVEN a valid rule file
    path = write(tmp_path, "orders.json", {"ruleId": "orders", "root": "orders"})
    # WHEN it is loaded THEN it is the rule set it describes
    assert load_rule_file(path) == RuleSet(rule_id="orders", root="orders")


def test_an_invalid_rule_file_has_each_problem_prefixed_with_the_file(tmp_path: Path) -> None:
    # GIVEN a rule file with two problems
    path = write(tmp_path, "bad.json", {"ruleId": "", "root": 3})
    # WHEN it is loaded
    with pytest.raises(InvalidRuleSet) as caught:
        load_rule_file(path)
    # THEN each problem, and the message, starts with the file
    assert caught.value.problems == (
        f"{path}: 'ruleId' is required and must be a non-empty string",
        f"{path}: 'root' must be a path string, got int",
    )
    assert str(caught.value).startswith(f"{path}: 2 problems: ")


def test_a_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    # GIVEN a file that is not JSON
    path = write(tmp_path, "broken.json", "{not json")
    # WHEN it is loaded THEN it is refused as not valid JSON, naming the file
    with pytest.raises(InvalidRuleSet, match=re.escape(f"{path}: not valid JSON (")):
        load_rule_file(path)


def test_a_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    # GIVEN a file in ISO-8859-1 with a non-ASCII character
    path = tmp_path / "latin.json"
    path.write_bytes('{"ruleId": "a", "description": "café"}'.encode("latin-1"))
    # WHEN it is loaded THEN it is refused as not UTF-8 text, naming the file
    with pytest.raises(InvalidRuleSet, match=re.escape(f"{path}: not UTF-8 text (")):
        load_rule_file(path)


def test_a_file_that_cannot_be_read_is_refused_naming_the_file_and_the_reason(tmp_path: Path) -> None:
    # GIVEN a path with no file
    path = tmp_path / "missing.json"
    # WHEN it is loaded THEN it is refused, naming the file and the system's reason alone
    with pytest.raises(
        InvalidRuleSet, match=f"^{re.escape(f'{path}: cannot be read (No such file or directory)')}$"
    ):
        load_rule_file(path)


def test_a_file_of_json_that_is_not_an_object_is_refused_naming_the_file(tmp_path: Path) -> None:
    # GIVEN a file holding a JSON array
    path = write(tmp_path, "list.json", ["ruleId"])
    # WHEN it is loaded THEN it is refused, prefixed with the file
    with pytest.raises(
        InvalidRuleSet, match=re.escape(f"{path}: a rule set must be a JSON object, got list")
    ):
        load_rule_file(path)


# --- several files ----------------------------------------------------------------------------------------


def test_valid_files_with_their_own_rule_ids_load_in_the_order_given(tmp_path: Path) -> None:
    # GIVEN two valid files with different ruleIds
    second = write(tmp_path, "b.json", {"ruleId": "second"})
    first = write(tmp_path, "a.json", {"ruleId": "first"})
    # WHEN they are loaded in that order THEN their rule sets are returned in that order
    assert load_rule_file_list([second, first]) == [RuleSet(rule_id="second"), RuleSet(rule_id="first")]


def test_every_problem_of_every_file_is_reported_duplicates_included(tmp_path: Path) -> None:
    # GIVEN an unreadable file first, then a valid file, a file reusing its ruleId, and an invalid file last
    broken = write(tmp_path, "0-broken.json", "{")
    original = write(tmp_path, "1-original.json", {"ruleId": "same"})
    duplicate = write(tmp_path, "2-duplicate.json", {"ruleId": "same"})
    invalid = write(tmp_path, "3-invalid.json", {"ruleId": "other", "description": 1})
    # WHEN they are loaded together
    error = refused_files([broken, original, duplicate, invalid])
    # THEN each file after the first problem is still checked, and every problem is named with its file
    assert len(error.problems) == 3
    assert error.problems[0].startswith(f"{broken}: not valid JSON")
    assert error.problems[1].startswith(f"{duplicate}: ruleId 'same' is already used by {original}; ")
    assert error.problems[2] == f"{invalid}: 'description' must be a string"
    assert str(error).startswith("3 problems: ")


def test_a_rule_id_used_three_times_names_the_first_file_each_time(tmp_path: Path) -> None:
    # GIVEN three files with one ruleId
    paths = [write(tmp_path, f"{index}.json", {"ruleId": "same"}) for index in range(3)]
    # WHEN they are loaded together
    error = refused_files(paths)
    # THEN the second and third are each refused as already used by the first
    assert [problem.split("; ")[0] for problem in error.problems] == [
        f"{paths[1]}: ruleId 'same' is already used by {paths[0]}",
        f"{paths[2]}: ruleId 'same' is already used by {paths[0]}",
    ]


def test_a_directory_loads_every_json_file_by_rule_id_and_nothing_else(tmp_path: Path) -> None:
    # GIVEN a directory with two rule files and a file that is not JSON by its name
    write(tmp_path, "b.json", {"ruleId": "bee"})
    write(tmp_path, "a.json", {"ruleId": "ay"})
    write(tmp_path, "notes.txt", "not a rule")
    # WHEN it is loaded THEN the rule sets are keyed by ruleId, in file name order
    loaded = load_rule_files(tmp_path)
    assert list(loaded.items()) == [("ay", RuleSet(rule_id="ay")), ("bee", RuleSet(rule_id="bee"))]


def test_a_directory_with_a_reused_rule_id_names_the_file_that_comes_later_by_name(tmp_path: Path) -> None:
    # GIVEN two files with one ruleId, created in the reverse of their name order
    later = write(tmp_path, "z.json", {"ruleId": "same"})
    earlier = write(tmp_path, "a.json", {"ruleId": "same"})
    # WHEN the directory is loaded THEN the file later by name is the one refused
    with pytest.raises(
        InvalidRuleSet, match=re.escape(f"{later}: ruleId 'same' is already used by {earlier}; ")
    ):
        load_rule_files(tmp_path)


# --- the file format --------------------------------------------------------------------------------------


def test_a_rule_set_without_options_is_written_as_its_rule_id_alone() -> None:
    # GIVEN a rule set with only an id (empty description, no paths, no root)
    # WHEN it is written in its file format THEN only the ruleId is there
    assert RuleSet(rule_id="bare").to_json() == {"ruleId": "bare"}


def test_a_full_rule_set_is_written_with_every_key_and_reads_back_the_same() -> None:
    # GIVEN a rule set using every key
    document = {
        "ruleId": "orders-v1",
        "description": "orders, flattened",
        "forceList": ["orders/order/item"],
        "remove": ["orders/order/@audit", "orders/order/note"],
        "cast": {"orders/order/item/qty": "int", "orders/order/paid": "bool"},
        "default": {"orders/order/currency": "EUR", "orders/order/discount": None},
        "rename": {"orders/order/item": "items"},
        "root": "orders",
    }
    rule_set = parse_rule_set(document)
    # WHEN it is written in its file format
    written = rule_set.to_json()
    # THEN it is the document it came from, and it reads back as the same rule set
    assert written == document
    assert parse_rule_set(written) == rule_set


def test_a_root_is_written_whenever_there_is_one() -> None:
    # GIVEN a rule set whose only option is its root
    # WHEN it is written THEN the root is there
    assert RuleSet(rule_id="r", root="orders").to_json() == {"ruleId": "r", "root": "orders"}
