"""SSM documents of a Pulumi program (e.g. a failover runbook) -> SSM API calls on the emulator."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry


def create_document(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=128)
    ctx.client("ssm", region).create_document(
        Name=name,
        Content=inputs["content"],
        DocumentType=inputs.get("documentType") or "Command",
        DocumentFormat=inputs.get("documentFormat") or "JSON",
    )
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": ctx.regional_arn("ssm", region, f"document/{name}"),
    }


CREATORS: Registry = {"aws:ssm/document:Document": create_document}
