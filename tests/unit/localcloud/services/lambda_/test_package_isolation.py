"""A function runs from what it deployed: its package, its layers and the runtime's SDK, nothing else."""

from __future__ import annotations

import base64
import hashlib
import io
import textwrap
import uuid
import zipfile
from pathlib import Path

import pulumi
import pytest

from localcloud.services.lambda_ import patches as lambda_patches
from localcloud.services.lambda_.packaging import build_zip
from localcloud.services.lambda_.runtime_sdk import RUNTIME_SDK_REQUIREMENTS, runtime_sdk_dir
from tests.unit.localcloud.conftest import REGION, zip_source
from tests.unit.localcloud.services.lambda_.test_runtime import invoke

REPORTS_ITS_IMPORTS = """
import importlib, sys
import boto3, botocore

def handler(event, context):
    importable = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    return {
        "boto3": boto3.__file__,
        "boto3_version": boto3.__version__,
        "botocore_version": botocore.__version__,
        "importable": importable,
        "path": sys.path,
    }
"""


def pinned_version(package: str) -> str:
    for line in RUNTIME_SDK_REQUIREMENTS.read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() == package:
            return version.split("#")[0].strip()
    raise AssertionError(f"{package} is not pinned in {RUNTIME_SDK_REQUIREMENTS}")


def test_a_handler_gets_the_runtimes_pinned_sdk_and_nothing_of_this_environment(emulator, deploy):
    # GIVEN a handler whose package holds only its own module
    fn = deploy(REPORTS_ITS_IMPORTS)
    # WHEN it reports where its SDK comes from and what else it can import
    error, payload = invoke(emulator, fn.name, {"modules": ["moto", "pytest", "pulumi", "xmltodict"]})
    # THEN boto3 and botocore are the runtime's, at the pinned versions
    assert error is None, payload
    assert Path(payload["boto3"]).is_relative_to(runtime_sdk_dir())
    assert payload["boto3_version"] == pinned_version("boto3")
    assert payload["botocore_version"] == pinned_version("botocore")
    # AND the packages of this project's venv are not importable: not the emulator's, not the tests'
    assert payload["importable"] == {"moto": False, "pytest": False, "pulumi": False, "xmltodict": False}
    assert not [entry for entry in payload["path"] if "site-packages" in entry and "venv" in entry]


def test_a_dependency_missing_from_the_package_fails_the_import_as_in_a_region(emulator, deploy):
    # GIVEN a handler that imports a package its deployment does not ship
    fn = deploy("""
        import xmltodict

        def handler(event, context):
            return xmltodict.parse("<a>1</a>")
    """)
    # WHEN it is invoked
    error, payload = invoke(emulator, fn.name)
    # THEN the init fails as Lambda's does, naming the missing module
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'xmltodict'" in payload["errorMessage"]


def layer_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


def test_a_functions_layers_are_on_its_import_path_in_lambdas_two_places(emulator, role_arn):
    # GIVEN a layer with a module under python/ and another under python/lib/python3.13/site-packages/
    lambda_client = emulator.client("lambda", REGION)
    layer = lambda_client.publish_layer_version(
        LayerName=f"layer-{uuid.uuid4().hex[:8]}",
        Content={
            "ZipFile": layer_zip(
                {
                    "python/greeting.py": "WORD = 'hello'\n",
                    "python/lib/python3.13/site-packages/punctuation.py": "MARK = '!'\n",
                }
            )
        },
        CompatibleRuntimes=["python3.13"],
    )
    # AND a function whose package has neither, using the layer
    name = f"fn-{uuid.uuid4().hex[:10]}"
    handler = """
        import greeting, punctuation

        def handler(event, context):
            return greeting.WORD + punctuation.MARK
    """
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_source(textwrap.dedent(handler))},
        Layers=[layer["LayerVersionArn"]],
    )
    # WHEN it runs THEN both modules come from the layer
    assert invoke(emulator, name) == (None, "hello!")


def test_a_package_is_zipped_once_per_content(tmp_path: Path) -> None:
    # GIVEN one code archive handed to several functions
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    archive = pulumi.AssetArchive({"handlers": pulumi.FileArchive(str(tmp_path))})
    # WHEN it is packaged for each THEN the zip is built once and shared
    first = build_zip(archive)
    assert build_zip(pulumi.AssetArchive({"handlers": pulumi.FileArchive(str(tmp_path))})) is first
    # AND a changed file makes a new package with the new content
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 2  # changed\n")
    changed = build_zip(archive)
    assert changed is not first
    assert b"changed" in zipfile.ZipFile(io.BytesIO(changed)).read("handlers/app.py")


def test_a_missing_archive_source_fails_packaging_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "not-installed"
    with pytest.raises(FileNotFoundError, match="not-installed"):
        build_zip(pulumi.AssetArchive({"python": pulumi.FileArchive(str(missing))}))


def test_a_directory_is_packaged_in_path_order_without_bytecode_or_linked_directories(tmp_path: Path) -> None:
    # GIVEN a source tree with nested modules, bytecode caches, a link to a file and one to a directory
    source = tmp_path / "src"
    (source / "a").mkdir(parents=True)
    (source / "a" / "b.py").write_text("B = 1\n")
    (source / "a-c.py").write_text("C = 1\n")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "a-c.cpython-313.pyc").write_bytes(b"\0")
    (source / "stale.pyc").write_bytes(b"\0")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "outside.py").write_text("O = 1\n")
    (source / "linked-dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (source / "linked.py").symlink_to(source / "a-c.py")
    # WHEN it is packaged
    package = build_zip(pulumi.AssetArchive({"handlers": pulumi.FileArchive(str(source))}))
    # THEN the zip holds the sources in path order ("a/b.py" sorts before "a-c.py"), the linked file's
    # content under its own name, and neither bytecode nor the linked directory's files
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.namelist() == ["handlers/a/b.py", "handlers/a-c.py", "handlers/linked.py"]
        assert archive.read("handlers/linked.py") == b"C = 1\n"


def test_functions_sharing_a_package_have_it_decoded_once_and_each_its_own_sha(
    emulator, role_arn, monkeypatch: pytest.MonkeyPatch
):
    # GIVEN moto's decoding of a ZipFile (base64, SHA-256), counted
    decoded: list[int] = []
    original = lambda_patches._originals["zipfile_content"]

    def counting(content: str | bytes) -> tuple[bytes, int, str, str]:
        decoded.append(len(content))
        return original(content)

    monkeypatch.setitem(lambda_patches._originals, "zipfile_content", counting)
    shared, other = zip_source(f"TAG = {uuid.uuid4().hex!r}\n"), zip_source(f"TAG = {uuid.uuid4().hex!r}\n")
    lambda_client = emulator.client("lambda", REGION)
    # WHEN three functions are created with one package and a fourth with another
    created = [
        lambda_client.create_function(
            FunctionName=f"fn-{uuid.uuid4().hex[:10]}",
            Runtime="python3.13",
            Role=role_arn,
            Handler="app.handler",
            Code={"ZipFile": package},
        )
        for package in (shared, shared, shared, other)
    ]
    # THEN each package was decoded once, and every function reports its own package's size and hash
    assert len(decoded) == 2
    for function, package in zip(created, (shared, shared, shared, other), strict=True):
        assert function["CodeSize"] == len(package)
        assert function["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
