"""parse_rule_set: each key's rule, at its boundaries, refused with a message naming the key and the problem;
what is valid is kept exactly as written."""

from __future__ import annotations

import math
from typing import Any

import pytest

from handlers.transform.rules import InvalidRuleSet, RuleSet, parse_rule_set


def refused(data: Any) -> InvalidRuleSet:
    with pytest.raises(InvalidRuleSet) as caught:
        parse_rule_set(data)
    return caught.value


def path_of(segments: int) -> str:
    return "/".join(f"e{index}" for index in range(segments))


# --- the document and its keys ---------------------------------------------------------------------------


def test_a_rule_set_that_is_not_an_object_is_refused_naming_what_it_is() -> None:
    # GIVEN a JSON array where an object belongs
    # WHEN it is parsed THEN it is refused, naming the type it got
    with pytest.raises(InvalidRuleSet, match=r"^a rule set must be a JSON object, got list$"):
        parse_rule_set(["ruleId"])  # type: ignore[arg-type]


def test_unknown_keys_are_listed_sorted_and_quoted_with_the_allowed_ones() -> None:
    # GIVEN two misspelt keys, the later one alphabetically first
    error = refused({"ruleId": "a", "zroot": "x", "rmove": []})
    # THEN one problem lists both, sorted and quoted, then every allowed key
    assert error.problems == (
        "unknown key(s) 'rmove', 'zroot'; allowed keys: ruleId, description, forceList, remove, cast, "
        "default, rename, root",
    )


def test_a_rule_set_with_only_known_keys_reports_no_unknown_key() -> None:
    # GIVEN every allowed key, each valid
    data = {
        "ruleId": "all-keys",
        "description": "every key",
        "forceList": ["a/b"],
        "remove": ["a/c"],
        "cast": {"a/d": "int"},
        "default": {"a/e": 1},
        "rename": {"a/f": "g"},
        "root": "a",
    }
    # WHEN it is parsed THEN it is accepted, each key kept as written
    assert parse_rule_set(data) == RuleSet(
        rule_id="all-keys",
        description="every key",
        force_list=("a/b",),
        remove=("a/c",),
        cast=(("a/d", "int"),),
        default=(("a/e", 1),),
        rename=(("a/f", "g"),),
        root="a",
    )


# --- ruleId ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule_id",
    ["x", "x" * 63, "x" * 64, "Orders.v1_final-2", "0"],
    ids=["1-char", "63-chars", "64-chars", "every-allowed-kind", "one-digit"],
)
def test_a_rule_id_of_1_to_64_letters_digits_dots_underscores_and_dashes_is_accepted(rule_id: str) -> None:
    # GIVEN a ruleId within the allowed length and characters
    # WHEN it is parsed THEN it is the rule set's id
    assert parse_rule_set({"ruleId": rule_id}).rule_id == rule_id


@pytest.mark.parametrize(
    "rule_id",
    ["x" * 65, "orders v1", "orders/v1", "orders:v1", "ordérs", "orders\n"],
    ids=["65-chars", "space", "slash", "colon", "non-ascii-letter", "trailing-newline"],
)
def test_a_rule_id_too_long_or_with_other_characters_is_refused_quoting_it(rule_id: str) -> None:
    # GIVEN a ruleId over 64 characters or with a character outside the allowed set
    error = refused({"ruleId": rule_id})
    # THEN the one problem quotes it and says what is allowed
    assert error.problems == (
        f"'ruleId' {rule_id!r} is invalid; use 1-64 characters from letters, digits, '.', '_' and '-'",
    )


@pytest.mark.parametrize("data", [{}, {"ruleId": ""}, {"ruleId": 42}, {"ruleId": None}, {"ruleId": ["a"]}])
def test_a_missing_empty_or_non_string_rule_id_is_refused_as_required(data: dict[str, Any]) -> None:
    # GIVEN no usable ruleId
    error = refused(data)
    # THEN the one problem says it is required and must be a non-empty string
    assert error.problems == ("'ruleId' is required and must be a non-empty string",)


# --- description -----------------------------------------------------------------------------------------


def test_a_description_is_optional_and_kept_as_written() -> None:
    # GIVEN rule sets without and with a description
    # THEN the description is empty when absent and the text when given
    assert parse_rule_set({"ruleId": "a"}).description == ""
    assert parse_rule_set({"ruleId": "a", "description": "Orders, flattened"}).description == (
        "Orders, flattened"
    )


@pytest.mark.parametrize("description", [3, None, ["text"]])
def test_a_description_that_is_not_a_string_is_refused(description: object) -> None:
    # GIVEN a description that is not text
    error = refused({"ruleId": "a", "description": description})
    # THEN it is the one problem
    assert error.problems == ("'description' must be a string",)


# --- path lists and path mappings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "type_name"), [("forceList", "a/b", "str"), ("remove", {"a/b": 1}, "dict")]
)
def test_a_path_list_key_given_something_else_is_refused_naming_the_key_and_type(
    key: str, value: object, type_name: str
) -> None:
    # GIVEN forceList or remove as a string or an object instead of a list
    error = refused({"ruleId": "a", key: value})
    # THEN the one problem names the key and the type it got
    assert error.problems == (f"'{key}' must be a list of path strings, got {type_name}",)


@pytest.mark.parametrize(
    ("key", "value", "type_name"),
    [("cast", ["a/b"], "list"), ("default", "a/b", "str"), ("rename", 3, "int")],
)
def test_a_path_mapping_key_given_something_else_is_refused_naming_the_key_and_type(
    key: str, value: object, type_name: str
) -> None:
    # GIVEN cast, default or rename as something other than an object
    error = refused({"ruleId": "a", key: value})
    # THEN the one problem names the key and the type it got
    assert error.problems == (f"'{key}' must be an object of path -> value, got {type_name}",)


def test_every_bad_path_of_a_list_is_reported_and_only_the_good_ones_are_kept_apart() -> None:
    # GIVEN a remove list with two bad paths around good ones
    error = refused({"ruleId": "a", "remove": ["a/b", 42, "a//c", "a/d"]})
    # THEN both bad paths are reported, in order, and nothing about the good ones
    assert error.problems == (
        "'remove' paths must be strings like 'orders/order/item', got 42",
        "'remove' path 'a//c' is malformed; write element names separated by single '/' with no leading "
        "or trailing '/', e.g. 'orders/order/item'",
    )


def test_valid_paths_are_kept_in_the_order_written() -> None:
    # GIVEN lists and mappings of several valid paths each
    rule_set = parse_rule_set(
        {
            "ruleId": "order",
            "forceList": ["z/list", "a/list"],
            "remove": ["z/gone", "a/@gone"],
            "cast": {"z/n": "int", "a/f": "float", "a/b": "bool", "a/s": "str"},
            "default": {"z/d": "x", "a/d": None},
            "rename": {"z/r": "zr", "a/@r": "ar"},
        }
    )
    # THEN every path is kept, in the order written
    assert rule_set.force_list == ("z/list", "a/list")
    assert rule_set.remove == ("z/gone", "a/@gone")
    assert rule_set.cast == (("z/n", "int"), ("a/f", "float"), ("a/b", "bool"), ("a/s", "str"))
    assert rule_set.default == (("z/d", "x"), ("a/d", None))
    assert rule_set.rename == (("z/r", "zr"), ("a/@r", "ar"))


def test_the_source_is_a_copy_of_the_rule_set_as_given() -> None:
    # GIVEN a rule set document
    data: dict[str, Any] = {"ruleId": "a", "remove": ["a/b"]}
    # WHEN it is parsed and the document is changed afterwards
    rule_set = parse_rule_set(data)
    data["ruleId"] = "changed"
    # THEN the rule set's source is still the document as it was parsed
    assert rule_set.source == {"ruleId": "a", "remove": ["a/b"]}


# --- paths: shape, length and segments --------------------------------------------------------------------


@pytest.mark.parametrize("segments", [1, 63, 64])
def test_a_path_of_up_to_64_segments_is_accepted(segments: int) -> None:
    # GIVEN a remove path of 1, 63 or 64 segments
    path = path_of(segments)
    # THEN it is accepted
    assert parse_rule_set({"ruleId": "a", "remove": [path]}).remove == (path,)


def test_a_path_of_65_segments_is_refused_naming_the_limit() -> None:
    # GIVEN a remove path one segment over the limit
    path = path_of(65)
    # THEN it is refused naming the limit
    assert refused({"ruleId": "a", "remove": [path]}).problems == (
        f"'remove' path {path!r} has more than 64 segments",
    )


@pytest.mark.parametrize("path", ["", "/a/b", "a/b/", "a//b", "/"])
def test_an_empty_path_or_one_with_an_empty_segment_is_refused_as_malformed(path: str) -> None:
    # GIVEN a path that is empty, has a leading or trailing '/' or a doubled '/'
    error = refused({"ruleId": "a", "remove": [path]})
    # THEN it is refused as malformed, quoting it
    assert len(error.problems) == 1
    assert error.problems[0].startswith(f"'remove' path {path!r} is malformed; ")


@pytest.mark.parametrize("path", [42, None, 1.5])
def test_a_path_that_is_not_a_string_is_refused_quoting_it(path: object) -> None:
    # GIVEN a path that is not a string
    error = refused({"ruleId": "a", "forceList": [path]})
    # THEN the problem names the key and quotes the value
    assert error.problems == (f"'forceList' paths must be strings like 'orders/order/item', got {path!r}",)


def test_a_non_string_mapping_path_is_refused_quoting_it() -> None:
    # GIVEN a cast mapping whose key is not a string (possible from Python, not from JSON)
    error = refused({"ruleId": "a", "cast": {7: "int"}})
    # THEN it is refused like a non-string list path
    assert error.problems == ("'cast' paths must be strings like 'orders/order/item', got 7",)


@pytest.mark.parametrize("path", ["a/@x", "a/@*", "a/#text", "a/*", "*", "*/b/@*", "a/b:c/d"])
def test_attributes_and_text_as_the_last_segment_and_whole_wildcards_are_accepted(path: str) -> None:
    # GIVEN a remove path ending in an attribute, '#text' or a wildcard, or using '*' as a segment
    # THEN it is accepted
    assert parse_rule_set({"ruleId": "a", "remove": [path]}).remove == (path,)


@pytest.mark.parametrize(("path", "segment"), [("a/@x/b", "@x"), ("@x/b", "@x"), ("a/@*/b", "@*")])
def test_an_attribute_before_the_last_segment_is_refused_naming_it(path: str, segment: str) -> None:
    # GIVEN an attribute segment followed by another segment
    error = refused({"ruleId": "a", "remove": [path]})
    # THEN the problem names the attribute
    assert error.problems == (
        f"'remove' path {path!r}: an attribute ('{segment}') can only be the last segment",
    )


@pytest.mark.parametrize("path", ["a/#text/b", "a/#tail", "#text/a", "a/#"])
def test_a_hash_segment_other_than_a_last_text_is_refused(path: str) -> None:
    # GIVEN '#text' before the last segment, or another '#' name
    error = refused({"ruleId": "a", "remove": [path]})
    # THEN it is refused, saying only a last '#text' is allowed
    assert error.problems == (
        f"'remove' path {path!r}: only '#text' is allowed, and only as the last segment",
    )


@pytest.mark.parametrize("path", ["a/b*", "a/*b", "a/**", "a/@x*", "a/*/b*c"])
def test_a_star_inside_a_name_is_refused(path: str) -> None:
    # GIVEN a '*' that is not a whole '*' or '@*' segment
    error = refused({"ruleId": "a", "remove": [path]})
    # THEN it is refused, saying '*' must be a whole segment
    assert len(error.problems) == 1
    assert error.problems[0].startswith(f"'remove' path {path!r}: '*' must be a whole segment")


# --- forceList: element paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "last"), [("a/@x", "@x"), ("a/#text", "#text"), ("a/@*", "@*")])
def test_a_force_list_path_ending_in_an_attribute_or_text_is_refused(path: str, last: str) -> None:
    # GIVEN a forceList path that does not end with an element
    error = refused({"ruleId": "a", "forceList": [path]})
    # THEN the problem names the last segment
    assert error.problems == (f"'forceList' path {path!r} must end with an element name, not {last!r}",)


@pytest.mark.parametrize("path", ["a", "a/b", "a/*"])
def test_a_force_list_path_ending_in_an_element_or_element_wildcard_is_accepted(path: str) -> None:
    # GIVEN a forceList path ending with an element name or '*'
    # THEN it is accepted
    assert parse_rule_set({"ruleId": "a", "forceList": [path]}).force_list == (path,)


def test_a_force_list_path_is_also_checked_as_a_path() -> None:
    # GIVEN a forceList path with a doubled '/'
    error = refused({"ruleId": "a", "forceList": ["a//b"]})
    # THEN it is refused as malformed
    assert len(error.problems) == 1 and "'forceList' path 'a//b' is malformed" in error.problems[0]


# --- cast ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["decimal", "INT", "string", None, 1])
def test_a_cast_to_an_unknown_type_is_refused_naming_path_type_and_the_allowed_types(
    type_name: object,
) -> None:
    # GIVEN a cast to a type that is not int, float, bool or str
    error = refused({"ruleId": "a", "cast": {"a/b": type_name}})
    # THEN the problem names the path, the type and the allowed types
    assert error.problems == (
        f"'cast' of 'a/b' has type {type_name!r}; allowed types: int, float, bool, str",
    )


def test_a_cast_path_is_checked_as_a_path() -> None:
    # GIVEN a cast whose path has a '*' inside a name
    error = refused({"ruleId": "a", "cast": {"a/b*": "int"}})
    # THEN it is refused for the path
    assert len(error.problems) == 1 and error.problems[0].startswith("'cast' path 'a/b*': '*' must be")


@pytest.mark.parametrize(
    "casts",
    [
        {"a/b": "int", "a/c": "int"},
        {"a/*": "int", "a/b": "float"},
        {"a/b": "float", "a/b/@currency": "str"},
        {"a/b": "float", "a/b/@*": "str"},
        {"a/@x": "str", "a/*/c": "int"},
        {"a/#text": "int", "a/*/c": "int"},
        {"a/@*": "str", "a/*/c": "int"},
        {"a/b": "int", "x/b/c": "int"},
        {"a/b": "int", "a/c/d": "int"},
        {"a/b/c": "int", "a/x": "str"},
    ],
    ids=[
        "siblings",
        "same-length-wildcard",
        "own-attribute",
        "own-attribute-wildcard",
        "attribute-beside-a-wildcard-child",
        "text-beside-a-wildcard-child",
        "attribute-wildcard-beside-a-wildcard-child",
        "other-parent",
        "other-child",
        "deeper-sibling",
    ],
)
def test_casts_that_cannot_reach_the_same_value_are_accepted_together(casts: dict[str, str]) -> None:
    # GIVEN casts no two of which can reach inside the value another one casts
    # THEN they are all accepted
    assert parse_rule_set({"ruleId": "a", "cast": casts}).cast == tuple(casts.items())


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("a/b", "a/b/c/@x"),
        ("a/b", "a/b/c"),
        ("a/*", "*/b/c"),
        ("*/b", "a/*/c"),
        ("a/b", "a/b/#text"),
        ("a", "a/b/c/#text"),
    ],
    ids=[
        "attribute-of-a-child",
        "child",
        "wildcards-both-ways",
        "wildcards-crossed",
        "own-text",
        "deep-text",
    ],
)
def test_a_cast_and_a_cast_inside_its_value_are_refused_naming_both(outer: str, inner: str) -> None:
    # GIVEN a cast of an element and a cast of something inside it that is not the element's own attribute,
    # the inner one listed first
    error = refused({"ruleId": "a", "cast": {inner: "int", outer: "int"}})
    # THEN the one problem names both, the outer one first
    assert error.problems == (
        f"'cast' paths {outer!r} and {inner!r} conflict: {outer!r} casts an element's text as one value and "
        f"{inner!r} reaches inside that element; keep one of them (only the element's own attributes, "
        f"'{outer}/@name', may be cast beside it)",
    )


def test_every_conflicting_pair_of_casts_is_reported_once_whatever_is_listed_between_them() -> None:
    # GIVEN casts where each conflicting pair has unrelated, equal-length or attribute casts listed between
    casts = {
        "x/y/z": "int",  # longer than a/b, but elsewhere: reaches inside nothing that is cast
        "a/b": "int",
        "a/b/@x": "str",  # b's own attribute: no conflict
        "a/b/c": "int",  # inside a/b
        "a/b/c/d": "int",  # inside a/b and inside a/b/c
    }
    error = refused({"ruleId": "a", "cast": casts})
    # THEN the three conflicts are reported, outer path first, in the order the outer casts are listed
    assert [problem.split(" conflict:")[0] for problem in error.problems] == [
        "'cast' paths 'a/b' and 'a/b/c'",
        "'cast' paths 'a/b' and 'a/b/c/d'",
        "'cast' paths 'a/b/c' and 'a/b/c/d'",
    ]


def test_a_cast_with_a_bad_path_is_left_out_of_the_conflict_check() -> None:
    # GIVEN a cast of a/b and a malformed cast path inside it
    error = refused({"ruleId": "a", "cast": {"a/b": "int", "a/b//c": "int"}})
    # THEN only the malformed path is reported
    assert len(error.problems) == 1 and "'cast' path 'a/b//c' is malformed" in error.problems[0]


# --- default ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["EUR", "", 0, -7, 2.5, 0.0, True, False, None],
    ids=["text", "empty-text", "zero", "negative", "float", "float-zero", "true", "false", "null"],
)
def test_a_default_value_may_be_a_string_number_boolean_or_null_and_keeps_its_type(value: object) -> None:
    # GIVEN a default of each JSON scalar kind
    rule_set = parse_rule_set({"ruleId": "a", "default": {"a/b": value}})
    # THEN it is kept as written, type included
    ((path, kept),) = rule_set.default
    assert path == "a/b" and kept == value and type(kept) is type(value)


@pytest.mark.parametrize(("value", "type_name"), [([1], "list"), ({"x": 1}, "dict")])
def test_a_default_value_that_is_an_array_or_object_is_refused_naming_its_type(
    value: object, type_name: str
) -> None:
    # GIVEN a default that is not a scalar
    error = refused({"ruleId": "a", "default": {"a/b": value}})
    # THEN the problem names the path and the type
    assert error.problems == (f"'default' of 'a/b' is a {type_name}; use a string, number, boolean or null",)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_default_value_that_is_not_a_finite_number_is_refused(value: float) -> None:
    # GIVEN NaN or an infinity, which Python's json reads but JSON cannot carry
    error = refused({"ruleId": "a", "default": {"a/b": value}})
    # THEN the problem names the path
    assert error.problems == ("'default' of 'a/b' must be a finite number",)


def test_a_default_path_needs_a_parent_and_a_child() -> None:
    # GIVEN a default path of one segment, and one of two
    error = refused({"ruleId": "a", "default": {"a": "x"}})
    # THEN one segment is refused, naming what is missing, and two are accepted
    assert error.problems == ("'default' path 'a' must name a parent element and the child to add",)
    assert parse_rule_set({"ruleId": "a", "default": {"a/b": "x"}}).default == (("a/b", "x"),)


@pytest.mark.parametrize("path", ["a/*", "a/@*", "a/b/*"])
def test_a_default_path_ending_in_a_wildcard_is_refused(path: str) -> None:
    # GIVEN a default that would add a child named by a wildcard
    error = refused({"ruleId": "a", "default": {path: "x"}})
    # THEN it is refused, asking for a concrete name
    assert error.problems == (
        f"'default' path {path!r} must end with a concrete name to add, not a wildcard",
    )


@pytest.mark.parametrize("path", ["a/@currency", "*/b", "a/*/c", "a/#text"])
def test_a_default_path_ending_in_a_concrete_name_is_accepted_whatever_comes_before(path: str) -> None:
    # GIVEN a default adding a named attribute, child or text, under any parent (wildcards included)
    # THEN it is accepted
    assert parse_rule_set({"ruleId": "a", "default": {path: "x"}}).default == ((path, "x"),)


def test_a_default_path_is_also_checked_as_a_path() -> None:
    # GIVEN a default path with an attribute in the middle
    error = refused({"ruleId": "a", "default": {"a/@x/b": "x"}})
    # THEN it is refused for the attribute
    assert error.problems == ("'default' path 'a/@x/b': an attribute ('@x') can only be the last segment",)


# --- rename ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_name", ["", "a/b", "/", 42, None])
def test_a_rename_to_an_empty_name_a_name_with_a_slash_or_a_non_string_is_refused(new_name: object) -> None:
    # GIVEN a rename to something that cannot be a key
    error = refused({"ruleId": "a", "rename": {"a/b": new_name}})
    # THEN the problem names the path and quotes the new name
    assert error.problems == (f"'rename' of 'a/b' must be a non-empty name without '/', got {new_name!r}",)


@pytest.mark.parametrize("new_name", ["x", "orderId", "@id", "geo:city", "#text"])
def test_a_rename_to_any_non_empty_name_without_a_slash_is_accepted(new_name: str) -> None:
    # GIVEN a rename to a one-character or longer name without '/'
    # THEN it is accepted as written
    assert parse_rule_set({"ruleId": "a", "rename": {"a/b": new_name}}).rename == (("a/b", new_name),)


def test_a_rename_path_is_also_checked_as_a_path() -> None:
    # GIVEN a rename of a path with a trailing '/'
    error = refused({"ruleId": "a", "rename": {"a/b/": "c"}})
    # THEN it is refused as malformed
    assert len(error.problems) == 1 and "'rename' path 'a/b/' is malformed" in error.problems[0]


# --- root ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("root", ["orders", "orders/order", "ns:orders/ns:order"])
def test_a_root_of_element_names_is_accepted(root: str) -> None:
    # GIVEN a root path of one or more element names
    # THEN it is the rule set's root
    assert parse_rule_set({"ruleId": "a", "root": root}).root == root


def test_without_a_root_or_with_a_null_one_the_rule_set_has_none() -> None:
    # GIVEN rule sets without a root and with "root": null
    # THEN neither has a root
    assert parse_rule_set({"ruleId": "a"}).root is None
    assert parse_rule_set({"ruleId": "a", "root": None}).root is None


@pytest.mark.parametrize("root", ["a/*", "*", "a/@*", "a/@x", "a/#text", "*/b"])
def test_a_root_with_a_wildcard_attribute_or_text_is_refused(root: str) -> None:
    # GIVEN a root that is not made of element names only
    error = refused({"ruleId": "a", "root": root})
    # THEN it is refused, quoting it
    assert error.problems == (f"'root' path {root!r} must name elements only, without wildcards",)


@pytest.mark.parametrize(("root", "type_name"), [(3, "int"), (["a"], "list"), (True, "bool")])
def test_a_root_that_is_not_a_string_is_refused_naming_its_type(root: object, type_name: str) -> None:
    # GIVEN a root that is not a string
    error = refused({"ruleId": "a", "root": root})
    # THEN the one problem names the type
    assert error.problems == (f"'root' must be a path string, got {type_name}",)


def test_a_malformed_root_is_refused_as_a_malformed_path() -> None:
    # GIVEN a root with a leading '/'
    error = refused({"ruleId": "a", "root": "/orders"})
    # THEN it is refused as a malformed 'root' path
    assert len(error.problems) == 1 and error.problems[0].startswith("'root' path '/orders' is malformed")


# --- every problem at once -------------------------------------------------------------------------------


def test_one_problem_is_the_message_itself() -> None:
    # GIVEN a rule set with exactly one mistake
    error = refused({"ruleId": "a", "description": 1})
    # THEN the message is that problem alone
    assert str(error) == "'description' must be a string"
    assert error.problems == ("'description' must be a string",)


def test_several_problems_are_counted_and_joined_in_the_message_and_listed_apart() -> None:
    # GIVEN a rule set with a mistake in each of three keys
    error = refused({"ruleId": "", "description": 1, "root": 2})
    # THEN the problems are listed apart, in key order, and the message counts and joins them
    assert error.problems == (
        "'ruleId' is required and must be a non-empty string",
        "'description' must be a string",
        "'root' must be a path string, got int",
    )
    assert str(error) == (
        "3 problems: 'ruleId' is required and must be a non-empty string; 'description' must be a string; "
        "'root' must be a path string, got int"
    )


def test_every_key_is_checked_even_after_earlier_keys_failed() -> None:
    # GIVEN a mistake in every key after ruleId
    error = refused(
        {
            "ruleId": "a",
            "forceList": ["a/@x"],
            "remove": "a",
            "cast": {"a/b": "decimal"},
            "default": {"a": 1},
            "rename": {"a/b": ""},
            "root": "*",
        }
    )
    # THEN each key has its problem, in the order the keys are checked
    assert [problem.split(" ")[0] for problem in error.problems] == [
        "'forceList'",
        "'remove'",
        "'cast'",
        "'default'",
        "'rename'",
        "'root'",
    ]
