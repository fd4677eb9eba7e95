"""The stack as Pulumi sees it: its outputs, and its resources grouped by the system they belong to.

A resource's system is the outermost component in its URN's parent chain
(`urn:pulumi:<stack>::<project>::<outer>$<inner>$<type>::<name>`): its type token's package and module
(`regionflow:batch:BatchOrchestrator` -> `regionflow:batch`), so a program's components that share a
module (a system's orchestrator and its per-region parts) form one group. Resources declared outside any
component are the stack's own. Nothing here knows the program.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from localcloud.core.deployment import DeployedResource

STACK_GROUP = "(stack)"  # resources declared at the program's top level, in no component
STACK_TYPE = "pulumi:pulumi:Stack"


def outputs(exports: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each output as `pulumi stack output` names it, its value as text (JSON for lists and maps)."""
    return [
        {"name": name, "value": value if isinstance(value, str) else json.dumps(value, sort_keys=True)}
        for name, value in sorted(exports.items())
    ]


def type_chain(urn: str) -> list[str]:
    """The type tokens of a URN from the outermost parent to the resource's own type."""
    parts = urn.split("::", 3)
    if len(parts) < 4:
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    # The engine leaves the stack out of its children's URNs; a mock's URN may name it.
    return [token for token in parts[2].split("$") if token != STACK_TYPE]


def system_of(urn: str) -> tuple[str, str | None]:
    """(system, outermost component type): the system is the outermost component's `package:module`;
    STACK_GROUP and None for a resource in no component."""
    chain = type_chain(urn)
    if len(chain) == 1:
        return STACK_GROUP, None
    outermost = chain[0]
    package, _, rest = outermost.partition(":")
    module = rest.partition(":")[0]
    return (f"{package}:{module}" if module else package), outermost


def resources_by_system(resources: Iterable[DeployedResource]) -> list[dict[str, Any]]:
    """Groups, by system name (the stack's own last): count, the outermost component types seen, and
    each resource's type, logical name, region, physical id and whether localcloud skipped it."""
    groups: dict[str, dict[str, Any]] = {}
    for resource in resources:
        system, component = system_of(resource.urn)
        group = groups.setdefault(system, {"system": system, "components": set(), "resources": []})
        if component is not None:
            group["components"].add(component)
        group["resources"].append(
            {
                "type": resource.typ,
                "name": resource.logical_name,
                "region": resource.region,
                "id": resource.resource_id,
                "skipped": resource.skipped,
            }
        )
    ordered = sorted(groups.values(), key=lambda group: (group["system"] == STACK_GROUP, group["system"]))
    return [
        {
            "system": group["system"],
            "components": sorted(group["components"]),
            "count": len(group["resources"]),
            "resources": sorted(group["resources"], key=lambda item: (item["type"], item["name"])),
        }
        for group in ordered
    ]
