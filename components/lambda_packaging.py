"""How handler code and its third-party dependencies (handlers/requirements.txt) reach a function.

Handler code always ships as `AssetArchive({"handlers": FileArchive("handlers")})` so import paths are
the same in pytest, localcloud and AWS. Dependencies ship as one Lambda layer per region on AWS, or
bundled into every function's package where layers are missing (LocalStack Community).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.config import LambdaDependencyMode
from components.naming import stack_scoped_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
HANDLERS_DIR = PROJECT_DIR / "handlers"
REQUIREMENTS_FILE = HANDLERS_DIR / "requirements.txt"
BUILD_DIR = PROJECT_DIR / "build"
LAMBDA_RUNTIME = (
    "python3.13"  # Amazon Linux 2023, supported to 2029 (python3.11 runs on Amazon Linux 2, EOL 2026-06-30)
)
LAMBDA_ARCHITECTURE = "x86_64"
_PIP_PLATFORM = "manylinux2014_x86_64"
# The Lambda runtime ships the AWS SDK. A copy in a layer or bundle would shadow it: Powertools' tracer
# (aws-xray-sdk) pulls in an unpinned botocore, which would pair the runtime's boto3 with a botocore it
# was not released with. So the SDK is always the runtime's.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer")
# Build leftovers, not code: bytecode caches go stale against the sources, `bin/` holds pip's scripts.
_NOT_SHIPPED = ("__pycache__", "bin")
_COMPLETE_MARKER = ".complete"


def dependency_dir(requirements: Path = REQUIREMENTS_FILE, build_dir: Path = BUILD_DIR) -> Path:
    """Where the dependencies of this exact requirements file are (or will be) installed."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return build_dir / f"lambda-dependencies-{digest}"


def install_dependencies(requirements: Path = REQUIREMENTS_FILE, build_dir: Path = BUILD_DIR) -> Path:
    """pip-install the Lambda dependencies for Lambda's platform once per requirements content.

    The layout `<dir>/python/...` is what a layer needs; bundling copies the contents of `python/`. The
    tree is built beside its final name and renamed into place, so concurrent runs (a test session and
    localcloud, say) never see half of it.
    """
    target = dependency_dir(requirements, build_dir)
    if (target / _COMPLETE_MARKER).exists():
        return target
    staging = build_dir / f".{target.name}.{uuid.uuid4().hex}"
    try:
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--requirement",
                str(requirements),
                "--target",
                str(staging / "python"),
                "--platform",
                _PIP_PLATFORM,
                "--implementation",
                "cp",
                "--python-version",
                LAMBDA_RUNTIME.removeprefix("python"),
                "--only-binary=:all:",
                "--no-compile",
                "--upgrade",
            ],
            check=True,
        )
        prune_installed(staging / "python")
        (staging / _COMPLETE_MARKER).write_text(requirements.read_text())
        try:
            staging.rename(target)
        except OSError:  # another run installed the same requirements first
            if not (target / _COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _distribution_name(entry: Path) -> str:
    """`botocore`, `botocore-1.44.18.dist-info` -> "botocore" (the top-level name pip installed)."""
    return entry.name.split("-", 1)[0].removesuffix(".py").lower().replace("_", "-")


PAGE_ASSET_SUFFIXES = frozenset({".html", ".css", ".js"})


def prune_installed(site_dir: Path) -> list[str]:
    """Remove what must not ship from a pip --target tree; return the removed top-level names."""
    removed = []
    for entry in sorted(site_dir.iterdir()):
        if entry.name in _NOT_SHIPPED or _distribution_name(entry) in RUNTIME_PROVIDED_PACKAGES:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
    for cache in sorted(site_dir.rglob("__pycache__")):
        shutil.rmtree(cache)
    return removed


def handler_sources(handlers_dir: Path = HANDLERS_DIR) -> list[Path]:
    """What a function ships of handlers/: the Python modules, and the files a page serves from a
    `static/` folder (PAGE_ASSET_SUFFIXES); no caches, tests or build inputs."""
    return [
        path
        for path in sorted(handlers_dir.rglob("*"))
        if (path.suffix == ".py" or (path.parent.name == "static" and path.suffix in PAGE_ASSET_SUFFIXES))
        and path.is_file()
        and "__pycache__" not in path.parts
        and not path.name.startswith("test_")
        and path.name != "conftest.py"
        and "tests" not in path.relative_to(handlers_dir).parts
    ]


@dataclass(frozen=True, kw_only=True)
class LambdaPackaging:
    """The code archive and layers one function in one region gets."""

    layer_arns: tuple[pulumi.Input[str], ...] = ()
    bundled_dependencies: Path | None = None  # a `python/` directory whose contents join the package

    def code(self) -> pulumi.AssetArchive:
        handlers: dict[str, pulumi.Asset | pulumi.Archive] = {
            path.relative_to(HANDLERS_DIR).as_posix(): pulumi.FileAsset(str(path))
            for path in handler_sources()
        }
        assets: dict[str, pulumi.Asset | pulumi.Archive] = {"handlers": pulumi.AssetArchive(handlers)}
        if self.bundled_dependencies is not None:
            for entry in sorted(self.bundled_dependencies.iterdir()):
                if entry.name in _NOT_SHIPPED or _distribution_name(entry) in RUNTIME_PROVIDED_PACKAGES:
                    continue
                assets[entry.name] = (
                    pulumi.FileArchive(str(entry)) if entry.is_dir() else pulumi.FileAsset(str(entry))
                )
        return pulumi.AssetArchive(assets)


@dataclass(kw_only=True)
class LambdaPackagingCatalog:
    """Hands out one LambdaPackaging per region, creating that region's dependency layer on first use."""

    mode: LambdaDependencyMode
    dependencies_dir: Path
    _by_region: dict[str, LambdaPackaging] = field(default_factory=dict)

    @classmethod
    def prepare(cls, mode: LambdaDependencyMode) -> LambdaPackagingCatalog:
        """Install the dependencies (once per requirements content): every deployment reads them, the
        embedded one too, whose workers import from the package and layer alone."""
        return cls(mode=mode, dependencies_dir=install_dependencies())

    def for_region(self, region: str) -> LambdaPackaging:
        if region not in self._by_region:
            if self.mode == "bundle":
                packaging = LambdaPackaging(bundled_dependencies=self.dependencies_dir / "python")
            else:
                layer = aws.lambda_.LayerVersion(
                    f"lambda-dependencies-{region}",
                    region=region,
                    layer_name=stack_scoped_name("dependencies", max_length=140),
                    description="Third-party packages of handlers/requirements.txt",
                    code=pulumi.FileArchive(str(self.dependencies_dir)),
                    compatible_runtimes=[LAMBDA_RUNTIME],
                    compatible_architectures=[LAMBDA_ARCHITECTURE],
                )
                packaging = LambdaPackaging(layer_arns=(layer.arn,))
            self._by_region[region] = packaging
        return self._by_region[region]
