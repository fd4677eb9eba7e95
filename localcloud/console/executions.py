"""Step Functions executions, read from the backend that runs them.

With `execute_state_machine` on (localcloud's emulator sets it) moto keeps state machines and
executions in its parser backend, whose executions hold their history events; without it (moto's
default, e.g. under `mock_aws`) in the plain backend, whose executions have no real history. Both are
read; a machine is in one of them.
"""

from __future__ import annotations

from typing import Any

from localcloud.console.backends import copied, enum_text, existing, iso_time

_RUNNING = "RUNNING"


def _backend_dicts() -> list[Any]:
    from moto.stepfunctions.models import stepfunctions_backends  # noqa: PLC0415 - moto is slow to import
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    return [stepfunctions_parser_backends, stepfunctions_backends]


def _machines() -> list[tuple[str, Any]]:
    return [
        (region, machine)
        for backends in _backend_dicts()
        for _, region, backend in existing(backends)
        for machine in copied(backend.state_machines)
    ]


def _executions_of(machine: Any) -> list[Any]:
    # An execution of a published version is kept by the version, not by the machine.
    versions = copied(getattr(machine, "versions", {}).values())
    return [*copied(machine.executions), *(run for version in versions for run in copied(version.executions))]


def _status(execution: Any) -> str:
    try:
        return enum_text(execution.status) or _RUNNING
    except AttributeError:  # the parser's execution before its worker started: no status object yet
        return _RUNNING


def execution_summary(execution: Any) -> dict[str, Any]:
    return {
        "arn": execution.execution_arn,
        "name": execution.name,
        "status": _status(execution),
        "started": iso_time(execution.start_date),
        "stopped": iso_time(execution.stop_date),
        "error": execution.error,
        "cause": execution.cause,
    }


def state_machines(limit: int) -> list[dict[str, Any]]:
    """Every state machine (by region, then name) with its `limit` latest executions, newest first, and
    how many it has in all."""
    found = []
    for region, machine in _machines():
        executions = sorted(
            (execution_summary(execution) for execution in _executions_of(machine)),
            key=lambda summary: summary["started"] or "",
            reverse=True,
        )
        found.append(
            {
                "arn": machine.arn,
                "name": machine.name,
                "region": region,
                "type": machine.type,
                "total": len(executions),
                "executions": executions[:limit],
            }
        )
    return sorted(found, key=lambda machine: (machine["region"], machine["name"]))


def _history_events(execution: Any) -> list[dict[str, Any]]:
    worker = getattr(execution, "exec_worker", None)
    if worker is None or getattr(worker, "env", None) is None:
        # The plain backend's executions make up a history; a parser execution not started has none.
        return []
    # The event manager copies its list under its own lock.
    events: list[dict[str, Any]] = execution.to_history_output()["events"]
    return events


def history_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per history event: id, time, type, the state it belongs to, and any error and cause.

    An event names its state only when it enters or leaves it; the others (task scheduled, failed...)
    belong to the state of the event they follow (previousEventId), which keeps Parallel and Map
    branches apart."""
    state_of: dict[Any, str | None] = {}
    rows = []
    for event in events:
        details = next(
            (
                value
                for key, value in event.items()
                if key.endswith("EventDetails") and isinstance(value, dict)
            ),
            {},
        )
        state = details.get("name") if event_type_names_state(event) else None
        if state is None:
            state = state_of.get(event.get("previousEventId"))
        state_of[event.get("id")] = state
        rows.append(
            {
                "id": event.get("id"),
                "timestamp": iso_time(event.get("timestamp")),
                "type": enum_text(event.get("type")),
                "state": state,
                "error": details.get("error"),
                "cause": details.get("cause"),
            }
        )
    return rows


def event_type_names_state(event: dict[str, Any]) -> bool:
    """Whether the event's details `name` is a state's (StateEntered/StateExited events), not e.g. an
    activity's or a Map Run's."""
    return bool(event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails"))


def execution_history(execution_arn: str) -> dict[str, Any] | None:
    """An execution's summary and its history rows, oldest first; None for an unknown ARN."""
    for _, machine in _machines():
        for execution in _executions_of(machine):
            if execution.execution_arn == execution_arn:
                return {
                    **execution_summary(execution),
                    "machine": machine.name,
                    "events": history_rows(_history_events(execution)),
                }
    return None
