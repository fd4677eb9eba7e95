"""Fixtures: the whole program built once per stack file under recording mocks (localcloud.core.recording)."""

from __future__ import annotations

import pytest

from localcloud.core.program import run_program
from localcloud.core.recording import BuiltStack, RecordedResource, RecordingMocks, build_stack
from localcloud.core.stack_files import stack_names

__all__ = ["STACKS", "BuiltStack", "RecordedResource", "RecordingMocks", "build_stack", "run_program"]

STACKS = stack_names()


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
