"""The whole program built once per stack file under recording mocks, shared by the component tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from localcloud.program import run_program
from localcloud.stack_files import load_stack_config, stack_names
from tests.unit.components.recording_mocks import RecordedResource, RecordingMocks

STACKS = stack_names()


@dataclass(frozen=True)
class BuiltStack:
    name: str
    config: dict[str, str]
    exports: dict[str, Any]
    resources: list[RecordedResource]
    invokes: list[str]  # data sources the program called

    def resources_of(self, typ: str, prefix: str = "") -> list[RecordedResource]:
        """Resources of a type, optionally only those whose logical name starts with `prefix`."""
        return [r for r in self.resources if r.typ == typ and r.name.startswith(prefix)]

    def named(self, logical_name: str) -> RecordedResource:
        matches = [resource for resource in self.resources if resource.name == logical_name]
        assert len(matches) == 1, f"expected one resource named {logical_name}, found {len(matches)}"
        return matches[0]

    def with_output(self, key: str, value: Any) -> RecordedResource:
        matches = [resource for resource in self.resources if resource.outputs.get(key) == value]
        assert len(matches) == 1, f"expected one resource with {key}={value!r}, found {len(matches)}"
        return matches[0]


_built: dict[str, BuiltStack] = {}


def build_stack(
    stack: str, config_overrides: dict[str, str] | None = None, *, config_stack: str | None = None
) -> BuiltStack:
    """The program under mocks for a stack file, with `pulumi config set`-style overrides; built once.

    config_stack builds a stack named `stack` from another stack file's config.
    """
    cache_key = f"{stack}:{config_stack}:{sorted((config_overrides or {}).items())}"
    if cache_key not in _built:
        mocks = RecordingMocks()
        exports = run_program(
            mocks, stack=stack, config_overrides=config_overrides, config_stack=config_stack
        )
        config = {**load_stack_config(config_stack or stack), **(config_overrides or {})}
        _built[cache_key] = BuiltStack(stack, config, exports, list(mocks.resources), list(mocks.invokes))
    return _built[cache_key]


@pytest.fixture(scope="session", params=STACKS)
def stack(request: pytest.FixtureRequest) -> BuiltStack:
    return build_stack(request.param)


@pytest.fixture(scope="session")
def primary_stack() -> BuiltStack:
    return build_stack("primary")


@pytest.fixture(scope="session")
def local_stack() -> BuiltStack:
    return build_stack("local")


@pytest.fixture(scope="session")
def chaos_stack() -> BuiltStack:
    """The primary stack with the FIS chaos experiment switched on."""
    return build_stack("primary", {"regionflow:failoverChaosExperiment": "true"})
