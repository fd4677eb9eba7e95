"""Every workflow definition, as reviewed: the golden files tests/golden/workflows/<workflow>.json.

    venv/bin/python scripts/workflow_golden.py [--check]

A definition is a dict of Amazon States Language built from handler ARNs; a changed retry interval, a
Catch sent to the wrong state or a swapped ARN changes what runs on AWS without changing any handler.
tests/unit/workflows/test_workflow_golden.py compares each builder's output with its golden file exactly,
so such a change fails until the file is regenerated here and the diff is reviewed (as with the IAM golden
files, scripts/iam_golden.py). The behaviour tests beside it check what the definitions mean (a path to
every outcome, retries of transient errors only); these check that nothing changed unseen.

Each builder runs with every required argument replaced by a placeholder naming it (`${split_arn}`), so
the golden file shows which ARN, table or region goes where; arguments with a default keep it.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Run as a file (python scripts/workflow_golden.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows import (
    active_active_events,
    audit_ingest,
    batch_processing,
    chunk_processor,
    failover_runbook,
    file_distribution,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
GOLDEN_DIR = PROJECT_DIR / "tests" / "golden" / "workflows"
COMMAND = "venv/bin/python scripts/workflow_golden.py"
EXIT_DIFFERENT = 1

Builder = Callable[..., dict[str, Any]]
BUILDERS: dict[str, Builder] = {
    "active_active_events": active_active_events.build_definition,
    "audit_ingest": audit_ingest.build_definition,
    "batch_processing": batch_processing.build_definition,
    "chunk_processor": chunk_processor.build_item_processor,
    "failover_runbook": failover_runbook.build_definition,
    "file_distribution": file_distribution.build_definition,
}


def placeholders(builder: Builder) -> dict[str, str]:
    """`${name}` for each argument the builder requires; those with a default are left to it."""
    return {
        name: f"${{{name}}}"
        for name, parameter in inspect.signature(builder).parameters.items()
        if parameter.default is inspect.Parameter.empty
    }


def definition(workflow: str) -> dict[str, Any]:
    builder = BUILDERS[workflow]
    return builder(**placeholders(builder))


def render(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def golden_path(workflow: str, directory: Path = GOLDEN_DIR) -> Path:
    return directory / f"{workflow}.json"


def check(workflow: str, directory: Path = GOLDEN_DIR) -> list[str]:
    """The unified diff of the golden file against the builder's output now (empty: they match)."""
    path = golden_path(workflow, directory)
    expected = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    actual = render(definition(workflow)).splitlines()
    return list(difflib.unified_diff(expected, actual, str(path.name), "the builder now", lineterm=""))


def report(workflow: str, lines: Sequence[str]) -> str:
    return "\n".join(
        [
            f"The {workflow} definition differs from its golden file (+ built now, - in the file):",
            *lines,
            f"Review the change, then regenerate with `{COMMAND}` and commit the golden file with it.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) each workflow's golden definition.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a golden file differs")
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR, help="directory of the golden files")
    args = parser.parse_args(argv)
    different = False
    for workflow in BUILDERS:
        path = golden_path(workflow, args.golden_dir)
        if args.check:
            lines = check(workflow, args.golden_dir)
            different = different or bool(lines)
            print(report(workflow, lines) if lines else f"{path}: matches the builder.")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = render(definition(workflow))
            unchanged = path.exists() and path.read_text(encoding="utf-8") == text
            path.write_text(text, encoding="utf-8")
            print(f"{path}: {'unchanged' if unchanged else 'written'}.")
    return EXIT_DIFFERENT if different else 0


if __name__ == "__main__":
    sys.exit(main())
