"""SNS signs notifications with one key per region, as AWS does: every topic of a region signs with the
certificate its SigningCertURL names. moto generates a 2,048-bit RSA key for each subscription on its first
signed delivery (an SQS subscription without raw delivery, an HTTP one), ~50 ms of CPU each; a region's key
is now generated once and serves its every subscription.
"""

from __future__ import annotations

import threading
from typing import Any

from localcloud.core.moto_version import applied_once

_regional_keys: dict[str, Any] = {}
_regional_keys_lock = threading.Lock()


def regional_signing_key(region: str, generate: Any) -> Any:
    """The private key SNS signs `region`'s notifications with, made by `generate()` on first use."""
    with _regional_keys_lock:
        if region not in _regional_keys:
            _regional_keys[region] = generate()
        return _regional_keys[region]


@applied_once
def apply() -> None:
    """Idempotent: subscriptions sign with their region's key."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    from moto.sns.models import Subscription  # noqa: PLC0415 - moto is slow to import

    def generate() -> Any:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def private_key(self: Any) -> Any:
        return regional_signing_key(self.topic.sns_backend.region_name, generate)

    Subscription.private_key = private_key  # type: ignore[assignment]
