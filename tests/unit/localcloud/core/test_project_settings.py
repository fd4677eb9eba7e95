"""localcloud reads its settings for a project from the [tool.localcloud] table of its pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.core.project_settings import ProjectSettings, load_project_settings
from localcloud.core.stack_files import PROJECT_DIR, project_name


def test_this_project_names_its_redis_endpoint_setting() -> None:
    settings = load_project_settings(PROJECT_DIR)
    assert settings.redis_endpoint_settings == (f"{project_name()}:auditRedisEndpoint",)


def test_a_project_without_the_table_gets_the_defaults(tmp_path: Path) -> None:
    assert load_project_settings(tmp_path) == ProjectSettings()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_project_settings(tmp_path) == ProjectSettings()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('redis-endpoint-setting = ["x:y"]', "unknown"),
        ('redis-endpoint-settings = ["noNamespace"]', "config keys"),
        ('redis-endpoint-settings = "x:y"', "config keys"),
    ],
)
def test_a_misspelt_or_malformed_table_fails_naming_it(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.localcloud]\n{table}\n")
    with pytest.raises(ValueError, match=message):
        load_project_settings(tmp_path)
