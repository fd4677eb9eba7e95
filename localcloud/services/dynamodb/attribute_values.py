"""A direct encoder for DynamoDB's AttributeValue in moto's JSON responses.

moto 5.2.5 serialises every response by walking botocore's output shape, and for each member of each
structure it tries a list of attribute aliases. An item is a map of AttributeValue structures with ten
members each, so a 100-key BatchGetItem spends about 40 ms of the emulator's one core there (measured:
90 % of moto's time for the batch system's enrich step). AttributeValue is a tagged union whose wire form
is the dict moto already holds ({"S": ...}, {"M": {...}}, ...): it is encoded here directly, member by
member as the generic walker would (strings as str, blobs base64, sets as lists, maps and lists
recursively). A value in any other form (an alias key, a non-dict) goes to the generic walker, and
tests/unit/localcloud/services/dynamodb/test_attribute_values.py checks both give the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from localcloud.core.moto_version import applied_once

ATTRIBUTE_VALUE_SHAPE = "AttributeValue"
# The shape's member order (botocore's dynamodb and dynamodbstreams models), which the walker writes in.
MEMBER_ORDER = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
MEMBERS = frozenset(MEMBER_ORDER)


def _string(value: Any) -> Any:
    # The generic walker's rule for a string member (moto's BaseJSONSerializer._serialize_type_string).
    return str(value) if value not in (None, {}, []) else value


class _NotWireFormError(Exception):
    """Raised inside the encoder when a value is not a plain dict of wire members (rare: aliases)."""


def encode(value: Any, base64: Callable[[Any], str]) -> dict[str, Any] | None:
    """The wire form of one AttributeValue, or None when it is not a plain dict of wire members."""
    try:
        return _encode(value, base64)
    except _NotWireFormError:
        return None


def _encode(value: Any, base64: Callable[[Any], str]) -> dict[str, Any]:
    if type(value) is not dict or not value.keys() <= MEMBERS:
        raise _NotWireFormError
    encoded: dict[str, Any] = {}
    for member in MEMBER_ORDER if len(value) > 1 else value:
        member_value = value.get(member)
        if member_value is not None:  # the walker skips None members too
            encoded[member] = _MEMBER_ENCODERS[member](member_value, base64)
    return encoded


Encoder = Callable[[Any, Callable[[Any], str]], Any]
# How the walker encodes each member: strings as str, blobs base64, sets as lists, NULL/BOOL as they are.
_MEMBER_ENCODERS: dict[str, Encoder] = {
    "S": lambda value, base64: _string(value),
    "N": lambda value, base64: _string(value),
    "B": lambda value, base64: base64(value),
    "SS": lambda value, base64: [_string(entry) for entry in value],
    "NS": lambda value, base64: [_string(entry) for entry in value],
    "BS": lambda value, base64: [base64(entry) for entry in value],
    "M": lambda value, base64: {name: _encode(nested, base64) for name, nested in value.items()},
    "L": lambda value, base64: [_encode(nested, base64) for nested in value],
    "NULL": lambda value, base64: value,
    "BOOL": lambda value, base64: value,
}


def _is_attribute_value(shape: Any) -> bool:
    return bool(shape.name == ATTRIBUTE_VALUE_SHAPE and tuple(shape.members) == MEMBER_ORDER)


def _direct_structure(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and _is_attribute_value(shape):
            encoded = encode(value, self._base64)
            if encoded is not None:
                serialized[self.get_serialized_name(shape, key)] = encoded
                return
        original(self, serialized, value, shape, key)

    return serialize_structure


@applied_once
def apply() -> None:
    """Idempotent: moto's JSON serializers encode AttributeValue directly."""
    from moto.core.serialize import BaseJSONSerializer  # noqa: PLC0415 - moto is slow to import

    BaseJSONSerializer._serialize_type_structure = _direct_structure(  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure
    )
