"""localcloud's settings for the project it runs: the [tool.localcloud] table of its pyproject.toml.

    [tool.localcloud]
    redis-endpoint-settings = ["<project>:someRedisEndpoint"]

redis-endpoint-settings names config keys whose value is a Redis `host:port` the program expects to exist
outside the stack (a cache the stack does not create, e.g. one run beside LocalStack). For each such key
the stack sets, LocalCloud starts a real Valkey server and hands the program its endpoint instead.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.core.stack_files import PROJECT_DIR


@dataclass(frozen=True, kw_only=True)
class ProjectSettings:
    redis_endpoint_settings: tuple[str, ...] = ()


def load_project_settings(project_dir: Path = PROJECT_DIR) -> ProjectSettings:
    """The project's [tool.localcloud] settings; defaults when it has no pyproject.toml or no table."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.exists():
        return ProjectSettings()
    table: dict[str, Any] = tomllib.loads(pyproject.read_text()).get("tool", {}).get("localcloud", {})
    unknown = set(table) - {"redis-endpoint-settings"}
    if unknown:
        raise ValueError(f"{pyproject}: unknown [tool.localcloud] settings {sorted(unknown)}")
    settings = table.get("redis-endpoint-settings", [])
    if not isinstance(settings, list) or not all(isinstance(key, str) and ":" in key for key in settings):
        raise ValueError(
            f"{pyproject}: [tool.localcloud] redis-endpoint-settings must list config keys such as "
            f'"myproject:cacheEndpoint", got {settings!r}'
        )
    return ProjectSettings(redis_endpoint_settings=tuple(settings))
