"""A component writing a function's variables is refused naming every unknown and every missing setting."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from handlers.environment import Environment


@dataclass(frozen=True, kw_only=True)
class TwoTableSettings(Environment):
    status_table: str
    upload_table: str
    tracing: bool = False


def test_every_unknown_setting_is_named_in_sorted_order() -> None:
    # GIVEN five settings the contract does not declare, given in no order
    # WHEN the component writes the variables
    # THEN it is refused naming all five, sorted and separated by commas
    with pytest.raises(
        TypeError, match=r"^TwoTableSettings has no settings bucket, cache, queue, retries, topic$"
    ):
        TwoTableSettings.environment(
            status_table="s", upload_table="u", retries=3, topic="t", bucket="b", queue="q", cache="c"
        )


def test_every_missing_required_setting_is_named_in_sorted_order() -> None:
    # GIVEN neither required table, only an optional flag
    # WHEN the component writes the variables
    # THEN it is refused naming both required settings, sorted and separated by a comma
    with pytest.raises(TypeError, match=r"^TwoTableSettings needs status_table, upload_table$"):
        TwoTableSettings.environment(tracing=True)


def test_a_required_setting_given_as_none_counts_as_missing() -> None:
    # GIVEN a required table given as None WHEN the component writes the variables THEN it is named as missing
    with pytest.raises(TypeError, match=r"^TwoTableSettings needs upload_table$"):
        TwoTableSettings.environment(status_table="s", upload_table=None)
