"""The settings contract base: one name and one default per variable, typed on both sides."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from handlers.environment import Environment, SettingError


@dataclass(frozen=True, kw_only=True)
class ExampleSettings(Environment):
    status_table: str
    max_upload_bytes: int = 10 * 1024 * 1024
    tracing: bool = False
    recipients: tuple[str, ...] = ()
    alias: str | None = None


def test_a_component_writes_each_field_as_its_upper_case_variable_with_strings_for_values() -> None:
    marker = object()  # stands in for a Pulumi output: passed through untouched
    variables = ExampleSettings.environment(
        status_table=marker, max_upload_bytes=5, tracing=True, recipients=("a@example.com",)
    )
    assert variables == {
        "STATUS_TABLE": marker,
        "MAX_UPLOAD_BYTES": "5",
        "TRACING": "true",
        "RECIPIENTS": '["a@example.com"]',
    }


def test_a_component_cannot_set_an_unknown_variable_or_leave_a_required_one_out() -> None:
    with pytest.raises(TypeError, match=r"has no settings max_upload_byte$"):
        ExampleSettings.environment(status_table="t", max_upload_byte=5)
    with pytest.raises(TypeError, match="needs status_table"):
        ExampleSettings.environment(max_upload_bytes=5)


def test_a_handler_reads_typed_values_and_the_declared_defaults() -> None:
    written = ExampleSettings.environment(status_table="uploads", tracing=False, recipients=["x", "y"])
    settings = ExampleSettings.from_environment(written)
    assert settings == ExampleSettings(
        status_table="uploads", max_upload_bytes=10 * 1024 * 1024, tracing=False, recipients=("x", "y")
    )


def test_a_missing_or_malformed_variable_is_named() -> None:
    with pytest.raises(SettingError, match=r"STATUS_TABLE is not set \(ExampleSettings.status_table\)"):
        ExampleSettings.from_environment({})
    with pytest.raises(SettingError, match="MAX_UPLOAD_BYTES='ten'"):
        ExampleSettings.from_environment({"STATUS_TABLE": "t", "MAX_UPLOAD_BYTES": "ten"})
    with pytest.raises(SettingError, match="TRACING='yes'"):
        ExampleSettings.from_environment({"STATUS_TABLE": "t", "TRACING": "yes"})
