"""What every benchmark prints and records: RESULT lines and its own section of BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def result_line(name: str, value: float, unit: str, op: str, target: float) -> str:
    """`RESULT <name> <value> <unit> target <op> <value> <met|missed>`."""
    met = value <= target if op == "<=" else value >= target
    return f"RESULT {name} {value:.2f} {unit} target {op} {target:g} {'met' if met else 'missed'}"


def machine_description() -> str:
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def write_benchmarks_md(section_title: str, lines: list[str]) -> None:
    """Replace (or append) the section `section_title` of BENCHMARKS.md with `lines`."""
    path = REPO_ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = "\n".join([section_title, "", *lines, ""])
    if section_title in text:
        before, _, rest = text.partition(section_title)
        following = rest.find("\n## ")
        after = rest[following + 1 :] if following != -1 else ""
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def percentile(samples: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest sample with at least `percent` % of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]
