"""What a component writes for each kind of setting, and what the handler reads back from those strings.

Flags are written `true`/`false` and read forgiving case and blanks; lists and tuples are written as JSON
lists, mappings as JSON objects; an optional field (`X | None`) is read as its inner type; a variable set
to the empty string counts as unset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from handlers.environment import Environment, SettingError


@dataclass(frozen=True, kw_only=True)
class KindsSettings(Environment):
    table: str
    tracing: bool = False
    ratio: float = 1.0
    recipients: tuple[str, ...] = ()
    routes: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    labels: dict = field(default_factory=dict)  # a bare `dict` annotation
    limit: int | None = None
    alias: str | None = None


# ---- what a component writes --------------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "written"), [(True, "true"), (False, "false")])
def test_a_flag_is_written_in_lower_case(flag: bool, written: str) -> None:
    # GIVEN a flag set on or off WHEN the component writes the variables
    variables = KindsSettings.environment(table="t", tracing=flag)
    # THEN the flag is the lower-case word
    assert variables["TRACING"] == written


def test_a_mapping_is_written_as_a_json_object() -> None:
    # GIVEN a mapping setting WHEN the component writes the variables
    variables = KindsSettings.environment(table="t", routes={"eu-west-1": "arn:a", "us-east-1": "arn:b"})
    # THEN it is a JSON object with every key and value, not a list of its keys
    assert variables["ROUTES"] == '{"eu-west-1": "arn:a", "us-east-1": "arn:b"}'


@pytest.mark.parametrize("value", [("a@example.com", "b@example.com"), ["a@example.com", "b@example.com"]])
def test_a_tuple_or_a_list_is_written_as_a_json_list(value: object) -> None:
    # GIVEN a sequence setting, as a tuple or a list WHEN the component writes the variables
    variables = KindsSettings.environment(table="t", recipients=value)
    # THEN it is the same JSON list either way
    assert variables["RECIPIENTS"] == '["a@example.com", "b@example.com"]'


def test_a_number_is_written_as_its_decimal_string() -> None:
    # GIVEN an int and a float setting WHEN the component writes the variables
    variables = KindsSettings.environment(table="t", limit=300, ratio=0.25)
    # THEN each is its decimal string
    assert (variables["LIMIT"], variables["RATIO"]) == ("300", "0.25")


# ---- what a handler reads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" True\n", True),
        ("false", False),
        ("FALSE", False),
        (" false ", False),
    ],
)
def test_a_flag_is_read_forgiving_case_and_surrounding_blanks(raw: str, expected: bool) -> None:
    # GIVEN TRACING spelt in either case, with or without blanks around it
    # WHEN the handler reads its settings
    settings = KindsSettings.from_environment({"TABLE": "t", "TRACING": raw})
    # THEN the flag is on for true and off for false
    assert settings.tracing is expected


def test_a_float_is_read_as_a_float() -> None:
    # GIVEN RATIO written as a decimal WHEN the handler reads its settings THEN it is that number
    assert KindsSettings.from_environment({"TABLE": "t", "RATIO": "60.5"}).ratio == 60.5


def test_an_optional_field_is_read_as_its_inner_type() -> None:
    # GIVEN optional int, str and mapping fields, each set
    environ = {"TABLE": "t", "LIMIT": "25", "ALIAS": "blue", "ROUTES": '{"eu-west-1": "arn:a"}'}
    # WHEN the handler reads its settings
    settings = KindsSettings.from_environment(environ)
    # THEN each is converted to the type inside `| None`: an int, the string, a dict
    assert settings.limit == 25 and isinstance(settings.limit, int)
    assert settings.alias == "blue"
    assert settings.routes == {"eu-west-1": "arn:a"}


@pytest.mark.parametrize("variable", ["TAGS", "LABELS"], ids=["dict[str, str] | None", "dict"])
def test_a_mapping_is_read_from_a_json_object(variable: str) -> None:
    # GIVEN a mapping field, parameterised or bare, written as a JSON object
    environ = {"TABLE": "t", variable: '{"team": "data", "tier": "gold"}'}
    # WHEN the handler reads its settings
    settings = KindsSettings.from_environment(environ)
    # THEN it is that mapping
    assert getattr(settings, variable.lower()) == {"team": "data", "tier": "gold"}


def test_what_a_component_writes_the_handler_reads_back_unchanged() -> None:
    # GIVEN every kind of setting, written by the component
    values: dict[str, Any] = {
        "table": "uploads",
        "tracing": True,
        "ratio": 0.5,
        "recipients": ("a@example.com",),
        "routes": {"eu-west-1": "arn:a"},
        "limit": 7,
        "alias": "green",
    }
    given = KindsSettings(**values)
    written = KindsSettings.environment(**values)
    # WHEN the handler reads them THEN it has the same settings
    assert KindsSettings.from_environment(written) == given


def test_an_empty_variable_counts_as_unset() -> None:
    # GIVEN a required variable set to the empty string
    # WHEN the handler reads its settings THEN it is refused as not set
    with pytest.raises(SettingError, match=r"^TABLE is not set \(KindsSettings\.table\)$"):
        KindsSettings.from_environment({"TABLE": ""})
    # AND GIVEN optional variables set to the empty string THEN they keep their defaults
    settings = KindsSettings.from_environment({"TABLE": "t", "LIMIT": "", "TRACING": "", "ROUTES": ""})
    assert (settings.limit, settings.tracing, settings.routes) == (None, False, None)
