"""`python -m demos` (what `make demo` runs) as a user runs it: a separate process, real output, real exit
code; and how localcloud's CLI reads `--config`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.core.cli import config_overrides

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_deploys_drives_every_system_and_exits_zero() -> None:
    # WHEN a user runs the demo (its own process: moto's state is per process)
    finished = subprocess.run(
        [sys.executable, "-m", "demos"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # THEN it showed the deployment, the outputs and each check, and passed
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "+ Function" in finished.stdout
    assert re.search(r"^\s+transformUploadUrl\s+http://127\.0\.0\.1:\d+/", finished.stdout, re.MULTILINE)
    assert re.search(r"^\s+artifactBuildsUrl\s+http://127\.0\.0\.1:\d+/", finished.stdout, re.MULTILINE)
    assert "demo doors: passed" in finished.stdout
    assert "demo transform: passed" in finished.stdout
    assert "demo artifacts: passed" in finished.stdout
    assert "demo batch: passed" in finished.stdout
    assert "demo failover: passed" in finished.stdout
    assert "demo audit: passed" in finished.stdout
    assert "demo events: passed" in finished.stdout
    assert "[FAILED]" not in finished.stdout


def test_config_overrides_take_pulumi_style_keys() -> None:
    assert config_overrides(["transformBatchSize=5", "aws:region=us-west-2"], "regionflow") == {
        "regionflow:transformBatchSize": "5",
        "aws:region": "us-west-2",
    }
    with pytest.raises(SystemExit, match="key=value"):
        config_overrides(["transformBatchSize"], "regionflow")
