"""SNS signs notifications with one key per region, as AWS does: every topic of a region signs with the
certificate its SigningCertURL names. moto generates a 2,048-bit RSA key for each subscription on its first
signed delivery (an SQS subscription without raw delivery, an HTTP one), ~50 ms of CPU each; a region's key
is now generated once and serves its every subscription.
"""

from __future__ import annotations

import functools
from typing import Any

from localcloud.core.moto_version import applied_once


@functools.cache
def regional_signing_key(region: str) -> Any:
    """The private key SNS signs `region`'s notifications with, made on first use. Two threads may both
    make one for a new region; each signs its own notification consistently, and one is kept."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415 - only once a delivery signs

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@applied_once
def apply() -> None:
    """Idempotent: subscriptions sign with their region's key."""
    from moto.sns.models import Subscription  # noqa: PLC0415 - moto is slow to import

    def private_key(self: Any) -> Any:
        return regional_signing_key(self.topic.sns_backend.region_name)

    Subscription.private_key = private_key  # type: ignore[assignment]
