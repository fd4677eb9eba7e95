"""Every error a workflow retries or catches by name is AWS's own or declared by a system contract.

A handler's error name in a Retry or Catch is a string the handler never sees: spelt in the workflow, a
rename on either side would silently stop the retry. The names come from handlers/<system>/contract.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from handlers.artifacts import contract as artifacts
from handlers.audit import contract as audit
from handlers.batch import contract as batch
from handlers.events import contract as events
from tests.unit.workflows.asl import state_machines
from workflows import (
    active_active_events,
    audit_ingest,
    batch_processing,
    failover_runbook,
    file_distribution,
)

# The chunk processor is the batch workflow's Distributed Map item processor: walked inside it.
WORKFLOWS = (
    active_active_events,
    audit_ingest,
    batch_processing,
    failover_runbook,
    file_distribution,
)
# Errors Step Functions and the AWS services it integrates report themselves.
AWS_ERROR_PREFIXES = ("States.", "Lambda.", "StepFunctions.", "DynamoDB.", "SNS.", "SQS.")
CONTRACT_ERRORS = {
    *artifacts.COPY_TRANSIENT_ERRORS,
    *batch.TRANSIENT_ERRORS,
    batch.ReconcileIncompleteError.__name__,
    batch.ReconcileMarkStuckError.__name__,
    events.WriteConflictError.__name__,
    events.IDEMPOTENCY_IN_PROGRESS_ERROR,
    *audit.TRANSIENT_ERRORS,
}


def definition_of(workflow: ModuleType) -> dict[str, Any]:
    """The workflow's definition, every required input a placeholder."""
    parameters = inspect.signature(workflow.build_definition).parameters
    inputs = {
        name: f"<{name}>" for name, parameter in parameters.items() if parameter.default is parameter.empty
    }
    definition: dict[str, Any] = workflow.build_definition(**inputs)
    return definition


def named_errors(definition: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(state, error name) of every Retry and Catch in the definition and its nested machines."""
    for where, machine in state_machines(definition):
        for name, state in machine["States"].items():
            for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
                for error in rule["ErrorEquals"]:
                    yield f"{where}/{name}", error


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_errors_named_in_retries_and_catches_are_aws_or_contract_errors(workflow: ModuleType) -> None:
    undeclared = [
        f"{where}: {error}"
        for where, error in named_errors(definition_of(workflow))
        if not error.startswith(AWS_ERROR_PREFIXES) and error not in CONTRACT_ERRORS
    ]
    assert undeclared == []


def test_each_contract_error_is_retried_where_its_system_runs_it() -> None:
    retried = {
        workflow.__name__.rsplit(".", 1)[1]: {error for _, error in named_errors(definition_of(workflow))}
        for workflow in WORKFLOWS
    }
    assert {batch.ReconcileIncompleteError.__name__, batch.ReconcileMarkStuckError.__name__} <= retried[
        "failover_runbook"
    ]
    assert {events.WriteConflictError.__name__, events.IDEMPOTENCY_IN_PROGRESS_ERROR} <= retried[
        "active_active_events"
    ]
    assert set(audit.TRANSIENT_ERRORS) <= retried["audit_ingest"]
    assert set(batch.TRANSIENT_ERRORS) <= retried["batch_processing"]
    assert set(artifacts.COPY_TRANSIENT_ERRORS) <= retried["file_distribution"]
