"""IAM resources of a Pulumi program -> IAM API calls on the emulator. IAM is global: every call goes to
the default region's endpoint, whatever region the resource names."""

from __future__ import annotations

import secrets
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import FieldMap, Param, api_parameters, integer, tag_list

_ROLE_FIELDS: FieldMap = {
    "description": "Description",
    "path": "Path",
    "permissionsBoundary": "PermissionsBoundary",
    "maxSessionDuration": Param("MaxSessionDuration", integer),
}
_POLICY_FIELDS: FieldMap = {"path": "Path", "description": "Description"}


def _iam(ctx: ProvisioningContext) -> Any:
    return ctx.client("iam", ctx.default_region)


def create_role(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=64)
    iam = _iam(ctx)
    parameters: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
        **api_parameters(inputs, _ROLE_FIELDS),
    }
    if tag_list(inputs):
        parameters["Tags"] = tag_list(inputs)
    role = iam.create_role(**parameters)["Role"]
    for inline in inputs.get("inlinePolicies") or []:
        if inline.get("name") and inline.get("policy"):
            iam.put_role_policy(RoleName=name, PolicyName=inline["name"], PolicyDocument=inline["policy"])
    for policy_arn in inputs.get("managedPolicyArns") or []:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return name, {**inputs, "id": name, "name": name, "arn": role["Arn"], "uniqueId": role["RoleId"]}


def put_role_policy(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=128)
    _iam(ctx).put_role_policy(RoleName=inputs["role"], PolicyName=name, PolicyDocument=inputs["policy"])
    return f"{inputs['role']}:{name}", {**inputs, "name": name}


def create_policy(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=128)
    policy = _iam(ctx).create_policy(
        PolicyName=name, PolicyDocument=inputs["policy"], **api_parameters(inputs, _POLICY_FIELDS)
    )["Policy"]
    return policy["Arn"], {
        **inputs,
        "id": policy["Arn"],
        "arn": policy["Arn"],
        "name": name,
        "policyId": policy["PolicyId"],
    }


def attach_role_policy(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    _iam(ctx).attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
    return f"{inputs['role']}-{secrets.token_hex(8)}", dict(inputs)


CREATORS: Registry = {
    "aws:iam/role:Role": create_role,
    "aws:iam/rolePolicy:RolePolicy": put_role_policy,
    "aws:iam/policy:Policy": create_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": attach_role_policy,
}
