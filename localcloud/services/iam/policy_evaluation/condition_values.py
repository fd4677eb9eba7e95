"""The values a condition lists for one key, one kind per family of condition operators.

`condition_values` compiles them, by the operator's kind ("string-like", "arn", "numeric-lt", "ip", ...),
into `Values`: strings (equal, case-folded or globs), ARNs (each component a glob), booleans, binary,
numbers, dates (ISO 8601 or epoch seconds, naive times being UTC) and networks. Binding them to a request's
context resolves their policy variables and gives a predicate on one request value. Values that cannot be
parsed raise `MalformedError`.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol, TypeVar

from localcloud.services.iam.policy_evaluation.context import NO_CONTEXT, Context
from localcloud.services.iam.policy_evaluation.matching import (
    Piece,
    Template,
    arn_components,
    glob_union,
    literal,
    template,
)
from localcloud.services.iam.policy_evaluation.model import MalformedError
from localcloud.services.iam.policy_evaluation.principals import ARN_PARTS

_Predicate = Callable[[str], bool]


class Values(Protocol):
    """The values a condition lists for one key."""

    def bind(self, context: Context) -> _Predicate:
        """Whether one request value matches any of the listed values (raises UnresolvedVariableError)."""
        ...


@dataclass(frozen=True)
class _StringValues:
    templates: tuple[Template, ...]
    like: bool
    ignore_case: bool

    def bind(self, context: Context) -> _Predicate:
        resolved = tuple(template.resolve(context) for template in self.templates)
        if self.like:
            return _string_like(resolved, ignore_case=self.ignore_case)
        return _string_equals(resolved, ignore_case=self.ignore_case)


@functools.lru_cache(maxsize=4096)
def _string_like(patterns: tuple[tuple[Piece, ...], ...], *, ignore_case: bool) -> _Predicate:
    regex = glob_union(patterns, ignore_case=ignore_case)
    return lambda value: regex.fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _string_equals(patterns: tuple[tuple[Piece, ...], ...], *, ignore_case: bool) -> _Predicate:
    if ignore_case:
        folded = frozenset(literal(pieces).casefold() for pieces in patterns)
        return lambda value: value.casefold() in folded
    texts = frozenset(literal(pieces) for pieces in patterns)
    return texts.__contains__


@dataclass(frozen=True)
class _ArnValues:
    templates: tuple[Template, ...]

    def bind(self, context: Context) -> _Predicate:
        return _arn_like(tuple(template.resolve(context) for template in self.templates))


@functools.lru_cache(maxsize=4096)
def _arn_like(patterns: tuple[tuple[Piece, ...], ...]) -> _Predicate:
    compiled = [
        tuple(glob_union((component,), ignore_case=False) for component in components)
        for components in map(arn_components, patterns)
        if components is not None
    ]

    def matches(value: str) -> bool:
        parts = value.split(":", ARN_PARTS - 1)
        return len(parts) == ARN_PARTS and any(
            all(regex.fullmatch(part) for regex, part in zip(regexes, parts, strict=True))
            for regexes in compiled
        )

    return matches


@dataclass(frozen=True)
class _BoolValues:
    templates: tuple[Template, ...]

    def bind(self, context: Context) -> _Predicate:
        expected = frozenset(literal(template.resolve(context)).lower() for template in self.templates)
        return lambda value: value.lower() in expected


@dataclass(frozen=True)
class _ExactValues:
    texts: frozenset[str]

    def bind(self, context: Context) -> _Predicate:
        return self.texts.__contains__


_Comparison = Callable[[Any, Any], bool]


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class _NumericValues:
    numbers: tuple[Decimal, ...]
    compare: _Comparison

    def bind(self, context: Context) -> _Predicate:
        return self._matches

    def _matches(self, value: str) -> bool:
        number = _number(value)
        return number is not None and any(self.compare(number, expected) for expected in self.numbers)


_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")


def _date(text: str) -> datetime | None:
    text = text.strip()
    try:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _DateValues:
    dates: tuple[datetime, ...]
    compare: _Comparison

    def bind(self, context: Context) -> _Predicate:
        return self._matches

    def _matches(self, value: str) -> bool:
        moment = _date(value)
        return moment is not None and any(self.compare(moment, expected) for expected in self.dates)


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class _IpValues:
    networks: tuple[_Network, ...]

    def bind(self, context: Context) -> _Predicate:
        return self._matches

    def _matches(self, value: str) -> bool:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return any(address in network for network in self.networks)


_COMPARISONS: Final[dict[str, _Comparison]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


_Parsed = TypeVar("_Parsed")


def parsed(
    texts: list[str], parse: Callable[[str], _Parsed | None], what: str, operator_name: str
) -> tuple[_Parsed, ...]:
    parsed = []
    for text in texts:
        value = parse(text)
        if value is None:
            raise MalformedError(f"condition {operator_name} has {text!r}, which is not {what}")
        parsed.append(value)
    return tuple(parsed)


def _network(text: str) -> _Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def null_expectation(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower())


def condition_values(  # noqa: PLR0911 - one per kind of operator
    kind: str, operator_name: str, texts: list[str], *, variables: bool
) -> Values | None:
    def templates() -> tuple[Template, ...]:
        return tuple(template(text, variables=variables) for text in texts)

    if kind.startswith("string"):
        return _StringValues(
            templates(), like=kind == "string-like", ignore_case=kind.endswith("ignore-case")
        )
    if kind == "arn":
        compiled = templates()
        for arn_template in compiled:
            if not arn_template.has_variables and arn_components(arn_template.resolve(NO_CONTEXT)) is None:
                raise MalformedError(
                    f"condition {operator_name} has {arn_template.text!r}, which is not an ARN"
                )
        return _ArnValues(compiled)
    if kind == "bool":
        return _BoolValues(templates())
    if kind == "binary":
        return _ExactValues(frozenset(texts))
    if kind.startswith("numeric"):
        return _NumericValues(parsed(texts, _number, "a number", operator_name), _COMPARISONS[kind[-2:]])
    if kind.startswith("date"):
        return _DateValues(parsed(texts, _date, "a date", operator_name), _COMPARISONS[kind[-2:]])
    if kind == "ip":
        return _IpValues(parsed(texts, _network, "an IP address or CIDR block", operator_name))
    return None  # null
