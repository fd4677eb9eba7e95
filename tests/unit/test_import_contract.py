"""The house rules of the layout, checked on every import statement of the tree.

- handlers/ is Lambda code: it imports no pulumi, components, workflows, localcloud, demos, scripts or tests;
- the Pulumi program (components/, workflows/, __main__.py) reaches handlers/ only through the system
  contracts (`handlers.<system>.contract`) and the settings base (`handlers.environment`);
- localcloud/ is the emulator and regionflow its guest: it imports no components, handlers, workflows,
  scripts, demos or tests;
- nothing outside tests/ imports tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTRACT_MODULES = ("handlers.environment",)


def python_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = PROJECT_DIR / root
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return [file for file in files if "__pycache__" not in file.parts]


def imported_modules(path: Path, root: Path = PROJECT_DIR) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import in a file; `from package import module` names the module."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                submodule = root.joinpath(*base.split("."), alias.name)
                is_module = submodule.with_suffix(".py").exists() or (submodule / "__init__.py").exists()
                yield node.lineno, f"{base}.{alias.name}" if is_module else base


def top(module: str) -> str:
    return module.split(".", 1)[0]


def is_contract(module: str) -> bool:
    parts = module.split(".")
    return module in CONTRACT_MODULES or (
        len(parts) >= 3 and parts[0] == "handlers" and parts[2] == "contract"
    )


def violations(roots: tuple[str, ...], allowed: object) -> list[str]:
    found = []
    for path in python_files(*roots):
        for line, module in imported_modules(path):
            if not allowed(module):  # type: ignore[operator]
                found.append(f"{path.relative_to(PROJECT_DIR)}:{line} imports {module}")
    return found


def test_handlers_import_no_pulumi_program_emulator_or_tests() -> None:
    forbidden = {"pulumi", "pulumi_aws", "components", "workflows", "localcloud", "demos", "scripts", "tests"}
    assert violations(("handlers",), lambda module: top(module) not in forbidden) == []


def test_the_program_reaches_handlers_only_through_contracts() -> None:
    def allowed(module: str) -> bool:
        if top(module) in {"localcloud", "demos", "scripts", "tests", "boto3", "botocore"}:
            return False
        return top(module) != "handlers" or is_contract(module)

    assert violations(("components", "workflows", "__main__.py"), allowed) == []


def test_localcloud_imports_no_regionflow_code() -> None:
    forbidden = {"components", "handlers", "workflows", "scripts", "demos", "tests", "bench", "samples"}
    assert violations(("localcloud",), lambda module: top(module) not in forbidden) == []


@pytest.mark.parametrize(
    "root", ["components", "handlers", "workflows", "localcloud", "demos", "scripts", "bench", "samples"]
)
def test_nothing_outside_tests_imports_tests(root: str) -> None:
    if not (PROJECT_DIR / root).exists():
        pytest.fail(f"{root}/ is missing: the layout changed, update this test")
    assert violations((root,), lambda module: top(module) != "tests") == []


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    # GIVEN a handler module that imports pulumi, a component and a sibling module, three ways
    for module in ("handlers/__init__.py", "handlers/audit/__init__.py", "handlers/audit/contract.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("")
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "function.py").write_text("")
    probe = tmp_path / "handlers" / "audit" / "probe.py"
    probe.write_text(
        "import pulumi\nfrom components import function\nfrom . import contract\nfrom .contract import X\n"
    )
    # THEN each import is named by the module it reaches, relative ones resolved
    assert [module for _, module in imported_modules(probe, tmp_path)] == [
        "pulumi",
        "components.function",
        "handlers.audit.contract",
        "handlers.audit.contract",
    ]
    # AND a violation is reported with its place
    assert not is_contract("handlers.audit.redis_store") and is_contract("handlers.audit.contract")
