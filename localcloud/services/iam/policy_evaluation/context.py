"""The request context: the condition keys a request carries, and the policy variables resolved from them.

`Context` holds the caller's context keys lower-cased, every value as a tuple of strings, plus the keys
derived from the request when the caller does not pass them (aws:PrincipalArn, aws:PrincipalAccount,
aws:username, aws:ResourceAccount, aws:PrincipalServiceName). Conditions read its values; a policy variable
(`Variable`, as the templates of matching.py hold it) resolves to a key's single value or its default, or
raises `UnresolvedVariableError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from localcloud.services.iam.policy_evaluation.model import AuthorizationRequest, UnresolvedVariableError
from localcloud.services.iam.policy_evaluation.principals import Caller


@dataclass(frozen=True)
class Variable:
    key: str  # lower-cased
    default: str | None
    text: str  # as written


def _context_text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Context:
    """The request context with lower-cased keys, every value as a tuple of strings."""

    __slots__ = ("_multivalued", "_values")

    def __init__(self, values: dict[str, tuple[str, ...]], multivalued: set[str]) -> None:
        self._values = values
        self._multivalued = multivalued

    @classmethod
    def of(cls, request: AuthorizationRequest, caller: Caller) -> Context:
        values: dict[str, tuple[str, ...]] = {}
        multivalued: set[str] = set()
        for key, value in request.context.items():
            lowered = key.lower()
            if isinstance(value, str | bool | int):
                values[lowered] = (_context_text(value),)
                multivalued.discard(lowered)
            else:
                values[lowered] = tuple(_context_text(member) for member in value)
                multivalued.add(lowered)
        for key, derived in _derived_keys(request, caller):
            values.setdefault(key, (derived,))
        return cls(values, multivalued)

    def values(self, key: str) -> tuple[str, ...] | None:
        """The values of a lower-cased key; None or () when the request does not carry it."""
        return self._values.get(key)

    def variable(self, variable: Variable) -> str:
        values = self._values.get(variable.key)
        if values is not None and len(values) == 1 and variable.key not in self._multivalued:
            return values[0]
        if variable.default is not None:
            return variable.default
        raise UnresolvedVariableError(variable.text)


def _derived_keys(request: AuthorizationRequest, caller: Caller) -> Iterator[tuple[str, str]]:
    if request.service_principal:
        yield "aws:principalservicename", request.service_principal
    else:
        if caller.role is not None and ":sts:" in request.principal_arn:
            partition = request.principal_arn.split(":")[1]
            yield "aws:principalarn", f"arn:{partition}:iam::{caller.role[0]}:role/{caller.role[1]}"
        else:
            yield "aws:principalarn", request.principal_arn
        yield "aws:principalaccount", request.principal_account
        if ":iam::" in request.principal_arn and ":user/" in request.principal_arn:
            yield "aws:username", request.principal_arn.rsplit("/", 1)[1]
    yield "aws:resourceaccount", request.resource_account or request.principal_account


NO_CONTEXT: Final = Context({}, set())  # for resolving templates known to hold no variable
