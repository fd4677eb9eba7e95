"""Principals: who calls, whom a resource-based policy's statement names, and how the two match.

`Caller` is the request's principal as the evaluator sees it (its account, the role behind an assumed-role
session, whether it is an account root, or the AWS service calling). `principals` compiles a statement's
Principal or NotPrincipal element into `Principals`, whose `grant` says whether a statement applies to the
caller directly, through the caller's account (an Allow then delegates to the identity-based policies), or
not at all (`Grant`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from localcloud.services.iam.policy_evaluation.model import AuthorizationRequest, MalformedError

ARN_PARTS: Final = 6
_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Caller:
    arn: str
    account: str
    role: tuple[str, str] | None  # (account, role name) of an assumed-role session or a role
    is_account_root: bool
    service: str | None

    @classmethod
    def of(cls, request: AuthorizationRequest) -> Caller:
        role = None
        is_root = False
        parts = request.principal_arn.split(":", 5)
        if len(parts) == ARN_PARTS and parts[0] == "arn":
            service, account, resource = parts[2], parts[4], parts[5]
            if service == "sts" and resource.startswith("assumed-role/") and resource.count("/") >= 2:
                role = (account, resource.split("/")[1])
            elif service == "iam" and resource.startswith("role/"):
                role = (account, resource.rsplit("/", 1)[1])
            is_root = service == "iam" and resource == "root"
        return cls(
            arn=request.principal_arn,
            account=request.principal_account,
            role=role,
            is_account_root=is_root,
            service=request.service_principal.lower() if request.service_principal else None,
        )


class Grant(enum.Enum):
    NONE = "none"  # the statement does not apply
    DIRECT = "direct"  # applies to this caller
    ACCOUNT = "account"  # applies through the caller's account: an Allow delegates to identity policies


@dataclass(frozen=True)
class Principals:
    everyone: bool = False
    arns: frozenset[str] = frozenset()
    roles: frozenset[tuple[str, str]] = frozenset()  # (account, role name)
    accounts: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()

    def grant(self, caller: Caller) -> Grant:
        if self.everyone:
            return Grant.DIRECT
        if caller.service is not None:
            return Grant.DIRECT if caller.service in self.services else Grant.NONE
        if caller.arn in self.arns or (caller.role is not None and caller.role in self.roles):
            return Grant.DIRECT
        if caller.account in self.accounts:
            return Grant.DIRECT if caller.is_account_root else Grant.ACCOUNT
        return Grant.NONE


def strings(element: str, raw: object) -> list[str]:
    members = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(member, str) for member in members):
        raise MalformedError(f"{element} must be a string or a list of strings")
    return [str(member) for member in members]


def principals(element: str, raw: object) -> Principals:
    if raw == "*":
        return Principals(everyone=True)
    if not isinstance(raw, dict):
        raise MalformedError(f'{element} must be "*" or an object such as {{"AWS": [...]}}')
    arns: set[str] = set()
    roles: set[tuple[str, str]] = set()
    accounts: set[str] = set()
    services: set[str] = set()
    for kind, values in raw.items():
        if kind == "Service":
            services.update(service.lower() for service in strings(f"{element}.Service", values))
            continue
        if kind != "AWS":
            raise MalformedError(f"unsupported principal type {kind!r} in {element}")
        for value in strings(f"{element}.AWS", values):
            if value == "*":
                return Principals(everyone=True)
            if "*" in value or "?" in value:
                raise MalformedError(f'wildcards are not allowed in principal {value!r} (only "*" is)')
            parts = value.split(":", 5)
            if _ACCOUNT_ID.fullmatch(value):
                accounts.add(value)
            elif len(parts) == ARN_PARTS and parts[2] == "iam" and parts[5] == "root":
                accounts.add(parts[4])
            else:
                arns.add(value)
                if len(parts) == ARN_PARTS and parts[2] == "iam" and parts[5].startswith("role/"):
                    roles.add((parts[4], parts[5].rsplit("/", 1)[1]))
    return Principals(
        arns=frozenset(arns),
        roles=frozenset(roles),
        accounts=frozenset(accounts),
        services=frozenset(services),
    )
