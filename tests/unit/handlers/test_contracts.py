"""The system contracts are the one way across rooms: handlers read variables only through them, the
contracts stay importable by the Pulumi program, and the error names they declare are the ones raised."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import botocore.exceptions
import pytest
import redis
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from handlers.audit import contract as audit
from handlers.audit import redis_store
from handlers.batch import contract as batch
from handlers.batch import reconcile
from handlers.events import contract as events
from handlers.events import processor

HANDLERS_DIR = Path(__file__).resolve().parents[3] / "handlers"
CONTRACTS = sorted(HANDLERS_DIR.glob("*/contract.py"))
# Pure modules a contract may build on besides the standard library.
CONTRACT_MAY_IMPORT = {"handlers.environment", "handlers.transform.rules"}


def imports_of(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def is_stdlib(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in sys.stdlib_module_names or module == "__future__"


def test_every_system_has_a_contract() -> None:
    systems = {path.name for path in HANDLERS_DIR.iterdir() if (path / "__init__.py").exists()}
    assert {path.parent.name for path in CONTRACTS} == systems


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda path: path.parent.name)
def test_a_contract_imports_only_the_standard_library_and_other_pure_contract_modules(contract: Path) -> None:
    # The Pulumi program imports the contracts in a venv holding requirements.txt alone (no boto3,
    # no Powertools): a contract builds on the standard library and pure modules only.
    for module in sorted(imports_of(contract)):
        allowed = is_stdlib(module) or module in CONTRACT_MAY_IMPORT or module.endswith(".contract")
        assert allowed, f"{contract.relative_to(HANDLERS_DIR.parent)} imports {module}"
    for module in CONTRACT_MAY_IMPORT:
        path = HANDLERS_DIR.parent / (module.replace(".", "/") + ".py")
        assert all(is_stdlib(imported) for imported in imports_of(path)), module


def environment_reads(path: Path) -> list[str]:
    """`os.environ[...]`, `os.environ.get(...)` and `os.getenv(...)` in a module, by line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Subscript):
            read = ast.unparse(node.value) == "os.environ"
        elif isinstance(node, ast.Call):
            read = ast.unparse(node.func) in {"os.environ.get", "os.getenv"}
        else:
            continue
        if read:
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_handlers_read_their_variables_only_through_the_contracts() -> None:
    # Each handler hands os.environ to its settings contract (or to handlers.environment.runtime_region):
    # no variable is read by a name spelt out in a handler.
    modules = [path for path in sorted(HANDLERS_DIR.rglob("*.py")) if path.name != "environment.py"]
    assert [read for path in modules for read in environment_reads(path)] == []


def test_the_scan_sees_every_way_of_reading_a_variable(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('import os\na = os.environ["A"]\nb = os.environ.get("B")\nc = os.getenv("C")\n')
    assert environment_reads(probe) == ["probe.py:2", "probe.py:3", "probe.py:4"]


def test_the_errors_workflows_retry_by_name_are_the_ones_handlers_raise() -> None:
    # The runbook retries the reconciliation's error, the events workflow the processor's write conflict.
    assert reconcile.ReconcileIncompleteError is batch.ReconcileIncompleteError
    assert processor.WriteConflictError is events.WriteConflictError
    assert processor.PoisonEventError is events.PoisonEventError
    assert processor.IdempotencyKeyReusedError is events.IdempotencyKeyReusedError
    assert processor.EventOwnedByAnotherPrincipalError is events.EventOwnedByAnotherPrincipalError
    # Powertools' own error is named in the contract, which the Pulumi program imports without Powertools.
    assert IdempotencyAlreadyInProgressError.__name__ == events.IDEMPOTENCY_IN_PROGRESS_ERROR
    # Lambda reports an exception by its class name: the audit workflow's transient errors are these.
    raised_as_transient = {
        redis.exceptions.ConnectionError.__name__,
        redis.exceptions.TimeoutError.__name__,
        botocore.exceptions.ClientError.__name__,
        botocore.exceptions.EndpointConnectionError.__name__,
        redis_store.RedisUnavailableError.__name__,
        redis_store.RedisReadOnlyError.__name__,
    }
    assert set(audit.TRANSIENT_ERRORS) == raised_as_transient
