"""SES (v2) email identities of a Pulumi program -> SES API calls on the emulator. moto keeps every email
sent; LocalCloud.sent_emails() reads them back."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry


def create_email_identity(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    identity = inputs["emailIdentity"]
    ctx.client("sesv2", region).create_email_identity(EmailIdentity=identity)
    return identity, {
        **inputs,
        "id": identity,
        "arn": ctx.regional_arn("ses", region, f"identity/{identity}"),
        "identityType": "EMAIL_ADDRESS" if "@" in identity else "DOMAIN",
        "verifiedForSendingStatus": True,
    }


CREATORS: Registry = {"aws:sesv2/emailIdentity:EmailIdentity": create_email_identity}
