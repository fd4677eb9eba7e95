"""`make test`: ruff first, then mypy beside the suite; either failing fails the target, and both report."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_import_contract import PROJECT_DIR

# Stand-ins for the venv's tools. mypy and pytest each wait for the other to have started (so the target
# fails unless they overlap), then exit with the code the test asks for.
WAIT_FOR = (
    'waited=0\nwhile [ ! -e "$FAKE_DIR/{mark}" ]; do\n'
    '  [ $waited -ge 300 ] && {{ echo "{tool}: {mark} never appeared"; exit 3; }}\n'
    "  sleep 0.1; waited=$((waited + 1))\ndone\n"
)
FAKE_TOOLS = {
    "ruff": "#!/bin/sh\nexit 0\n",
    "mypy": (
        '#!/bin/sh\ntouch "$FAKE_DIR/mypy-started"\n'
        + WAIT_FOR.format(mark="pytest-started", tool="mypy")
        + 'echo "mypy: $FAKE_MYPY_SAYS"\nexit $FAKE_MYPY_EXIT\n'
    ),
    "pytest": (
        '#!/bin/sh\ntouch "$FAKE_DIR/pytest-started"\n'
        + WAIT_FOR.format(mark="mypy-started", tool="pytest")
        + 'echo "pytest ran beside mypy: $*"\nexit $FAKE_PYTEST_EXIT\n'
    ),
}


def make_test(tmp_path: Path, *, mypy_exit: int, pytest_exit: int) -> subprocess.CompletedProcess[str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name, script in FAKE_TOOLS.items():
        tool = venv / "bin" / name
        tool.write_text(script)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    awscli = tmp_path / "awscli"
    awscli.mkdir()
    # Stamps newer than the requirements files: make installs nothing.
    (venv / ".installed").touch()
    (awscli / ".installed").touch()
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(PROJECT_DIR),
            "test",
            f"VENV={venv}",
            f"AWSCLI_VENV={awscli}",
            "CHROMIUM=/bin/true",
            "CHROMEDRIVER=/bin/true",
            f"TYPECHECK_LOG={tmp_path / 'typecheck.log'}",
        ],
        env={
            **os.environ,
            "FAKE_DIR": str(tmp_path),
            "FAKE_MYPY_SAYS": "Found 1 error" if mypy_exit else "Success",
            "FAKE_MYPY_EXIT": str(mypy_exit),
            "FAKE_PYTEST_EXIT": str(pytest_exit),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("mypy_exit", "pytest_exit", "passes"),
    [(0, 0, True), (1, 0, False), (0, 1, False)],
    ids=["both-pass", "types-fail", "suite-fails"],
)
def test_make_test_runs_mypy_beside_the_suite_and_fails_if_either_fails(
    tmp_path: Path, mypy_exit: int, pytest_exit: int, passes: bool
) -> None:
    # GIVEN a venv whose mypy and pytest exit as the case says
    # WHEN `make test` runs
    finished = make_test(tmp_path, mypy_exit=mypy_exit, pytest_exit=pytest_exit)
    # THEN the suite ran while mypy ran, both reports are shown, and the target fails if either failed
    output = finished.stdout + finished.stderr
    assert "pytest ran beside mypy: -n 3 --dist loadfile" in finished.stdout, output
    assert ("mypy: Found 1 error" if mypy_exit else "mypy: Success") in finished.stdout, output
    assert (finished.returncode == 0) is passes, output
