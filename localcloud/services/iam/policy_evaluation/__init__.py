"""AWS IAM policy evaluation for one request, pure and standard-library only.

localcloud authorizes every emulated API call with `evaluate`, the way AWS does for a single account (and a
cross-account call between two accounts), following
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:

1. An explicit Deny in any applicable statement, of an identity-based policy or of the resource-based policy,
   wins.
2. Otherwise, in the same account, an Allow in an identity-based policy *or* in the resource-based policy
   suffices. Across accounts (``resource_account != principal_account``) both are needed: the caller's
   identity-based policies must allow the action and the resource-based policy must grant the caller or its
   account.
3. Otherwise the request is implicitly denied.

moto's own evaluator (moto/iam/access_control.py) differs: an Allow whose Condition does not match is a Deny
there (and ends the evaluation of its policy), its patterns are regular expressions with only `*` translated
(so `.` and `?` are not what IAM means), actions are case-sensitive, and neither NotResource nor principals
other than "*" in resource policies are understood.

Supported:

* Statements (a dict or a list): Sid, Effect, Action/NotAction, Resource/NotResource, Principal/NotPrincipal
  (resource-based policies only) and Condition. Reasons name a statement by its Sid, or by its position
  counting from 1 ("statement 2") when it has none.
* Actions match case-insensitively, resources case-sensitively, both as globs on the whole string: `*` is any
  run of characters, `?` exactly one, everything else is literal (never a regular expression).
* Principals: "*" and {"AWS": "*"} (everyone, service principals included), IAM user, role and assumed-role
  session ARNs, accounts ("123456789012" or "arn:aws:iam::123456789012:root") and service principals
  ({"Service": "s3.amazonaws.com"}, matched against `AuthorizationRequest.service_principal`). A role ARN
  matches its sessions by account and role name, because a session ARN drops the role's path. As in AWS, an
  account principal *delegates* to the account: its Allow grants nothing to an IAM identity until one of the
  identity's own policies allows the action too (a Deny naming an account applies to all of its principals).
  NotPrincipal excludes the principals it lists, matched the same way (AWS's extra rules for NotPrincipal with
  Deny, such as having to list the account too, are not modelled).
* Condition operators: String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like (each of
  the six colon-separated ARN components matched separately, with wildcards, for both), Bool, BinaryEquals,
  Numeric(Not)Equals, NumericLessThan(Equals), NumericGreaterThan(Equals), Date(Not)Equals,
  DateLessThan(Equals), DateGreaterThan(Equals) (ISO 8601 or epoch seconds, naive times being UTC),
  (Not)IpAddress and Null; the `IfExists` suffix and the `ForAnyValue:` / `ForAllValues:` set operators.
  Condition keys are case-insensitive; values are case-sensitive except for the IgnoreCase operators and Bool.
* Evaluation of a condition, per the AWS "Condition operators" page: the values listed for one key are OR-ed,
  and for a negated operator (StringNotEquals, NotIpAddress, ...) the condition holds when the request value
  matches *none* of them; keys and operators are AND-ed. A key missing from the request context (or present
  with no values) makes a condition false, except that it makes a negated operator true, any `...IfExists`
  operator true and any `ForAllValues:` operator true (and `ForAnyValue:` false). A plain operator given a
  multivalued context key holds when any of its values matches (a negated one: when none does).
* Policy variables (policies with "Version": "2012-10-17" only; in older policies `${...}` is literal text),
  in Resource, NotResource and the values of String, Arn and Bool conditions: `${aws:username}`,
  `${aws:PrincipalTag/team}`, any context key, with a default `${aws:PrincipalTag/team, 'none'}` and the
  escapes `${*}`, `${?}` and `${$}` for a literal `*`, `?` and `$`. A substituted value is literal (a `*` in a
  tag value is no wildcard). A variable that cannot be resolved (its key is absent or multivalued, and it has
  no default) makes its statement not apply, whatever its effect: AWS warns that it can make the entire
  statement invalid.
* Context keys derived from the request when the caller does not pass them: aws:PrincipalArn (the role ARN
  for an assumed-role session, without the role's path, which the session ARN does not carry: pass it
  explicitly for roles with paths), aws:PrincipalAccount, aws:username (IAM users), aws:ResourceAccount and
  aws:PrincipalServiceName (service principals).

Deliberately limited:

* A statement of an identity-based policy without Resource/NotResource never matches (IAM rejects such
  policies). A statement of a resource-based policy without them applies to the resource the policy is
  attached to: role trust policies must omit Resource.
* Not modelled: permissions boundaries, session policies, SCPs/RCPs, "Federated" and "CanonicalUser"
  principals, unique-ID principals (stored, never matched), anonymous callers.
* Anything malformed or unknown (an unknown condition operator, Effect, principal type or policy element, a
  wildcard in a principal ARN, an unparsable number, date or CIDR in a condition) raises
  `PolicyNotSupportedError` naming the policy: localcloud fails loudly rather than silently allowing or
  denying.

Policies are compiled once per distinct document (functools.lru_cache on their JSON text) and glob patterns
once per distinct pattern, so evaluating a request costs a few dictionary look-ups and regular-expression
matches per statement.

The package: model.py (the request, the policies, the decision, the errors), principals.py (the caller and
the principals a statement names), context.py (the request context and policy variables), matching.py
(globs, templates, ARN components), condition_values.py and conditions.py (condition operators and their
values), statements.py (compiling policies, and whether a statement applies); `evaluate`, here, combines
the statements' verdicts into a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localcloud.services.iam.policy_evaluation.context import Context
from localcloud.services.iam.policy_evaluation.model import (
    AuthorizationRequest,
    ContextValue,
    Decision,
    NamedPolicy,
    PolicyNotSupportedError,
)
from localcloud.services.iam.policy_evaluation.principals import Caller, Grant
from localcloud.services.iam.policy_evaluation.statements import compiled

__all__ = [
    "AuthorizationRequest",
    "ContextValue",
    "Decision",
    "NamedPolicy",
    "PolicyNotSupportedError",
    "evaluate",
]


def evaluate(
    request: AuthorizationRequest,
    identity_policies: Sequence[NamedPolicy],
    resource_policy: NamedPolicy | None = None,
    *,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide `request` against the caller's identity-based policies and the resource's policy, if any.

    `resource_policy_required` is KMS's rule for key policies: the key policy must allow the request, by
    naming the caller (enough alone) or the caller's account (which delegates to identity policies, so they
    must allow it too); identity policies alone never do, even in the key's own account.

    Raises PolicyNotSupportedError when a policy is malformed or uses what the evaluator does not support.
    """
    caller = Caller.of(request)
    context = Context.of(request, caller)
    scanned = [(policy, f"policy '{policy.name}'", False) for policy in identity_policies]
    if resource_policy is not None:
        scanned.append((resource_policy, f"the {resource_policy.name}", True))
    allows = _Allows()
    for policy, described, resource_based in scanned:
        for statement in compiled(policy, resource_based=resource_based).statements:
            grant = statement.grant(request, context, caller)
            if grant is Grant.NONE:
                continue
            where = f"statement {statement.label} of {described}"
            if not statement.allow:
                return Decision(False, f"explicitly denied by {where}")
            allows.record(where, grant, resource_based=resource_based)

    resource_name = f"the {resource_policy.name}" if resource_policy else "no resource-based policy"
    if caller.service is not None:
        if allows.resource:
            return Decision(True, f"allowed by {allows.resource}")
        verb = "allows" if resource_policy is None else "does not allow"
        return Decision(
            False,
            f"{resource_name} {verb} the service principal {caller.service} to perform {request.action}",
        )
    if resource_policy_required:
        return _resource_policy_decides(request, allows, resource_name)
    if request.resource_account in (None, request.principal_account):
        return _same_account(request, allows, resource_name)
    return _cross_account(request, allows, resource_name)


@dataclass
class _Allows:
    """The first Allow statement found of each kind, described for a reason."""

    identity: str | None = None
    resource: str | None = None  # a resource-based policy's Allow naming the caller (or everyone)
    account: str | None = None  # a resource-based policy's Allow naming the caller's account

    def record(self, where: str, grant: Grant, *, resource_based: bool) -> None:
        if not resource_based:
            self.identity = self.identity or where
        elif grant is Grant.DIRECT:
            self.resource = self.resource or where
        else:
            self.account = self.account or where


def _same_account(request: AuthorizationRequest, allows: _Allows, resource_name: str) -> Decision:
    if allows.identity or allows.resource:
        return Decision(True, f"allowed by {allows.identity or allows.resource}")
    reason = f"no identity-based policy allows the {request.action} action"
    if allows.account:
        reason += f": {allows.account} names the account, which delegates to its identity-based policies"
    elif resource_name != "no resource-based policy":
        reason += f" and {resource_name} does not allow it either"
    return Decision(False, reason)


def _resource_policy_decides(request: AuthorizationRequest, allows: _Allows, resource_name: str) -> Decision:
    if allows.resource:
        return Decision(True, f"allowed by {allows.resource}")
    if allows.account and allows.identity:
        return Decision(True, f"allowed by {allows.identity}, as {allows.account} delegates to it")
    if allows.account:
        return Decision(
            False,
            f"no identity-based policy allows the {request.action} action: {allows.account} names the "
            "account, which delegates to its identity-based policies",
        )
    return Decision(
        False,
        f"{resource_name} does not allow {request.action} to the caller or its account, and only it can"
        + (f" (identity-based {allows.identity} is not enough)" if allows.identity else ""),
    )


def _cross_account(request: AuthorizationRequest, allows: _Allows, resource_name: str) -> Decision:
    resource_grant = allows.resource or allows.account
    if allows.identity and resource_grant:
        return Decision(True, f"allowed by {allows.identity} and {resource_grant}")
    missing = [] if allows.identity else [f"no identity-based policy allows the {request.action} action"]
    if not resource_grant:
        verb = "allows" if resource_name == "no resource-based policy" else "does not allow"
        missing.append(f"{resource_name} {verb} access from account {request.principal_account}")
    return Decision(
        False,
        " and ".join(missing) + f" (access from account {request.principal_account} to a resource of "
        f"account {request.resource_account} needs both)",
    )
