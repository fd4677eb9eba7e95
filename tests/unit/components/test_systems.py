"""`systems` picks what a stack deploys: only the named systems (and what they need), nothing of the rest."""

from __future__ import annotations

import pytest

from components.config import SYSTEMS

from .conftest import BuiltStack, build_stack

# Each system's resources (logical names) and exports start with these; batch brings its failover signal
# and runbook, which it cannot run without.
RESOURCE_PREFIXES = {
    "transform": ("transform-",),
    "artifacts": ("artifacts-",),
    "batch": ("batch-", "failover-"),
    "audit": ("audit-",),
    "events": ("events-",),
}
EXPORT_PREFIXES = {
    "transform": ("transform",),
    "artifacts": ("artifact",),
    "batch": ("batch", "activeRegion", "failover"),
    "audit": ("audit",),
    "events": ("events",),
}
STACK_WIDE_EXPORTS = {"regions", "systems"}
# Shared by every system's functions, per region they run in: the handlers' dependency layers.
SHARED_RESOURCE_PREFIXES = ("lambda-dependencies-",)


def stack_of(systems: list[str], stack: str = "primary") -> BuiltStack:
    names = ", ".join(f'"{system}"' for system in systems)
    return build_stack(stack, {"regionflow:systems": f"[{names}]"})


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_stack_of_one_system_creates_and_exports_that_system_alone(system: str) -> None:
    # GIVEN the production stack told to deploy one system
    built = stack_of([system])
    # THEN every resource it creates is that system's (batch: with its failover signal and runbook)
    strangers = [
        resource.name
        for resource in built.resources
        if not resource.typ.startswith(("pulumi:", "regionflow:"))
        and not resource.name.startswith((*RESOURCE_PREFIXES[system], *SHARED_RESOURCE_PREFIXES))
    ]
    assert strangers == []
    assert [resource for resource in built.resources if resource.name.startswith(RESOURCE_PREFIXES[system])]
    # AND only its outputs are exported, with the systems it deployed
    assert {key for key in built.exports if not key.startswith(EXPORT_PREFIXES[system])} == STACK_WIDE_EXPORTS
    assert built.exports["systems"] == [system]


def test_the_default_deploys_every_system_and_says_so(primary_stack: BuiltStack) -> None:
    assert sorted(primary_stack.exports["systems"]) == sorted(SYSTEMS)
    for system, prefixes in EXPORT_PREFIXES.items():
        assert [key for key in primary_stack.exports if key.startswith(prefixes)], system


def test_the_waf_is_created_only_for_a_system_with_a_door_it_protects() -> None:
    # GIVEN apiWaf on a stack without artifacts and transform (the doors WAF can stand in front of)
    built = build_stack("primary", {"regionflow:apiWaf": "true", "regionflow:systems": '["audit", "events"]'})
    # THEN no web ACL is billed for nothing
    assert built.resources_of("aws:wafv2/webAcl:WebAcl") == []
    assert stack_of(["transform"]).resources_of("aws:wafv2/webAcl:WebAcl") == []
    protected = build_stack("primary", {"regionflow:apiWaf": "true", "regionflow:systems": '["transform"]'})
    assert len(protected.resources_of("aws:wafv2/webAcl:WebAcl")) == 1
