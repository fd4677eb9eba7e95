"""IAM policy documents built from statements whose ARNs may still be Pulumi outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

PolicyStatement = Mapping[str, Any]

# Services AWS documents as setting aws:SourceAccount when they assume a role, so a trust policy may
# require it (each service's "cross-service confused deputy prevention" guidance). Lambda is not one:
# AWS documents no source keys for lambda.amazonaws.com assuming an execution role, and a condition on a
# key the service does not send would lock every function out of its own role.
SOURCE_ACCOUNT_TRUSTING_SERVICES = frozenset(
    {
        "states.amazonaws.com",  # Step Functions guide, "Creating an IAM role for your state machine"
        "ssm.amazonaws.com",  # Systems Manager user guide, Automation assume role
        "fis.amazonaws.com",  # FIS user guide, "IAM roles for AWS FIS experiments"
    }
)


def allow(actions: Sequence[str], resources: Sequence[pulumi.Input[str]]) -> PolicyStatement:
    """One Allow statement for exactly these actions on exactly these resources."""
    if not resources:
        raise ValueError(f"a statement for {', '.join(actions)} needs at least one resource ARN")
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def deny_insecure_transport(
    actions: Sequence[str], resources: Sequence[pulumi.Input[str]]
) -> PolicyStatement:
    """The resource-policy statement that refuses every request sent without TLS, whoever sends it.

    The one TLS-only statement of the program: bucket policies (s3:*), queue policies (sqs:*) and topic
    policies (sns:Publish) each end with it, after their grants. A request without the aws:SecureTransport
    key (a service delivering on AWS's own network, e.g. S3 to a queue) does not match the Bool condition,
    so it is not refused by it.
    """
    if not resources:
        raise ValueError(f"a TLS-only statement for {', '.join(actions)} needs at least one resource ARN")
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def policy_document(statements: Sequence[PolicyStatement]) -> pulumi.Output[str]:
    """Serialise statements (Outputs allowed anywhere inside) into a policy JSON string."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, *, source_account: pulumi.Input[str] | None = None) -> pulumi.Input[str]:
    """Trust policy letting one AWS service principal (e.g. lambda.amazonaws.com) assume a role.

    With `source_account`, the service may assume the role only when it acts for that account
    (aws:SourceAccount), so another account cannot make it use this role as a confused deputy; only for
    the services in SOURCE_ACCOUNT_TRUSTING_SERVICES, since a service that sends no such key could not
    assume the role at all.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is None:
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    if service not in SOURCE_ACCOUNT_TRUSTING_SERVICES:
        raise ValueError(
            f"{service} is not known to send aws:SourceAccount when it assumes a role; a trust policy "
            "requiring it would lock the service out (see SOURCE_ACCOUNT_TRUSTING_SERVICES)"
        )
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})
