"""The stacks the policy rules check, each built once under recording mocks (localcloud.core.recording).

Both stack files as they are, and the primary stack with its AWS options on, so that what an option adds
(a web ACL, the chaos experiment's role) is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from localcloud.core.recording import BuiltStack, build_stack

# label -> (stack file, config overrides)
POLICY_STACKS: dict[str, tuple[str, dict[str, str]]] = {
    "local": ("local", {}),
    "primary": ("primary", {}),
    "primary+options": (
        "primary",
        {"regionflow:apiWaf": "true", "regionflow:failoverChaosExperiment": "true"},
    ),
}


@dataclass(frozen=True)
class PolicyStack:
    label: str  # what exception patterns name it by: "<label>/<finding>"
    built: BuiltStack


def policy_stack(label: str) -> PolicyStack:
    stack_file, overrides = POLICY_STACKS[label]
    return PolicyStack(label, build_stack(stack_file, overrides or None))


@pytest.fixture(scope="session", params=list(POLICY_STACKS))
def stack(request: pytest.FixtureRequest) -> PolicyStack:
    return policy_stack(request.param)


@pytest.fixture(scope="session")
def all_stacks() -> list[PolicyStack]:
    return [policy_stack(label) for label in POLICY_STACKS]
