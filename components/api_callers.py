"""Who may call a system's IAM-authorized routes: one role holding exactly the grants its routes need.

Producers (build systems, audit sources, event writers) call AWS_IAM routes with SigV4. Each system gets one
caller role whose policy allows invoking its own routes and nothing else; any principal of this account
whose own policies allow sts:AssumeRole on it may take it (the account decides who, the role decides what).
A platform team can instead attach the same statements to its own roles: the role is a ready-made default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import PolicyStatement, policy_document

# A producer's session is short: long enough for a batch job, short enough that a leaked one expires.
CALLER_SESSION_SECONDS = 3600


@dataclass(frozen=True, kw_only=True)
class ApiCallerRoleArgs:
    statements: Sequence[PolicyStatement]  # the routes' invoke grants (HttpApi/QueueApi.invoke_statements)
    description: str


class ApiCallerRole(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApiCallerRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:api:ApiCallerRole", name, None, opts)
        if not args.statements:
            raise ValueError(f"{name}: a caller role needs at least one route to call")
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output().account_id
        role = aws.iam.Role(
            f"{name}-role",
            description=args.description,
            assume_role_policy=account_id.apply(account_trust_policy),
            max_session_duration=CALLER_SESSION_SECONDS,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-invoke", role=role.id, policy=policy_document(args.statements), opts=child
        )
        self.arn = role.arn
        self.register_outputs({"arn": self.arn})


def account_trust_policy(account_id: str) -> str:
    """Trust for principals of this account only: the account root delegates to IAM, and the condition
    keeps it so even if the principal were widened (a session of another account is refused)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
                }
            ],
        }
    )
