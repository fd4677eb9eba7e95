"""Handler code ships under handlers/ everywhere; dependencies as a layer or bundled beside it."""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.lambda_packaging import LambdaPackaging, dependency_dir


def test_handler_code_is_archived_under_handlers_so_imports_match_pytest() -> None:
    archive = LambdaPackaging().code()
    assert set(archive.assets) == {"handlers"}
    handlers = archive.assets["handlers"]
    assert isinstance(handlers, pulumi.FileArchive)
    assert Path(handlers.path).name == "handlers"


def test_bundled_dependencies_join_the_package_root(tmp_path: Path) -> None:
    # GIVEN an installed dependency tree
    (tmp_path / "xmltodict.py").write_text("")
    (tmp_path / "aws_lambda_powertools").mkdir()
    (tmp_path / "__pycache__").mkdir()
    # WHEN a function bundles it
    archive = LambdaPackaging(bundled_dependencies=tmp_path).code()
    # THEN each top-level package or module sits at the root of the function's package
    assert set(archive.assets) == {"handlers", "xmltodict.py", "aws_lambda_powertools"}
    assert isinstance(archive.assets["xmltodict.py"], pulumi.FileAsset)


def test_dependency_dir_changes_when_the_requirements_change(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("xmltodict==1.0.4\n")
    first = dependency_dir(requirements, tmp_path)
    requirements.write_text("xmltodict==1.0.3\n")
    assert dependency_dir(requirements, tmp_path) != first
