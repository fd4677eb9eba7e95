"""Pulumi wire inputs become API parameters by one convention: set values only, renamed, converted."""

from __future__ import annotations

from localcloud.core.fields import (
    FieldMap,
    Param,
    api_parameters,
    attribute_text,
    from_member,
    integer,
    pascal_case,
    tag_list,
    unwrap_secrets,
)

SECRET_KEY = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


def test_only_inputs_that_are_set_become_parameters_and_false_and_zero_are_set() -> None:
    inputs = {"description": "", "layers": [], "timeout": 0.0, "publish": False, "role": None, "name": "f"}
    fields: FieldMap = {
        "description": "Description",
        "layers": Param("Layers", list),
        "timeout": Param("Timeout", integer),
        "publish": "Publish",
        "role": "Role",
        "name": "FunctionName",
    }
    assert api_parameters(inputs, fields) == {"Timeout": 0, "Publish": False, "FunctionName": "f"}


def test_a_structure_counts_only_when_its_member_is_set() -> None:
    fields = {"tracingConfig": Param("TracingConfig", from_member("mode", lambda mode: {"Mode": mode}))}
    assert api_parameters({"tracingConfig": {"mode": "Active"}}, fields) == {
        "TracingConfig": {"Mode": "Active"}
    }
    assert api_parameters({"tracingConfig": {"mode": ""}}, fields) == {}


def test_wire_numbers_and_nested_shapes_take_the_api_spelling() -> None:
    assert pascal_case({"id": "r1", "kmsMasterKeyId": "k", "days": 30.0, "ratio": 0.5, "gone": None}) == {
        "ID": "r1",
        "KMSMasterKeyID": "k",
        "Days": 30,
        "Ratio": 0.5,
    }
    assert [attribute_text(value) for value in (True, 30.0, 0.5, "x")] == ["true", "30", "0.5", "x"]


def test_secrets_are_unwrapped_at_any_depth_and_tags_become_lists() -> None:
    wrapped = {"a": {SECRET_KEY: SECRET_MARK, "value": {"b": [{SECRET_KEY: SECRET_MARK, "value": "s"}]}}}
    assert unwrap_secrets(wrapped) == {"a": {"b": ["s"]}}
    assert tag_list({"tags": {"team": "x"}}) == [{"Key": "team", "Value": "x"}]
    assert tag_list({"tags": {"team": "x"}}, key="key", value="value") == [{"key": "team", "value": "x"}]
