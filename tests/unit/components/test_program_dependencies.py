"""`pulumi up` runs __main__.py in a venv built from requirements.txt alone: the program must run there."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.core.stack_files import stack_names

PROJECT_DIR = Path(__file__).resolve().parents[3]
REQUIREMENTS = PROJECT_DIR / "requirements.txt"
RUNNER = Path(__file__).with_name("run_in_program_venv.py")


@pytest.fixture(scope="module")
def program_python() -> Path:
    """A venv with requirements.txt only (what Pulumi's pip toolchain builds), kept per its content."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = PROJECT_DIR / "build" / f"program-venv-{digest}"
    python = venv / "bin" / "python"
    done = venv / ".installed"
    if not done.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--requirement", str(REQUIREMENTS)], check=True
        )
        done.touch()
    return python


def test_program_builds_every_stack_with_only_requirements_txt_installed(program_python: Path) -> None:
    # GIVEN a venv built from requirements.txt alone
    stacks = stack_names()
    # WHEN the program runs under mocks for every stack file in it
    run = subprocess.run(
        [str(program_python), "-E", "-s", str(RUNNER), *stacks],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    # THEN it builds each stack (an import of anything requirements.txt lacks fails here)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(stacks) >= {"local", "primary"}
    for stack in stacks:
        assert report[stack]["resources"] > 300, stack
        assert "transformUploadUrl" in report[stack]["exports"], stack
    # AND the venv truly lacks the developer's tools, so the run proves something
    assert {"boto3", "moto", "pytest"} <= set(report["absent"])
    assert not {"boto3", "botocore", "moto"} & set(report["loaded"])
