"""What the batch cost benchmark takes from the primary stack built under recording mocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.asl_cost import (
    EXPRESS,
    STANDARD,
    StateMachineType,
)
from bench.batch_cost.settings import T
from localcloud.core.recording import build_stack


# ---- the stack -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackFacts:
    """What the deployed component declares, read from the stack built under recording mocks."""

    memory_mb: dict[str, int]  # handler module (validate_records, ...) -> MemorySize
    architecture: str
    records_per_chunk: int
    main_type: StateMachineType
    errors_table_replicas: int
    state_table_replicas: int


def _one(values: Iterable[T], what: str) -> T:
    distinct = set(values)
    if len(distinct) != 1:
        raise ValueError(f"expected one {what} across the stack's regions, got {sorted(map(str, distinct))}")
    return distinct.pop()


def stack_facts(stack: str) -> StackFacts:
    built = build_stack(stack)
    by_handler: dict[str, list[dict[str, Any]]] = {}
    for resource in built.resources_of("aws:lambda/function:Function"):
        handler = str(resource.inputs.get("handler", ""))
        if handler.startswith("handlers.batch."):
            by_handler.setdefault(handler.split(".")[2], []).append(resource.inputs)
    memory = {
        module: _one((int(inputs["memorySize"]) for inputs in functions), f"{module} memory size")
        for module, functions in by_handler.items()
    }
    architecture = _one(
        (
            arch
            for functions in by_handler.values()
            for inputs in functions
            for arch in inputs["architectures"]
        ),
        "architecture",
    )
    records_per_chunk = _one(
        (int(inputs["environment"]["variables"]["RECORDS_PER_CHUNK"]) for inputs in by_handler["split_file"]),
        "RECORDS_PER_CHUNK",
    )

    def machine_type(suffix: str) -> StateMachineType:
        kind = _one(
            (
                r.inputs["type"]
                for r in built.resources_of("aws:sfn/stateMachine:StateMachine")
                if r.name.endswith(suffix)
            ),
            f"type of {suffix}",
        )
        return EXPRESS if kind == EXPRESS else STANDARD

    def replicas(logical_name: str) -> int:
        return len(built.named(logical_name).inputs.get("replicas") or [])

    return StackFacts(
        memory_mb=memory,
        architecture=architecture,
        records_per_chunk=records_per_chunk,
        main_type=machine_type("-batch-workflow-machine"),
        errors_table_replicas=replicas("batch-errors"),
        state_table_replicas=replicas("batch-batch-state"),
    )
