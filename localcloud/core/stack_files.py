"""Stack configuration exactly as the Pulumi CLI hands it to the program, for runs without the CLI.

The unit tests and localcloud run __main__.py without the Pulumi CLI, so they need the CLI's view of
config: Pulumi.yaml's declared defaults overlaid by Pulumi.<stack>.yaml, keys namespaced by the project's
name ("<project>:regions") or their provider's ("aws:region"), every value a string (lists and maps as
JSON). The project is the directory holding Pulumi.yaml: by default the one above localcloud/.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it: the pure-Python one took 0.3 s of each program build
# under mocks, which read Pulumi.yaml (about 70 declarations) five times, in each of the suite's builds.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_STACK = "local"  # the stack `up` and the demo deploy unless told


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    """The `name` Pulumi.yaml gives the project: the namespace of its own config keys."""
    return str(_project_file(project_dir)["name"])


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    """Stacks that have a Pulumi.<stack>.yaml beside Pulumi.yaml."""
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """Pulumi.yaml defaults overlaid by the stack file's values, as the CLI passes them."""
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise FileNotFoundError(f"no stack file {stack_file.name} in {project_dir} (stacks: {known})")
    project = _project_file(project_dir)
    values: dict[str, str] = {}
    for key, declaration in (project.get("config") or {}).items():
        if isinstance(declaration, dict) and "default" in declaration:
            values[_namespaced(key, project["name"])] = _wire(declaration["default"])
    stack_config = (_read_yaml(stack_file) or {}).get("config") or {}
    for key, value in stack_config.items():
        if isinstance(value, dict) and "secure" in value:
            raise ValueError(f"{stack_file.name}: {key} is encrypted; only the Pulumi CLI can decrypt it")
        values[_namespaced(key, project["name"])] = _wire(value)
    return values


def declared_config(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """Pulumi.yaml's config declarations, key (not namespaced) -> declaration."""
    return dict(_project_file(project_dir).get("config") or {})


def _read_yaml(path: Path) -> Any:
    """A YAML file's data, parsed once per content: callers get a fresh copy they may change."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _parsed(path: Path, mtime_ns: int, size: int) -> Any:
    return yaml.load(path.read_bytes(), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


def _project_file(project_dir: Path) -> dict[str, Any]:
    project: dict[str, Any] = _read_yaml(project_dir / "Pulumi.yaml")
    return project


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _wire(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
