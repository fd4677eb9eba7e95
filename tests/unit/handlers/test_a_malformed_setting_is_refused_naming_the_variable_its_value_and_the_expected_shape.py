"""A variable the handler cannot convert is refused with its name, the start of its value and its shape.

The error is the only clue an operator gets from a function that will not start, so it names the variable,
quotes at most the first 200 characters of its value, and says which shape was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from handlers.environment import Environment, SettingError


@dataclass(frozen=True, kw_only=True)
class ShapedSettings(Environment):
    tracing: bool = False
    limit: int | None = None
    recipients: tuple[str, ...] = ()
    routes: dict[str, str] | None = None


@pytest.mark.parametrize("raw", ["yes", "1", "on", "truth"])
def test_a_flag_other_than_true_or_false_is_refused_saying_so(raw: str) -> None:
    # GIVEN TRACING set to a word that is not true or false
    # WHEN the handler reads its settings
    # THEN it is refused naming the variable, the value, and the two words it may be
    with pytest.raises(SettingError, match=rf"^TRACING='{raw}' is not a valid .*: expected true or false$"):
        ShapedSettings.from_environment({"TRACING": raw})


def test_a_malformed_optional_number_is_refused_naming_its_variable() -> None:
    # GIVEN an optional int field set to something that is not a number
    # WHEN the handler reads its settings THEN the error names LIMIT and quotes its value
    with pytest.raises(SettingError, match=r"^LIMIT='many' is not a valid "):
        ShapedSettings.from_environment({"LIMIT": "many"})


@pytest.mark.parametrize(
    ("variable", "raw", "shape"),
    [("RECIPIENTS", "a@example.com", "list"), ("ROUTES", "{eu-west-1: arn}", "object")],
    ids=["tuple", "dict"],
)
def test_a_value_that_is_not_json_is_refused_naming_the_json_shape_expected(
    variable: str, raw: str, shape: str
) -> None:
    # GIVEN a tuple or mapping field set to text that is not JSON
    # WHEN the handler reads its settings
    # THEN the error names the variable, says it is not JSON, quotes it and names the JSON shape expected
    pattern = rf"^{variable} is not JSON \(.+\): {re.escape(repr(raw))}; expected a JSON {shape}$"
    with pytest.raises(SettingError, match=pattern):
        ShapedSettings.from_environment({variable: raw})


@pytest.mark.parametrize(
    ("variable", "raw", "shape"),
    [
        ("RECIPIENTS", '{"to": "a@example.com"}', "list"),
        ("RECIPIENTS", '"a@example.com"', "list"),
        ("ROUTES", '["eu-west-1", "arn"]', "object"),
        ("ROUTES", "42", "object"),
    ],
    ids=["tuple-given-object", "tuple-given-string", "dict-given-list", "dict-given-number"],
)
def test_json_of_the_wrong_shape_is_refused_naming_the_shape_expected(
    variable: str, raw: str, shape: str
) -> None:
    # GIVEN a tuple field set to JSON that is not a list, or a mapping field set to JSON that is not an object
    # WHEN the handler reads its settings
    # THEN the error names the variable, quotes the value and names the JSON shape expected
    with pytest.raises(
        SettingError, match=rf"^{variable} is {re.escape(repr(raw))}: expected a JSON {shape}$"
    ):
        ShapedSettings.from_environment({variable: raw})


def test_a_long_value_that_is_not_json_is_quoted_to_its_first_200_characters() -> None:
    # GIVEN a tuple field set to 200 characters of one letter then 100 of another, not JSON
    raw = "a" * 200 + "z" * 100
    # WHEN the handler reads its settings
    # THEN the error quotes exactly the first 200 characters
    with pytest.raises(SettingError, match=r": 'a{200}'; expected a JSON list$"):
        ShapedSettings.from_environment({"RECIPIENTS": raw})


def test_a_long_value_of_the_wrong_shape_is_quoted_to_its_first_200_characters() -> None:
    # GIVEN a mapping field set to a JSON list of 300 characters: '["' then 298 letters (no closing quote
    # within the first 200)
    raw = '["' + "b" * 296 + '"]'
    # WHEN the handler reads its settings
    # THEN the error quotes exactly its first 200 characters: '["' and 198 letters
    with pytest.raises(SettingError, match=r"^ROUTES is '\[\"b{198}': expected a JSON object$"):
        ShapedSettings.from_environment({"ROUTES": raw})
