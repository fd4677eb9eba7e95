"""pulumi-random's RandomPassword: generated on the deploying machine, with no cloud API, as the provider
does (the program uses it for the ElastiCache AUTH token)."""

from __future__ import annotations

import secrets
import string
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import integer

DEFAULT_SPECIAL_CHARACTERS = "!@#$%&*()-_=+[]{}<>:?"


def generate_password(
    _ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    # Each character class is on unless the program turns it off.
    alphabet = "".join(
        characters
        for flag, characters in (
            ("upper", string.ascii_uppercase),
            ("lower", string.ascii_lowercase),
            ("numeric", string.digits),
            ("special", inputs.get("overrideSpecial") or DEFAULT_SPECIAL_CHARACTERS),
        )
        if inputs.get(flag, True) is not False
    )
    if not alphabet:
        raise ValueError("RandomPassword: upper, lower, numeric and special are all off")
    result = "".join(secrets.choice(alphabet) for _ in range(integer(inputs["length"])))
    return "none", {**inputs, "result": result}


CREATORS: Registry = {"random:index/randomPassword:RandomPassword": generate_password}
