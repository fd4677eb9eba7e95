"""House style that ruff cannot check: names say what they are, and the tree logs one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.unit.test_import_contract import PROJECT_DIR, python_files

CODE_ROOTS = (
    "components",
    "handlers",
    "workflows",
    "localcloud",
    "demos",
    "scripts",
    "bench",
    "samples",
    "tests",
    "__main__.py",
)
# The one name a module's logger has: Powertools' `logger = Logger(...)` in handlers, the standard
# library's `logger = logging.getLogger(__name__)` elsewhere.
LOGGER_ASSIGNMENT = re.compile(r"^(\w+) = (?:logging\.getLogger|Logger)\(", re.MULTILINE)


def one_letter_parameters(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            parameters += [parameter for parameter in (arguments.vararg, arguments.kwarg) if parameter]
            name = getattr(node, "name", "lambda")
            found += [
                f"{path.relative_to(PROJECT_DIR)}:{node.lineno} {name}({parameter.arg})"
                for parameter in parameters
                if len(parameter.arg) == 1 and parameter.arg != "_"
            ]
    return found


def test_no_parameter_has_a_one_letter_name() -> None:
    assert [found for path in python_files(*CODE_ROOTS) for found in one_letter_parameters(path)] == []


def test_every_module_logger_is_named_logger() -> None:
    names = {
        f"{path.relative_to(PROJECT_DIR)}: {name}"
        for path in python_files(*CODE_ROOTS)
        for name in LOGGER_ASSIGNMENT.findall(path.read_text())
        if name != "logger"
    }
    assert names == set()


def test_the_scans_see_what_they_forbid(tmp_path: Path) -> None:
    # GIVEN a module with a one-letter parameter in a function and a lambda, and a logger named log
    probe = PROJECT_DIR / "build" / "house-style-probe.py"
    probe.parent.mkdir(exist_ok=True)
    probe.write_text(
        "import logging\nlog = logging.getLogger(__name__)\ndef f(x, *, y=1): return lambda z: z\n"
    )
    try:
        # THEN both are found
        assert one_letter_parameters(probe) == [
            "build/house-style-probe.py:3 f(x)",
            "build/house-style-probe.py:3 f(y)",
            "build/house-style-probe.py:3 lambda(z)",
        ]
        assert LOGGER_ASSIGNMENT.findall(probe.read_text()) == ["log"]
    finally:
        probe.unlink()
