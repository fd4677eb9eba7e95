"""cast_value: each type accepts exactly the spellings docs/rule-language.md lists, an empty element stays
null (or '' for str), and a refused value is named with its path and what the type accepts."""

from __future__ import annotations

import re

import pytest

from handlers.transform.rules import CastType, RuleApplicationError, cast_value


@pytest.mark.parametrize(
    ("type_name", "text", "expected"),
    [
        ("int", "0", 0),
        ("int", "+5", 5),
        ("int", "\t-12\n", -12),
        ("int", "007", 7),
        ("float", "0", 0.0),
        ("float", "-0.5", -0.5),
        ("float", " 2.5e-3 ", 0.0025),
        ("float", "1E3", 1000.0),
        ("float", "42", 42.0),
        ("bool", " true ", True),
        ("bool", "tRuE", True),
        ("bool", "YES", True),
        ("bool", "\n1\t", True),
        ("bool", "False", False),
        ("bool", " no ", False),
        ("bool", "0", False),
        ("str", " padded ", " padded "),
        ("str", "", ""),
        ("str", "1_000", "1_000"),
        ("str", "nan", "nan"),
    ],
)
def test_each_type_accepts_its_spellings_whitespace_and_case_aside(
    type_name: CastType, text: str, expected: object
) -> None:
    # GIVEN a text value in a spelling its type accepts
    # WHEN it is cast
    result = cast_value("a/b", text, type_name)
    # THEN it is the value written down by hand, of that type
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("type_name", "expected"), [("int", None), ("float", None), ("bool", None), ("str", "")]
)
def test_an_empty_element_stays_null_except_as_a_string(type_name: CastType, expected: object) -> None:
    # GIVEN an empty element (xmltodict's None)
    # WHEN it is cast THEN it is null, or the empty string for 'str'
    assert cast_value("a/b", None, type_name) == expected


@pytest.mark.parametrize(
    ("type_name", "text"),
    [
        ("int", ""),
        ("int", "1_000"),
        ("int", "1.0"),
        ("int", "1e3"),
        ("int", "0x1F"),
        ("float", ""),
        ("float", "1_000.5"),
        ("float", "_1"),
        ("float", "nan"),
        ("float", "NaN"),
        ("float", "inf"),
        ("float", "-Infinity"),
        ("float", "1e999"),
        ("float", "1,5"),
        ("bool", ""),
        ("bool", "y"),
        ("bool", "on"),
        ("bool", "2"),
        ("bool", "truth"),
    ],
)
def test_a_value_outside_the_documented_spellings_is_refused_naming_value_path_and_type(
    type_name: CastType, text: str
) -> None:
    # GIVEN a text value its type does not accept (digit separators, non-finite numbers, other words)
    # WHEN it is cast THEN it is refused, naming the value, the path and the type
    with pytest.raises(
        RuleApplicationError, match=re.escape(f"cannot cast {text!r} at 'a/b' to {type_name}: ")
    ):
        cast_value("a/b", text, type_name)


@pytest.mark.parametrize(
    ("type_name", "accepted"),
    [
        ("int", "whole numbers such as 42 or -7"),
        ("float", "finite decimal numbers such as 3.14 or 1e3"),
        ("bool", "true/false/1/0/yes/no (any case)"),
    ],
)
def test_a_refused_value_is_told_what_its_type_accepts(type_name: CastType, accepted: str) -> None:
    # GIVEN a value no type but str accepts
    # WHEN it is cast to a type THEN the message says what that type accepts
    with pytest.raises(RuleApplicationError, match=re.escape(f"accepted values are {accepted}; ")):
        cast_value("a/b", "abc", type_name)


def test_a_path_given_as_a_string_is_named_as_written() -> None:
    # GIVEN the path as one string (as a rule names it)
    # WHEN a value at it cannot be cast THEN the path is named as written
    with pytest.raises(RuleApplicationError, match=re.escape("cannot cast 'x' at 'orders/order/qty' to int")):
        cast_value("orders/order/qty", "x", "int")


def test_a_path_given_as_segments_is_named_joined_with_slashes() -> None:
    # GIVEN the path as the segments the transform walks
    # WHEN a value at it cannot be cast THEN the path is named joined with '/'
    with pytest.raises(
        RuleApplicationError, match=re.escape("cannot cast 'x' at 'orders/order/qty' to float")
    ):
        cast_value(("orders", "order", "qty"), "x", "float")
