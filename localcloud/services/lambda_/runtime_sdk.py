"""What the Lambda runtime provides beside a function's package: Python's standard library and the SDK.

AWS's python3.13 runtime ships boto3 and botocore in its image; a function's package and its layers bring
everything else. localcloud's workers see exactly that: this interpreter's standard library (started with
`-I -S`, so no site-packages: not this project's venv), the function's code, its layers and the SDK pinned
in runtime-sdk.txt, installed once per pin set under the project's build/localcloud/. A dependency missing
from a function's package therefore fails its import here as it would in a region.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from localcloud.core.stack_files import PROJECT_DIR

RUNTIME_SDK_REQUIREMENTS = Path(__file__).with_name("runtime-sdk.txt")
DEFAULT_BUILD_DIR = PROJECT_DIR / "build" / "localcloud"
_COMPLETE_MARKER = ".complete"


def runtime_sdk_dir(
    requirements: Path = RUNTIME_SDK_REQUIREMENTS, build_dir: Path = DEFAULT_BUILD_DIR
) -> Path:
    """Where the SDK of this exact pin set is (or will be) installed."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return build_dir / f"lambda-runtime-sdk-{digest}"


def install_runtime_sdk(
    requirements: Path = RUNTIME_SDK_REQUIREMENTS, build_dir: Path = DEFAULT_BUILD_DIR
) -> Path:
    """pip-install the runtime's SDK once per pin set; safe when several processes race to do it."""
    target = runtime_sdk_dir(requirements, build_dir)
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
                "--no-deps",
                "--no-compile",
                "--only-binary=:all:",
                "--requirement",
                str(requirements),
                "--target",
                str(staging),
            ],
            check=True,
        )
        (staging / _COMPLETE_MARKER).write_text(requirements.read_text())
        try:
            staging.rename(target)
        except OSError:  # another process installed the same pins first
            if not (target / _COMPLETE_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
