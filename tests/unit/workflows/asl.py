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


# Step Functions' default when a Retrier leaves MaxAttempts out.
DEFAULT_MAX_ATTEMPTS = 3


def retrier_for(state: dict[str, Any], error: str) -> dict[str, Any] | None:
    """The Retrier Step Functions applies when `state` fails with `error`, or None when it is not retried.

    As Step Functions does: the first Retrier whose ErrorEquals matches wins (later ones are never
    consulted), States.ALL matches every error, States.TaskFailed every error but States.Timeout, and a
    matching Retrier with MaxAttempts 0 means no retry.
    """
    for retrier in state.get("Retry", []):
        names = retrier["ErrorEquals"]
        wildcard = "States.ALL" in names or ("States.TaskFailed" in names and error != "States.Timeout")
        if error in names or wildcard:
            return retrier if retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) > 0 else None
    return None


def backoff_problems(retrier: dict[str, Any]) -> list[str]:
    """What keeps a Retrier from being exponential backoff with full jitter (empty: it is)."""
    found = []
    if retrier.get("IntervalSeconds", 1) < 1:
        found.append("IntervalSeconds below 1 s")
    if retrier.get("BackoffRate", 2.0) <= 1:
        found.append("BackoffRate not above 1 (the interval never grows)")
    if retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) < 2:
        found.append("fewer than 2 attempts")
    if retrier.get("JitterStrategy") != "FULL":
        found.append("no full jitter")
    return found
