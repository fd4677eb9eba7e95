"""A statement's Condition block: the supported operators, and when one condition holds.

`conditions` compiles the block into `Condition`s, one per operator and key, understanding the `IfExists`
suffix and the `ForAnyValue:` / `ForAllValues:` set operators; `Condition.holds` evaluates one against the
request context (values listed for a key are OR-ed, a negated operator holds when none matches, a key
missing from the context makes a condition false except for negated, `...IfExists` and `ForAllValues:`
operators). Their values, by kind of operator, are condition_values.py's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from localcloud.services.iam.policy_evaluation.condition_values import (
    Values,
    condition_values,
    null_expectation,
    parsed,
)
from localcloud.services.iam.policy_evaluation.context import Context
from localcloud.services.iam.policy_evaluation.model import MalformedError


class _SetOperator(enum.Enum):
    NONE = ""
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


@dataclass(frozen=True)
class Condition:
    operator: str  # as written
    key: str  # lower-cased
    set_operator: _SetOperator
    if_exists: bool
    negated: bool
    values: Values | None  # None: the Null operator
    null_expectations: tuple[bool, ...] = ()

    def holds(self, context: Context) -> bool:
        request_values = context.values(self.key)
        if self.values is None:  # Null: "true" wants the key absent, "false" wants it present
            absent = not request_values
            return any(expected == absent for expected in self.null_expectations)
        if not request_values:
            if self.if_exists or self.set_operator is _SetOperator.FOR_ALL_VALUES:
                return True
            return self.negated and self.set_operator is _SetOperator.NONE
        matches = self.values.bind(context)
        if self.set_operator is _SetOperator.NONE:
            return any(matches(value) for value in request_values) != self.negated
        each = (matches(value) != self.negated for value in request_values)
        return all(each) if self.set_operator is _SetOperator.FOR_ALL_VALUES else any(each)


# operator -> (kind, negated)
_OPERATORS: Final[dict[str, tuple[str, bool]]] = {
    "StringEquals": ("string", False),
    "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string-ignore-case", False),
    "StringNotEqualsIgnoreCase": ("string-ignore-case", True),
    "StringLike": ("string-like", False),
    "StringNotLike": ("string-like", True),
    "ArnEquals": ("arn", False),
    "ArnLike": ("arn", False),
    "ArnNotEquals": ("arn", True),
    "ArnNotLike": ("arn", True),
    "Bool": ("bool", False),
    "BinaryEquals": ("binary", False),
    "NumericEquals": ("numeric-eq", False),
    "NumericNotEquals": ("numeric-eq", True),
    "NumericLessThan": ("numeric-lt", False),
    "NumericLessThanEquals": ("numeric-le", False),
    "NumericGreaterThan": ("numeric-gt", False),
    "NumericGreaterThanEquals": ("numeric-ge", False),
    "DateEquals": ("date-eq", False),
    "DateNotEquals": ("date-eq", True),
    "DateLessThan": ("date-lt", False),
    "DateLessThanEquals": ("date-le", False),
    "DateGreaterThan": ("date-gt", False),
    "DateGreaterThanEquals": ("date-ge", False),
    "IpAddress": ("ip", False),
    "NotIpAddress": ("ip", True),
    "Null": ("null", False),
}


def _condition_texts(operator_name: str, key: str, raw: object) -> list[str]:
    members = raw if isinstance(raw, list) else [raw]
    texts = []
    for member in members:
        if isinstance(member, bool):
            texts.append("true" if member else "false")
        elif isinstance(member, str | int | float):
            texts.append(str(member))
        else:
            raise MalformedError(f"condition {operator_name} on {key!r} has a value that is not a string")
    return texts


def conditions(block: object, *, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise MalformedError("Condition must be an object of condition operators")
    conditions = []
    for operator_name, keys in block.items():
        base = str(operator_name)
        set_operator = _SetOperator.NONE
        prefix, colon, rest = base.partition(":")
        if colon:
            if prefix not in ("ForAnyValue", "ForAllValues"):
                raise MalformedError(f"unsupported condition set operator {prefix!r} in {operator_name!r}")
            set_operator, base = _SetOperator(prefix), rest
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise MalformedError(f"unsupported condition operator {operator_name!r}")
        kind, negated = _OPERATORS[base]
        if kind == "null" and (if_exists or set_operator is not _SetOperator.NONE):
            raise MalformedError(f"unsupported condition operator {operator_name!r}")
        if not isinstance(keys, dict):
            raise MalformedError(f"condition {operator_name} must map condition keys to values")
        for key, raw in keys.items():
            texts = _condition_texts(operator_name, key, raw)
            values = condition_values(kind, operator_name, texts, variables=variables)
            nulls = (
                ()
                if values is not None
                else parsed(texts, null_expectation, '"true" or "false"', operator_name)
            )
            conditions.append(
                Condition(
                    operator=operator_name,
                    key=str(key).lower(),
                    set_operator=set_operator,
                    if_exists=if_exists,
                    negated=negated,
                    values=values,
                    null_expectations=nulls,
                )
            )
    return tuple(conditions)
