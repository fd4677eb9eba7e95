"""What a request is, what it must be allowed to do, and the helpers every service's table is built from.

A service's table maps an API operation to a `Rule`: a function of the request (`Call`) returning the IAM
checks AWS makes for it. Most rules are built from the factories here (`anywhere`, `on`, `each`), so a table
reads like the Service Authorization Reference: operation -> action -> resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

# The resource of an action that has no resource-level permissions: only a policy naming "*" allows it.
WILDCARD = "*"


@dataclass(frozen=True, kw_only=True)
class ApiRequest:
    """One emulated API call, as the endpoint sees it."""

    service: str  # the endpoint prefix, e.g. "dynamodb", "sqs", "states", "lambda", "monitoring"
    operation: str  # the API operation, e.g. "PutItem", "SendMessageBatch", "Invoke"
    params: Mapping[str, Any] = field(default_factory=dict)  # input parameters by their boto3 names
    path: str = ""  # the raw URL path, with or without its query string (REST protocols)
    body: bytes = b""  # the raw body, for what a rule reads from it that params do not hold (REST XML)
    region: str
    account: str


@dataclass(frozen=True)
class Check:
    """One IAM authorization AWS makes: `action` on `resource` (an ARN, or "*").

    `unmapped` marks the generic fallback (`<prefix>:<Operation>` on "*") for operations this module does
    not know, so callers can list them.
    """

    action: str
    resource: str
    unmapped: bool = False
    # Service-specific condition keys the request carries (e.g. route53:ChangeResourceRecordSetsActions),
    # key -> values, for policies whose conditions name them.
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()


class ResourceResolver(Protocol):
    """Names -> ARNs that only the emulator's state knows."""

    def secret_arn(self, secret_id: str, region: str, account: str) -> str:
        """The secret's full ARN (with its random suffix) for a name or ARN; for a secret that does not
        exist yet (CreateSecret), the best ARN the resolver can give."""
        ...

    def kms_key_arn(self, key_id: str, region: str, account: str) -> str:
        """The key's ARN for a key id, key ARN, alias name (alias/x) or alias ARN."""
        ...

    def object_exists(self, bucket: str, key: str, account: str) -> bool:
        """Whether `key`'s current version in `bucket` is an object (not absent, not a delete marker);
        True when the bucket itself does not exist (S3 answers NoSuchBucket to anyone)."""
        ...


def scalar(value: Any) -> str | None:
    """A parameter's text: one-element lists (query strings as parsed) unwrapped; empty -> None."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


Item = TypeVar("Item")


def unique(items: Iterable[Item]) -> list[Item]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class Call:
    """A request seen by a rule: its parameters, its service's IAM prefix and the resolver."""

    request: ApiRequest
    resolver: ResourceResolver
    prefix: str

    @property
    def region(self) -> str:
        return self.request.region

    @property
    def account(self) -> str:
        return self.request.account

    def action(self, name: str | None = None) -> str:
        """`<prefix>:<name>`, the operation's own name by default; a name with a colon is taken as is."""
        name = name or self.request.operation
        return name if ":" in name else f"{self.prefix}:{name}"

    def check(self, resource: str | None, action: str | None = None) -> Check:
        return Check(self.action(action), resource or WILDCARD)

    def value(self, name: str) -> Any:
        return self.request.params.get(name)

    def text(self, *names: str) -> str | None:
        """The first of the named parameters that has a value."""
        for name in names:
            found = scalar(self.request.params.get(name))
            if found:
                return found
        return None

    def has(self, name: str) -> bool:
        """The parameter is present, as itself or flattened (Name.1, Name.member.1.Key, ...)."""
        params = self.request.params
        return bool(params.get(name)) or any(str(key).startswith(f"{name}.") for key in params)

    def flag(self, name: str) -> bool:
        found = self.request.params.get(name)
        return found is True or (scalar(found) or "").lower() == "true"

    def nested(self, name: str, member: str) -> Any:
        """`params[name][member]`, or the query protocol's flattened `name.member`."""
        outer = self.request.params.get(name)
        if isinstance(outer, Mapping):
            return outer.get(member)
        return self.request.params.get(f"{name}.{member}")

    def items(self, name: str) -> list[Any]:
        """A list parameter: the JSON list, or the query protocol's Name.N / Name.member.N(.Field) keys."""
        found = self.request.params.get(name)
        if isinstance(found, list | tuple):
            return list(found)
        pattern = re.compile(rf"^{re.escape(name)}\.(?:member\.)?(\d+)(?:\.(.+))?$")
        members: dict[int, Any] = {}
        for key, raw in self.request.params.items():
            matched = pattern.match(str(key))
            if matched is None:
                continue
            index, member = int(matched.group(1)), matched.group(2)
            if member is None:
                members[index] = scalar(raw)
            else:
                entry = members.setdefault(index, {})
                if isinstance(entry, dict):
                    entry[member] = scalar(raw)
        return [members[index] for index in sorted(members)]

    def query(self, name: str) -> str | None:
        """A parameter of the raw path's query string (REST protocols)."""
        values = parse_qs(urlsplit(self.request.path).query).get(name)
        return values[0] if values else None

    def arn(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        region = self.region if region is None else region
        account = self.account if account is None else account
        return f"arn:aws:{service}:{region}:{account}:{resource}"


Rule = Callable[[Call], list[Check]]
Resource = Callable[[Call], str | None]


@dataclass(frozen=True)
class Service:
    """An endpoint's IAM service prefix and its operations' rules."""

    prefix: str
    rules: Mapping[str, Rule]


def anywhere(action: str | None = None) -> Rule:
    """The action has no resource-level permissions: it is checked on "*"."""
    return lambda call: [call.check(WILDCARD, action)]


def on(resource: Resource, action: str | None = None) -> Rule:
    """One check on the resource the request names ("*" when it names none)."""
    return lambda call: [call.check(resource(call), action)]


def each(resources: Callable[[Call], Iterable[str]], action: str | None = None) -> Rule:
    """One check per resource the request names (batches), "*" when it names none."""
    return lambda call: [call.check(found, action) for found in unique(resources(call)) or [WILDCARD]]


def param(*names: str) -> Resource:
    """The resource is a parameter's value, as given (an ARN)."""
    return lambda call: call.text(*names)


def uniform(operations: Iterable[str], rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(operations, rule)


def pass_role(call: Call, *names: str) -> list[Check]:
    """iam:PassRole on the role a request hands to the service (a function's or state machine's role)."""
    role = call.text(*names)
    return [Check("iam:PassRole", role)] if role else []
