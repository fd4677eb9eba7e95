"""localcloud's direct AttributeValue encoder answers exactly what moto's generic response walker does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.serialize import DefaultAttributePicker, JSONSerializer
from moto.core.utils import get_service_model

from localcloud.services.dynamodb import attribute_values

attribute_values.apply()

DYNAMODB = get_service_model("dynamodb")
STREAMS = get_service_model("dynamodbstreams")


class _GenericSerializer(JSONSerializer):
    """moto's own walker, without the direct encoder: the oracle."""

    _serialize_type_structure = JSONSerializer._serialize_type_structure.__wrapped__  # type: ignore[attr-defined]


class _CountingPicker:
    def __init__(self) -> None:
        self.calls = 0
        self._picker = DefaultAttributePicker()

    def __call__(self, context: Any) -> Any:
        self.calls += 1
        return self._picker(context)


names = st.text(min_size=1, max_size=8)
scalars = st.one_of(
    st.builds(lambda text: {"S": text}, st.text(max_size=20)),
    st.builds(
        lambda number: {"N": str(number)}, st.integers() | st.decimals(allow_nan=False, allow_infinity=False)
    ),
    st.builds(lambda blob: {"B": blob}, st.binary(max_size=20) | st.text(max_size=20)),
    st.builds(lambda texts: {"SS": texts}, st.lists(st.text(max_size=5), min_size=1, max_size=4)),
    st.builds(
        lambda numbers: {"NS": [str(n) for n in numbers]}, st.lists(st.integers(), min_size=1, max_size=4)
    ),
    st.builds(lambda blobs: {"BS": blobs}, st.lists(st.binary(max_size=5), min_size=1, max_size=4)),
    st.just({"NULL": True}),
    st.builds(lambda flag: {"BOOL": flag}, st.booleans()),
)
attribute_value = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.builds(lambda members: {"M": members}, st.dictionaries(names, children, max_size=4)),
        st.builds(lambda entries: {"L": entries}, st.lists(children, max_size=4)),
    ),
    max_leaves=12,
)
items = st.dictionaries(names, attribute_value, min_size=1, max_size=6)


def _bodies(service: Any, operation: str, result: dict[str, Any]) -> tuple[Any, Any]:
    model = service.operation_model(operation)
    direct = JSONSerializer(model).serialize(result)["body"]
    generic = _GenericSerializer(model).serialize(result)["body"]
    return json.loads(direct), json.loads(generic)


@settings(max_examples=150, deadline=None)
@given(item=items)
def test_a_get_item_answer_is_the_generic_walkers_answer(item: dict[str, Any]) -> None:
    # GIVEN any item moto holds  WHEN GetItem's answer is serialised both ways  THEN the bodies are equal
    direct, generic = _bodies(DYNAMODB, "GetItem", {"Item": item})
    assert direct == generic


@settings(max_examples=50, deadline=None)
@given(batch=st.lists(items, min_size=1, max_size=5))
def test_batch_get_query_and_stream_answers_are_the_generic_walkers_answers(
    batch: list[dict[str, Any]],
) -> None:
    # GIVEN items in the shapes of BatchGetItem, Query and a stream record
    batch_get = {"Responses": {"table": batch}, "UnprocessedKeys": {}}
    query = {"Items": batch, "Count": len(batch), "LastEvaluatedKey": batch[0]}
    records = {
        "Records": [{"eventName": "MODIFY", "dynamodb": {"NewImage": batch[0], "OldImage": batch[-1]}}]
    }
    # WHEN serialised both ways  THEN the answers are equal
    for service, operation, result in (
        (DYNAMODB, "BatchGetItem", batch_get),
        (DYNAMODB, "Query", query),
        (STREAMS, "GetRecords", records),
    ):
        direct, generic = _bodies(service, operation, result)
        assert direct == generic, operation


@pytest.mark.parametrize(
    "value",
    [
        {"s": "alias key"},
        {"S": "x", "Extra": "y"},
        {"M": {"nested": {"s": "alias"}}},
        {"L": [{"S": "a"}, "bare"]},
    ],
    ids=["alias", "unknown member", "nested alias", "non-dict entry"],
)
def test_a_value_not_in_wire_form_goes_to_the_generic_walker(value: dict[str, Any]) -> None:
    # GIVEN a value the encoder does not recognise  WHEN serialised  THEN the walker answered it, as before
    assert attribute_values.encode(value, str) is None
    direct, generic = _bodies(DYNAMODB, "GetItem", {"Item": {"a": value}})
    assert direct == generic


def test_an_item_is_encoded_without_walking_its_attribute_values() -> None:
    # GIVEN an item of 50 attributes
    item = {f"attribute{number}": {"S": str(number)} for number in range(50)}
    picker = _CountingPicker()
    # WHEN GetItem's answer is serialised
    body = json.loads(
        JSONSerializer(DYNAMODB.operation_model("GetItem"), value_picker=picker).serialize({"Item": item})[
            "body"
        ]
    )
    # THEN the answer holds every attribute, and only GetItem's own members were looked up (the walker
    # would look up 10 members of each of the 50 values)
    assert body["Item"] == item
    assert picker.calls == len(DYNAMODB.operation_model("GetItem").output_shape.members)
