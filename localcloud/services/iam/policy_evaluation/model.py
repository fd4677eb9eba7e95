"""The evaluator's vocabulary: the request to authorize, the policies it is decided against, the decision,
and the errors.

`PolicyNotSupportedError` is public: `evaluate` raises it for a policy it cannot evaluate faithfully. The
other two errors stay inside the package: `MalformedError` is raised while compiling a policy and becomes a
`PolicyNotSupportedError` naming the policy; `UnresolvedVariableError` is raised while matching a statement
and makes that statement not apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str] | bool | int
"""A request context value: a string, several strings (a multivalued key), a boolean or a number."""


class PolicyNotSupportedError(ValueError):
    """A policy the evaluator cannot evaluate faithfully: malformed, or using an unsupported feature."""


class MalformedError(Exception):
    """A policy IAM would reject or the evaluator does not support; the message says what and where."""


class UnresolvedVariableError(Exception):
    """A policy variable without a value: the statement using it does not apply."""


@dataclass(frozen=True, kw_only=True)
class AuthorizationRequest:
    """One API call to authorize.

    `principal_arn` is the caller: an IAM user (arn:aws:iam::123456789012:user/u), an assumed-role session
    (arn:aws:sts::123456789012:assumed-role/my-role/my-session) or an account root. When an AWS service calls
    on a resource (S3 delivering an event to a queue, SNS invoking a function) set `service_principal`
    ("s3.amazonaws.com"): the service then matches only "*" and its {"Service": ...} principal, identity-based
    policies can only deny, and `principal_arn`/`principal_account` are not used to match principals (pass
    the service principal and the account it acts for).
    """

    principal_arn: str
    principal_account: str
    action: str
    """"dynamodb:PutItem": matched case-insensitively."""
    resource: str
    """One ARN, or "*" for an action that takes no resource."""
    resource_account: str | None = None
    """The account owning the resource; None: the principal's account."""
    service_principal: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    """Condition keys (case-insensitive) to values: {"aws:SecureTransport": True, "aws:SourceArn": "..."}."""


@dataclass(frozen=True)
class NamedPolicy:
    """A policy document (a dict or its JSON text) and the name reasons call it by.

    Identity-based policies read "policy '<name>'" in reasons; a resource-based policy reads "the <name>", so
    name it by its kind: NamedPolicy("bucket policy", ...), NamedPolicy("trust policy", ...).
    """

    name: str
    document: Mapping[str, Any] | str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    """Why, AWS-style: "explicitly denied by statement 'DenyInsecure' of the bucket policy"."""
