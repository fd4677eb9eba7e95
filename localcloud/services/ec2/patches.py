"""EC2 as far as localcloud serves it (VPCs, which private hosted zones name): moto loads ~900 public AMIs,
each with an EBS snapshot it names with random ids, into every region's backend it creates, ~0.4 s of a
deployment's one core per region. localcloud serves no AMI call, so the region starts without them.
"""

from __future__ import annotations

from typing import Any

from localcloud.core.moto_version import applied_once


@applied_once
def apply() -> None:
    """Idempotent: EC2 backends start without moto's catalogue of public AMIs."""
    from moto.ec2.models.amis import AmiBackend  # noqa: PLC0415 - moto is slow to import

    def no_public_amis(_backend: Any) -> None:
        return None

    AmiBackend._load_amis = no_public_amis  # type: ignore[assignment]
