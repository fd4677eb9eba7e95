"""Run the program under recording mocks for each stack named on the command line.

Executed by test_program_dependencies.py with the Python of a venv built from requirements.txt alone
(what `pulumi up` runs the program with), so that an import of anything else fails here first.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(PROJECT_DIR))

from localcloud.core.program import run_program  # noqa: E402 - after the project joins sys.path
from localcloud.core.recording import RecordingMocks  # noqa: E402


def main(stacks: list[str]) -> None:
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        # What a developer venv has but requirements.txt does not: proves this run cannot lean on them.
        "absent": [
            name for name in ("boto3", "moto", "pytest", "yaml_stubs") if not importlib.util.find_spec(name)
        ],
    }
    for stack in stacks:
        mocks = RecordingMocks()
        exports = run_program(mocks, stack=stack)
        report[stack] = {"resources": len(mocks.resources), "exports": sorted(exports)}
    report["loaded"] = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
