"""The house rules of the layout, checked on every import statement of the tree.

- handlers/ is Lambda code: it imports no pulumi, components, workflows, localcloud, demos, scripts or tests;
- the Pulumi program (components/, workflows/, __main__.py) reaches handlers/ only through the system
  contracts (`handlers.<system>.contract`) and the settings base (`handlers.environment`);
- localcloud/ is the emulator and regionflow its guest: it imports no components, handlers, workflows,
  scripts, demos or tests;
- nothing outside tests/ imports tests;
- no import circle anywhere, between modules (a lazy import inside a function counts) or between the
  handler systems (handlers/<system>/ as one node).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTRACT_MODULES = ("handlers.environment",)


def python_files(*roots: str, project: Path = PROJECT_DIR) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = project / root
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


FIRST_PARTY_ROOTS = (
    "components",
    "handlers",
    "workflows",
    "localcloud",
    "demos",
    "scripts",
    "bench",
    "samples",
    "__main__.py",
)


def module_name(path: Path, root: Path = PROJECT_DIR) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(roots: tuple[str, ...], root: Path = PROJECT_DIR) -> dict[str, set[str]]:
    """module -> the first-party modules it imports (a package stands for its __init__)."""
    paths = python_files(*roots, project=root)
    modules = {module_name(path, root) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        edges = graph.setdefault(module_name(path, root), set())
        for _, imported in imported_modules(path, root):
            # `import a.b.c` of a third-party or missing module walks up to nothing: not an edge.
            module = imported
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != module_name(path, root):
                edges.add(module)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                lowlink[node] = min(lowlink[node], lowlink[successor])
            elif successor in on_stack:
                lowlink[node] = min(lowlink[node], index[successor])
        if lowlink[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def handler_systems(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """handlers.<system> -> the other handler systems its modules import."""

    def system(module: str) -> str | None:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) >= 2 and parts[0] == "handlers" else None

    systems: dict[str, set[str]] = {}
    for module, imports in graph.items():
        source = system(module)
        if source:
            targets = {system(target) for target in imports} - {None, source}
            systems.setdefault(source, set()).update(target for target in targets if target)
    return systems


def test_no_module_import_circle_anywhere() -> None:
    assert circles(import_graph(FIRST_PARTY_ROOTS)) == []


def test_no_import_circle_between_handler_systems() -> None:
    assert circles(handler_systems(import_graph(("handlers",)))) == []


def test_a_lazy_import_circle_is_found(tmp_path: Path) -> None:
    # GIVEN two modules that import each other, one of them inside a function
    (tmp_path / "localcloud").mkdir()
    (tmp_path / "localcloud" / "gateway.py").write_text("from localcloud import rest_api\n")
    lazy_import = "def route():\n    from localcloud.gateway import X\n"
    (tmp_path / "localcloud" / "rest_api.py").write_text(lazy_import)
    (tmp_path / "localcloud" / "loop.py").write_text("import localcloud.gateway\n")
    # THEN the circle is reported, and the module that merely imports one of them is not in it
    assert circles(import_graph(("localcloud",), tmp_path)) == [["localcloud.gateway", "localcloud.rest_api"]]


def test_a_circle_between_handler_systems_is_found(tmp_path: Path) -> None:
    # GIVEN batch's trigger imports failover's reader, and failover's reconcile imports batch's state
    for module, source in (
        ("handlers/batch/trigger.py", "from handlers.failover import active_region\n"),
        ("handlers/batch/batch_state.py", ""),
        ("handlers/failover/active_region.py", ""),
        ("handlers/failover/reconcile.py", "from handlers.batch.batch_state import claim_batch\n"),
    ):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(source)
    # THEN the two systems form a circle though no module does
    graph = import_graph(("handlers",), tmp_path)
    assert circles(graph) == []
    assert circles(handler_systems(graph)) == [["handlers.batch", "handlers.failover"]]


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
