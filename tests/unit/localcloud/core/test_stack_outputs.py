"""Outputs shown as `pulumi stack output [NAME] [--json]` shows them."""

from __future__ import annotations

import json

import pytest

from localcloud.core.stack_outputs import UnknownOutputError, output_table, shown_outputs

OUTPUTS = {"transformInputBucket": "transform-input-1", "regions": ["us-east-1", "us-west-2"]}


def test_the_table_lists_every_output_sorted_values_other_than_strings_as_json() -> None:
    assert output_table(OUTPUTS).splitlines() == [
        "Current stack outputs (2):",
        "    OUTPUT                VALUE",
        '    regions               ["us-east-1", "us-west-2"]',
        "    transformInputBucket  transform-input-1",
    ]


def test_one_output_is_its_value_a_string_as_it_is() -> None:
    assert shown_outputs(OUTPUTS, "transformInputBucket") == "transform-input-1"
    assert shown_outputs(OUTPUTS, "regions") == '["us-east-1", "us-west-2"]'


def test_json_is_json_for_one_output_and_for_all() -> None:
    assert json.loads(shown_outputs(OUTPUTS, "transformInputBucket", as_json=True)) == "transform-input-1"
    assert json.loads(shown_outputs(OUTPUTS, as_json=True)) == OUTPUTS


def test_an_unknown_output_names_the_known_ones() -> None:
    with pytest.raises(UnknownOutputError, match=r"'nope' \(outputs: regions, transformInputBucket\)"):
        shown_outputs(OUTPUTS, "nope")
