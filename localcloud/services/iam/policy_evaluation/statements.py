"""Policies and their statements: compiling a document, and whether one statement applies to a request.

`compiled` compiles a `NamedPolicy` once per distinct document (functools.lru_cache on its JSON text) into
its statements, raising `PolicyNotSupportedError` naming the policy for anything malformed or unsupported.
A statement's `grant` matches the action, the principal (resource-based policies), the resource and the
conditions, and says whether and how the statement applies to the request (a `Grant`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from localcloud.services.iam.policy_evaluation.conditions import Condition, conditions
from localcloud.services.iam.policy_evaluation.context import NO_CONTEXT, Context
from localcloud.services.iam.policy_evaluation.matching import Template, glob_union, template
from localcloud.services.iam.policy_evaluation.model import (
    AuthorizationRequest,
    MalformedError,
    NamedPolicy,
    PolicyNotSupportedError,
    UnresolvedVariableError,
)
from localcloud.services.iam.policy_evaluation.principals import (
    Caller,
    Grant,
    Principals,
    principals,
    strings,
)


@dataclass(frozen=True)
class _Statement:
    label: str  # 'Sid' or the position counting from 1
    allow: bool
    actions: re.Pattern[str]
    not_action: bool
    resources: tuple[Template, ...] | None  # None: the resource the (resource-based) policy is attached to
    static_resources: re.Pattern[str] | None  # the resources as one pattern, when they use no variable
    not_resource: bool
    principals: Principals | None  # None: an identity-based policy's statement
    not_principal: bool
    conditions: tuple[Condition, ...]

    def grant(self, request: AuthorizationRequest, context: Context, caller: Caller) -> Grant:
        """Whether this statement applies to the request, and how (directly or through the account)."""
        if (self.actions.fullmatch(request.action) is None) != self.not_action:
            return Grant.NONE
        grant = Grant.DIRECT
        if self.principals is not None:
            grant = self.principals.grant(caller)
            if self.not_principal:
                grant = Grant.DIRECT if grant is Grant.NONE else Grant.NONE
            if grant is Grant.NONE:
                return grant
        try:
            if self.resources is not None and not self._resource_matches(request.resource, context):
                return Grant.NONE
            if not all(condition.holds(context) for condition in self.conditions):
                return Grant.NONE
        except UnresolvedVariableError:
            return Grant.NONE
        return grant

    def _resource_matches(self, resource: str, context: Context) -> bool:
        if self.static_resources is not None:
            regex = self.static_resources
        else:
            resolved = tuple(template.resolve(context) for template in self.resources or ())
            regex = glob_union(resolved, ignore_case=False)
        return (regex.fullmatch(resource) is not None) != self.not_resource


@dataclass(frozen=True)
class _Policy:
    statements: tuple[_Statement, ...]


_STATEMENT_ELEMENTS: Final = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_VERSIONS: Final = frozenset({"2012-10-17", "2008-10-17"})


def _one_of(statement: dict[str, Any], first: str, second: str) -> tuple[str | None, bool]:
    """Which of two exclusive elements the statement uses (its name, whether it is the second)."""
    if first in statement and second in statement:
        raise MalformedError(f"it has both {first} and {second}")
    if first in statement:
        return first, False
    if second in statement:
        return second, True
    return None, False


def _label(raw: object, position: int) -> str:
    if isinstance(raw, dict) and raw.get("Sid") not in (None, ""):
        return f"'{raw['Sid']}'"
    return str(position)


def _statement(raw: object, label: str, *, resource_based: bool, variables: bool) -> _Statement | None:
    if not isinstance(raw, dict):
        raise MalformedError("it is not an object")
    unknown = set(raw) - _STATEMENT_ELEMENTS
    if unknown:
        raise MalformedError(f"unsupported elements {sorted(unknown)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedError(f"Effect {effect!r} is neither Allow nor Deny")

    action_element, not_action = _one_of(raw, "Action", "NotAction")
    if action_element is None:
        raise MalformedError("it has neither Action nor NotAction")
    action_patterns = strings(action_element, raw[action_element])
    actions = glob_union(
        tuple(template(action, variables=False).resolve(NO_CONTEXT) for action in action_patterns),
        ignore_case=True,
    )

    principal_element, not_principal = _one_of(raw, "Principal", "NotPrincipal")
    statement_principals = None
    if resource_based:
        if principal_element is None:
            raise MalformedError("a resource-based policy's statement needs a Principal or NotPrincipal")
        statement_principals = principals(principal_element, raw[principal_element])
    elif principal_element is not None:
        raise MalformedError(f"an identity-based policy's statement cannot have a {principal_element}")

    resource_element, not_resource = _one_of(raw, "Resource", "NotResource")
    resources = None
    static_resources = None
    if resource_element is not None:
        resources = tuple(
            template(resource, variables=variables)
            for resource in strings(resource_element, raw[resource_element])
        )
        if not any(template.has_variables for template in resources):
            static_resources = glob_union(
                tuple(template.resolve(NO_CONTEXT) for template in resources), ignore_case=False
            )

    statement_conditions = conditions(raw["Condition"], variables=variables) if "Condition" in raw else ()
    if resources is None and not resource_based:
        # IAM rejects an identity-based policy's statement without Resource or NotResource; one that reaches
        # the evaluator anyway (moto accepts it) matches nothing rather than everything. A resource-based
        # policy's statement without them applies to the resource the policy is attached to (role trust
        # policies must omit Resource).
        return None
    return _Statement(
        label=label,
        allow=effect == "Allow",
        actions=actions,
        not_action=not_action,
        resources=resources,
        static_resources=static_resources,
        not_resource=not_resource,
        principals=statement_principals,
        not_principal=not_principal,
        conditions=statement_conditions,
    )


@functools.lru_cache(maxsize=1024)
def _compile(text: str, *, resource_based: bool) -> _Policy:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedError("a policy document must be a JSON object")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise MalformedError(f"unsupported policy elements {sorted(unknown)}")
    version = document.get("Version", "2008-10-17")
    if version not in _VERSIONS:
        raise MalformedError(f"unsupported policy Version {version!r}")
    raw_statements = document.get("Statement")
    if raw_statements is None:
        raise MalformedError("a policy document needs a Statement")
    if not isinstance(raw_statements, list):
        raw_statements = [raw_statements]
    variables = version == "2012-10-17"
    statements = []
    for position, raw in enumerate(raw_statements, start=1):
        label = _label(raw, position)
        try:
            statement = _statement(raw, label, resource_based=resource_based, variables=variables)
        except MalformedError as error:
            raise MalformedError(f"statement {label}: {error}") from None
        if statement is not None:
            statements.append(statement)
    return _Policy(tuple(statements))


def compiled(policy: NamedPolicy, *, resource_based: bool) -> _Policy:
    kind = "resource-based policy" if resource_based else "policy"
    try:
        text = (
            policy.document
            if isinstance(policy.document, str)
            else json.dumps(policy.document, sort_keys=True, separators=(",", ":"))
        )
        return _compile(text, resource_based=resource_based)
    except (MalformedError, TypeError, ValueError) as error:
        raise PolicyNotSupportedError(f"{kind} {policy.name!r}: {error}") from None
