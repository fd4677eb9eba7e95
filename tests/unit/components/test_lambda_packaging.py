"""Handler code ships under handlers/ everywhere; dependencies as a layer or bundled beside it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pulumi

from components.lambda_packaging import (
    HANDLERS_DIR as HANDLERS,
)
from components.lambda_packaging import (
    RUNTIME_PROVIDED_PACKAGES,
    LambdaPackaging,
    dependency_dir,
    handler_sources,
    install_dependencies,
)
from localcloud.core.recording import BuiltStack
from localcloud.services.lambda_.packaging import build_zip


def test_handler_code_is_archived_under_handlers_so_imports_match_pytest() -> None:
    archive = LambdaPackaging().code()
    assert set(archive.assets) == {"handlers"}
    names = zip_names(archive)
    assert "handlers/__init__.py" in names
    assert "handlers/transform/upload_api.py" in names


def test_code_archive_ships_handler_sources_only_no_caches_tests_or_build_inputs(tmp_path: Path) -> None:
    # GIVEN a handlers tree with what a developer's machine leaves beside the sources
    handlers = tmp_path / "handlers"
    (handlers / "transform" / "__pycache__").mkdir(parents=True)
    (handlers / "transform" / "__pycache__" / "upload_api.cpython-313.pyc").write_bytes(b"\0")
    (handlers / "transform" / "tests").mkdir()
    (handlers / "transform" / "tests" / "test_upload.py").write_text("")
    (handlers / "transform" / "test_rules.py").write_text("")
    (handlers / "conftest.py").write_text("")
    (handlers / "requirements.txt").write_text("xmltodict\n")
    (handlers / "__init__.py").write_text("")
    (handlers / "transform" / "__init__.py").write_text("")
    (handlers / "transform" / "upload_api.py").write_text("")
    # AND a page's files, with an editor's backup and a note beside them
    (handlers / "transform" / "static").mkdir()
    for name in ("upload_page.html", "upload_page.js", "upload_page.css", "upload_page.js~", "NOTES.md"):
        (handlers / "transform" / "static" / name).write_text("")
    (handlers / "transform" / "draft.html").write_text("")
    # WHEN the sources to ship are listed THEN only the modules and the page's own files remain
    assert [p.relative_to(handlers).as_posix() for p in handler_sources(handlers)] == [
        "__init__.py",
        "transform/__init__.py",
        "transform/static/upload_page.css",
        "transform/static/upload_page.html",
        "transform/static/upload_page.js",
        "transform/upload_api.py",
    ]


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


def test_a_bundle_never_carries_the_aws_sdk_the_runtime_provides(tmp_path: Path) -> None:
    # GIVEN a dependency tree into which pip pulled botocore (aws-xray-sdk asks for it) and more
    for entry in ("botocore", "botocore-1.44.18.dist-info", "boto3", "s3transfer", "bin", "redis"):
        (tmp_path / entry).mkdir()
    # WHEN a function bundles it THEN the runtime's SDK is not shadowed
    archive = LambdaPackaging(bundled_dependencies=tmp_path).code()
    assert set(archive.assets) == {"handlers", "redis"}


def test_dependency_dir_changes_when_the_requirements_change(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("xmltodict==1.0.4\n")
    first = dependency_dir(requirements, tmp_path)
    requirements.write_text("xmltodict==1.0.3\n")
    assert dependency_dir(requirements, tmp_path) != first


def zip_names(archive: pulumi.Archive) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(build_zip(archive))).namelist()


def test_every_deployed_function_package_lists_handler_modules_and_nothing_else(stack: BuiltStack) -> None:
    # GIVEN each function's code archive as the program hands it to the provider
    for function in stack.resources_of("aws:lambda/function:Function"):
        names = zip_names(function.inputs["code"])
        handler_files = [n for n in names if n.startswith("handlers/")]
        # THEN the handler part is exactly the handler sources: modules, no caches, tests or build inputs
        assert handler_files == sorted(
            f"handlers/{p.relative_to(HANDLERS).as_posix()}" for p in handler_sources()
        )
        assert all(n.endswith(".py") or "/static/" in n for n in handler_files)
        # AND nothing else but bundled dependencies, never the AWS SDK the runtime provides
        top_levels = {n.split("/", 1)[0].split("-", 1)[0] for n in names}
        assert not top_levels & set(RUNTIME_PROVIDED_PACKAGES), function.name
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")], function.name


def test_dependency_layer_holds_the_handler_requirements_for_python_3_13_without_the_sdk() -> None:
    # GIVEN handlers/requirements.txt installed for Lambda's platform, as every deployment of the program
    # does (`pulumi up` and localcloud alike; kept in build/ between runs)
    layer = install_dependencies() / "python"
    top_levels = sorted(entry.name for entry in layer.iterdir())
    packages = {name for name in top_levels if not name.endswith((".dist-info", ".so"))}
    # THEN it holds exactly our runtime dependencies (and theirs) for cp313 / manylinux x86_64
    assert packages == {
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "awscrt",
        "dateutil",
        "fastjsonschema",
        "jmespath",
        "redis",
        "six.py",
        "typing_extensions.py",
        "urllib3",
        "wrapt",
        "wrapt-stubs",
        "xmltodict.py",
    }, top_levels
    # AND no botocore/boto3/s3transfer shadowing the runtime's SDK, no bytecode caches, no scripts
    assert not [name for name in top_levels if name.split("-")[0] in RUNTIME_PROVIDED_PACKAGES]
    assert not list(layer.rglob("__pycache__")) and not (layer / "bin").exists()
    # AND the native parts are built for the runtime's Python (3.13) or the stable ABI
    native = [path.name for path in layer.rglob("*.so")]
    assert native and all("cpython-313" in name or ".abi3." in name for name in native), native
