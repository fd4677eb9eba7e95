"""Stack config as the Pulumi CLI hands it over, read from YAML files parsed once per content."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from localcloud.core import stack_files
from localcloud.core.stack_files import declared_config, load_stack_config

PROJECT = "name: demo\nconfig:\n  batchSize:\n    type: integer\n    default: 10\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT)
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  demo:batchSize: 20\n")
    return tmp_path


def test_unchanged_files_are_parsed_once_for_any_number_of_reads(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a project whose files are read many times (every program build under mocks reads them)
    parsed: list[str] = []
    real_load = yaml.load

    def counting_load(stream: bytes, Loader: type) -> object:  # noqa: N803 - yaml.load's keyword
        parsed.append(stream.decode()[:12])
        return real_load(stream, Loader=Loader)

    monkeypatch.setattr(stack_files.yaml, "load", counting_load)
    # WHEN the stack config and the declarations are read ten times each
    for _ in range(10):
        assert load_stack_config("dev", project)["demo:batchSize"] == "20"
        assert declared_config(project)["batchSize"]["default"] == 10
    # THEN each file was parsed once
    assert sorted(parsed) == sorted([PROJECT[:12], "config:\n  de"])


def test_a_file_changed_on_disk_is_read_again(project: Path) -> None:
    assert load_stack_config("dev", project)["demo:batchSize"] == "20"
    # WHEN the stack file changes (`pulumi config set` between two runs)
    (project / "Pulumi.dev.yaml").write_text("config:\n  demo:batchSize: 300\n")
    # THEN the next read has the new value
    assert load_stack_config("dev", project)["demo:batchSize"] == "300"


def test_a_caller_changing_what_it_read_changes_no_later_read(project: Path) -> None:
    declared = declared_config(project)
    declared["batchSize"]["default"] = 99
    declared.clear()
    assert declared_config(project)["batchSize"]["default"] == 10
