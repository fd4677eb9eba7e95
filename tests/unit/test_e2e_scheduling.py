"""The e2e modules on the default configuration share one deployment: one worker gets them together."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import SHARED_STACK_SCOPE, SharedStackScheduling
from tests.e2e import conftest as e2e_conftest
from tests.e2e.conftest import SHARED_STACK_MODULES
from tests.unit.test_import_contract import PROJECT_DIR


def uses_the_default_cloud(module: Path) -> bool:
    """A test takes a `cloud` argument and the module does not define a `cloud` fixture of its own."""
    tree = ast.parse(module.read_text())
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    own_fixture = any(function.name == "cloud" for function in functions)
    takes_cloud = any(argument.arg == "cloud" for function in functions for argument in function.args.args)
    return takes_cloud and not own_fixture


def scope_of(nodeid: str) -> str:
    scheduler: Any = SharedStackScheduling.__new__(SharedStackScheduling)  # _split_scope reads no state
    return str(scheduler._split_scope(nodeid))


def test_the_shared_modules_are_exactly_those_on_the_default_cloud() -> None:
    modules = sorted((PROJECT_DIR / "tests" / "e2e").glob("test_*.py"))
    default = {str(module.relative_to(PROJECT_DIR)) for module in modules if uses_the_default_cloud(module)}
    assert default == SHARED_STACK_MODULES


def test_the_shared_modules_are_one_unit_of_work_and_every_other_module_its_own() -> None:
    # GIVEN tests of two sharing modules, a module with its own stack and a unit module
    shared = ["tests/e2e/test_audit_e2e.py::test_a", "tests/e2e/test_iam_e2e.py::test_b[0]"]
    own = "tests/e2e/test_failover_e2e.py::test_c"
    unit = "tests/unit/test_house_style.py::test_d"
    # WHEN the scheduler splits them into units of work
    # THEN the sharing modules are one unit, the others one per module, as with --dist loadfile
    assert {scope_of(nodeid) for nodeid in shared} == {SHARED_STACK_SCOPE}
    assert scope_of(own) == "tests/e2e/test_failover_e2e.py"
    assert scope_of(unit) == "tests/unit/test_house_style.py"


class StackSpy:
    def __init__(self) -> None:
        self.stops = 0

    def stop(self) -> None:
        self.stops += 1


def item_of(module: str) -> Any:
    return SimpleNamespace(path=PROJECT_DIR / module, config=SimpleNamespace(rootpath=PROJECT_DIR))


@pytest.mark.parametrize(
    ("next_module", "stops"),
    [
        ("tests/e2e/test_iam_e2e.py", 0),
        ("tests/unit/handlers/events/test_api.py", 1),
        ("tests/e2e/test_failover_e2e.py", 1),
        (None, 1),
    ],
    ids=["next-shares-it", "next-is-a-unit-test", "next-has-its-own-stack", "last-test"],
)
def test_the_shared_stack_stops_as_soon_as_the_next_test_is_not_one_of_its_modules(
    monkeypatch: pytest.MonkeyPatch, next_module: str | None, stops: int
) -> None:
    # GIVEN the shared stack running under a test of one of its modules
    spy = StackSpy()
    monkeypatch.setattr(e2e_conftest, "SHARED_STACK", spy)
    current = item_of("tests/e2e/test_audit_e2e.py")
    nextitem = item_of(next_module) if next_module else None
    # WHEN that test's teardown ends
    teardown = e2e_conftest.pytest_runtest_teardown(current, nextitem)
    next(teardown)
    with pytest.raises(StopIteration):
        teardown.send(None)
    # THEN the stack stopped unless the next test shares it (moto's state would leak into it otherwise)
    assert spy.stops == stops
