"""Secrets Manager resources of a Pulumi program -> Secrets Manager API calls on the emulator."""

from __future__ import annotations

import base64
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import FieldMap, api_parameters, tag_list

_SECRET_FIELDS: FieldMap = {"description": "Description", "kmsKeyId": "KmsKeyId"}


def create_secret(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=512)
    parameters: dict[str, Any] = {"Name": name, **api_parameters(inputs, _SECRET_FIELDS)}
    if tag_list(inputs):
        parameters["Tags"] = tag_list(inputs)
    secret_arn = ctx.client("secretsmanager", region).create_secret(**parameters)["ARN"]
    return secret_arn, {**inputs, "id": secret_arn, "arn": secret_arn, "name": name}


def put_secret_value(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    parameters: dict[str, Any] = {"SecretId": inputs["secretId"]}
    if inputs.get("secretString") is not None:
        parameters["SecretString"] = inputs["secretString"]
    elif inputs.get("secretBinary") is not None:
        parameters["SecretBinary"] = base64.b64decode(inputs["secretBinary"])  # the wire carries base64
    put = ctx.client("secretsmanager", region).put_secret_value(**parameters)
    return f"{inputs['secretId']}|{put['VersionId']}", {
        **inputs,
        "arn": put["ARN"],
        "versionId": put["VersionId"],
    }


CREATORS: Registry = {
    "aws:secretsmanager/secret:Secret": create_secret,
    "aws:secretsmanager/secretVersion:SecretVersion": put_secret_value,
}
