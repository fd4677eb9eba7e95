"""IAM policy documents built from statements whose ARNs may still be Pulumi outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

PolicyStatement = Mapping[str, Any]


def allow(actions: Sequence[str], resources: Sequence[pulumi.Input[str]]) -> PolicyStatement:
    """One Allow statement for exactly these actions on exactly these resources."""
    if not resources:
        raise ValueError(f"a statement for {', '.join(actions)} needs at least one resource ARN")
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def policy_document(statements: Sequence[PolicyStatement]) -> pulumi.Output[str]:
    """Serialise statements (Outputs allowed anywhere inside) into a policy JSON string."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service principal (e.g. lambda.amazonaws.com) assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )
