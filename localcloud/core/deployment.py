"""What provisioning records for the data planes that cannot read it back from the emulator.

Data planes read what they need (stream mappings, function URLs) from the emulator through the AWS API, so
a resource any client creates behaves like a deployed one. A few cannot: each such service keeps its own
record type here, one instance per deployment, and its module docstring says why (SQS event source
mappings that must not exist in moto, API Gateway definitions moto cannot serve, S3 replication rules
moto answers wrongly, the Redis servers standing in for ElastiCache). Core knows none of those types.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, TypeVar

Record = TypeVar("Record")


@dataclass(frozen=True, kw_only=True)
class SkippedResource:
    """A resource accepted without being created: its type has no meaning on one machine."""

    typ: str
    logical_name: str
    region: str | None


@dataclass(frozen=True, kw_only=True)
class DeployedResource:
    """A resource of the program as Pulumi registered it. Its URN names the component types it sits in
    (`urn:pulumi:<stack>::<project>::<parent type>$...$<type>::<name>`), which is how the console groups
    resources by the system they belong to without knowing the program."""

    urn: str
    typ: str
    logical_name: str
    region: str | None
    resource_id: str
    skipped: bool


class Deployment:
    """Every service's record of one deployment. Mutate and read records under `lock` only: resources are
    provisioned on several threads while the gateway serves requests."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.skipped: list[SkippedResource] = []
        self.resources: list[DeployedResource] = []  # every custom resource, in registration order
        self._records: dict[type[Any], Any] = {}

    def record(self, kind: type[Record]) -> Record:
        """The deployment's one record of type `kind` (a service's dataclass), created empty on first use."""
        with self.lock:
            found = self._records.get(kind)
            if found is None:
                found = self._records[kind] = kind()
            return found
