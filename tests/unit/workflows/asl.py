"""Structural checks every workflow definition must pass (Amazon States Language)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TERMINAL_TYPES = {"Succeed", "Fail"}


def state_machines(definition: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The definition and every nested machine (Map processors, Parallel branches), with a locator."""
    yield path or "<root>", definition
    for name, state in definition["States"].items():
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from state_machines(processor, f"{path}/{name}")
        for index, branch in enumerate(state.get("Branches", [])):
            yield from state_machines(branch, f"{path}/{name}[{index}]")


def problems(definition: dict[str, Any]) -> list[str]:
    """Every rule the house sets for a definition that this one breaks (empty: it is sound)."""
    found: list[str] = []
    for where, machine in state_machines(definition):
        states = machine["States"]
        if machine["StartAt"] not in states:
            found.append(f"{where}: StartAt {machine['StartAt']!r} is not a state")
        for name, state in states.items():
            targets = [
                state.get("Next"),
                state.get("Default"),
                *(choice.get("Next") for choice in state.get("Choices", [])),
                *(catch.get("Next") for catch in state.get("Catch", [])),
            ]
            found += [
                f"{where}/{name}: goes to missing state {t!r}" for t in targets if t and t not in states
            ]
            if len(name) > 80:
                found.append(f"{where}/{name}: state names are limited to 80 characters")
            ends = state.get("End") or state["Type"] in TERMINAL_TYPES or state["Type"] == "Choice"
            if not ends and not state.get("Next"):
                found.append(f"{where}/{name}: neither Next nor End")
            if state["Type"] in ("Task", "Map", "Parallel"):
                if state["Type"] == "Task" and not state.get("Retry"):
                    found.append(f"{where}/{name}: a Task without Retry")
                if not state.get("Catch"):
                    found.append(f"{where}/{name}: no Catch to an error path")
            for retry in state.get("Retry", []):
                if retry.get("BackoffRate", 1) < 1 or retry.get("JitterStrategy") != "FULL":
                    found.append(f"{where}/{name}: retry without exponential backoff and full jitter")
        reachable = _reachable(machine)
        found += [f"{where}/{name}: unreachable" for name in states if name not in reachable]
    return found


def _reachable(machine: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = [machine["StartAt"]]
    while pending:
        name = pending.pop()
        if name in seen or name not in machine["States"]:
            continue
        seen.add(name)
        state = machine["States"][name]
        pending += [t for t in (state.get("Next"), state.get("Default")) if t]
        pending += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    return seen
