"""KMS keys of a Pulumi program -> KMS API calls on the emulator."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import api_parameters


def create_key(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    kms = ctx.client("kms", region)
    metadata = kms.create_key(
        Description=inputs.get("description") or "", **api_parameters(inputs, {"policy": "Policy"})
    )["KeyMetadata"]
    if inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return metadata["KeyId"], {
        **inputs,
        "id": metadata["KeyId"],
        "keyId": metadata["KeyId"],
        "arn": metadata["Arn"],
    }


CREATORS: Registry = {"aws:kms/key:Key": create_key}
