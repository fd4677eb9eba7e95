"""The mutation score of the pure logic: `make mutate` (mutmut, configured in pyproject's [tool.mutmut]).

    venv/bin/python -m scripts.mutate [--no-run] [--report docs/mutation-survivors.txt]

mutmut copies the program to mutants/, rewrites every function of the modules listed in `only_mutate`
into a set of one-change variants, and runs, for each variant, the unit tests that call that function
(found in a first, plain run). A variant the tests still pass on "survived": a bug of that shape would go
unnoticed. This script runs mutmut, then prints the score and the survivors, module by module:

    score = (killed + timed out) / (every mutant mutmut generated)

A mutant with no test calling its function counts as a survivor, not as skipped. The last line is the
benchmark line `RESULT mutation_score <value> % target >= 85 met|missed`; BENCHMARKS.md keeps the figure
and docs/mutation-report.md explains each survivor (killed by a later test, or why it is equivalent).

Why mutmut: it mutates by rewriting the syntax tree into trampolines, so one copy of the program holds
every mutant and each is switched on by an environment variable in a forked worker; runs are
incremental (an unchanged function keeps its result) and each mutant runs only the tests that cover
it. cosmic-ray needs a session database and a separate runner configuration per module;
pytest-gremlins is young and not released on the registries this project installs from.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.reporting import result_line

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_PERCENT = 85.0
DETECTED = frozenset({"killed", "timeout"})
# mutmut's names: <module>.x_<function>__mutmut_<n>, methods as <module>.xǁ<Class>ǁ<method>__mutmut_<n>.
MUTANT_NAME = re.compile(r"^(?P<module>[\w.]+?)\.x(?:_|ǁ)(?P<function>.+)__mutmut_\d+$")
RESULT_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


@dataclass
class ModuleScore:
    statuses: Counter[str] = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def detected(self) -> int:
        return sum(count for status, count in self.statuses.items() if status in DETECTED)


def module_of(mutant_name: str) -> str:
    match = MUTANT_NAME.match(mutant_name)
    if match is None:
        raise ValueError(f"not a mutmut mutant name: {mutant_name!r}")
    return match["module"]


def scores_by_module(result_lines: Iterable[str]) -> dict[str, ModuleScore]:
    """`mutmut results --all true` lines ("    <mutant>: <status>") grouped by module."""
    scores: dict[str, ModuleScore] = defaultdict(ModuleScore)
    for line in result_lines:
        match = RESULT_LINE.match(line)
        if match is None or "__mutmut_" not in match["name"]:
            continue
        module, status = module_of(match["name"]), match["status"].strip()
        scores[module].statuses[status] += 1
        if status not in DETECTED:
            scores[module].survivors.append(f"{match['name']}: {status}")
    return dict(sorted(scores.items()))


def score_percent(scores: dict[str, ModuleScore]) -> float:
    total = sum(score.total for score in scores.values())
    if total == 0:
        raise ValueError("mutmut reported no mutants: is [tool.mutmut] only_mutate empty?")
    return 100 * sum(score.detected for score in scores.values()) / total


def report(scores: dict[str, ModuleScore]) -> list[str]:
    lines = [f"{'module':<48} {'mutants':>8} {'killed':>7} {'survived':>9} {'score':>7}"]
    for module, score in scores.items():
        lines.append(
            f"{module:<48} {score.total:>8} {score.detected:>7} {score.total - score.detected:>9} "
            f"{100 * score.detected / score.total:>6.1f}%"
        )
    total = sum(score.total for score in scores.values())
    detected = sum(score.detected for score in scores.values())
    lines.append(f"{'all':<48} {total:>8} {detected:>7} {total - detected:>9} {score_percent(scores):>6.1f}%")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="report the last run's results only")
    parser.add_argument("--report", type=Path, help="also write the survivors, one per line, to this file")
    args = parser.parse_args(argv)
    mutmut = [sys.executable, "-m", "mutmut"]
    if not args.no_run:
        # mutmut exits non-zero when mutants survive; the score below decides, not its exit code.
        subprocess.run([*mutmut, "run"], cwd=REPO_ROOT, check=False)  # noqa: S603 (our own argv)
    listing = subprocess.run(  # noqa: S603 (our own argv)
        [*mutmut, "results", "--all", "true"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    scores = scores_by_module(listing.stdout.splitlines())
    survivors = [name for score in scores.values() for name in score.survivors]
    print("\n".join(report(scores)))
    print(f"\nsurvivors ({len(survivors)}):")
    print("\n".join(f"  {name}" for name in survivors))
    if args.report:
        args.report.write_text("".join(f"{name}\n" for name in survivors), encoding="utf-8")
    print(result_line("mutation_score", score_percent(scores), "%", ">=", TARGET_PERCENT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
