"""KMS keys made as fast as AWS makes them: moto generates a 2,048-bit RSA key pair for every key it
creates, symmetric ones included, which never sign or verify. A stack's keys each cost ~100 ms of the one
core a deployment runs on. The pair is now generated on first use (Sign, Verify, GetPublicKey), so a
symmetric key never pays for it and an asymmetric one behaves as before.
"""

from __future__ import annotations

import threading
from typing import Any

from localcloud.core.moto_version import applied_once


class KeyPairOnFirstUse:
    """Stands in for moto's private key object: made by `generate` when first used."""

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None
        self._made = threading.Lock()

    @property
    def made(self) -> bool:
        return self._key is not None

    def generated(self) -> Any:
        with self._made:
            if self._key is None:
                self._key = self._generate(self._key_spec)
            return self._key

    def __getattr__(self, name: str) -> Any:
        return getattr(self.generated(), name)


@applied_once
def apply() -> None:
    """Idempotent: each KMS key's private key pair is generated when a call first needs it."""
    from moto.kms import models  # noqa: PLC0415 - moto is slow to import

    generate_private_key = models.generate_private_key

    def key_pair_on_first_use(key_spec: str) -> KeyPairOnFirstUse:
        return KeyPairOnFirstUse(generate_private_key, key_spec)

    models.generate_private_key = key_pair_on_first_use  # type: ignore[assignment]
