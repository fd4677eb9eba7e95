"""Programs run under localcloud's mocks: what the runner spares them without changing what they declare."""

from __future__ import annotations

import traceback
from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource as pulumi_resource

from localcloud.core.program import run_inline_program
from localcloud.core.recording import RecordingMocks


def test_resources_register_without_a_walk_of_the_python_stack_each(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[traceback.StackSummary] = []
    walk = traceback.extract_stack

    def counted_walk(*args: Any, **kwargs: Any) -> traceback.StackSummary:
        walks.append(walk(*args, **kwargs))
        return walks[-1]

    monkeypatch.setattr(traceback, "extract_stack", counted_walk)
    sdk_stack_trace = pulumi_resource._get_stack_trace
    mocks = RecordingMocks()

    # GIVEN a program declaring three resources
    def program() -> None:
        for number in range(3):
            pulumi.CustomResource("test:index:Thing", f"thing-{number}", {"size": number})

    # WHEN it runs under the mocks
    run_inline_program(mocks, program, stack="test", project="test")
    # THEN each was registered with its inputs, and the SDK never walked the stack to say where
    assert sorted((r.name, r.inputs["size"]) for r in mocks.resources) == [
        ("thing-0", 0),
        ("thing-1", 1),
        ("thing-2", 2),
    ]
    assert walks == []
    # AND the SDK's own stack trace is back once the run is over
    assert pulumi_resource._get_stack_trace is sdk_stack_trace
