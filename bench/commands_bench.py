"""The two commands README promises, timed as a user runs them: `make test` and `make demo`.

    ./venv/bin/python -m bench.commands_bench [--only test|demo]

Each command runs in this checkout with its venv ready (as on a second run, not a fresh machine: the
first `make test` also installs the venv, awscli and chromium) and without mypy's, ruff's or pytest's
caches (as on a clean clone), once, wall clock from start to exit.
Baselines, measured in the same run: for `make test`, its lint and type checks alone (`make lint
typecheck`: what the suite costs before the first test); for `make demo`, the deployment its own log
reports ("Deployed N resources in S s": what the demo costs before it drives a system). The ratios say how
much the tests and the scenarios add. Always exits 0: it reports.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402

TARGET_TEST_SECONDS = 300.0  # issue 19: the suite under 5 minutes on 2 cores
TARGET_DEMO_SECONDS = 90.0  # issue 19: the demo under 90 s
SECTION = "## The two commands (issue 19)"
_DEPLOYED = re.compile(r"Deployed \d+ resources in ([\d.]+) s")
_PYTEST_SUMMARY = re.compile(r"=+ (.*? in [\d.]+s.*?) =+")
_PYTEST_FAILURE = re.compile(r"^(?:FAILED|ERROR) .*$", re.MULTILINE)
LOG_DIR = REPO_ROOT / "build" / "commands_bench"
TOOL_CACHES = (".mypy_cache", ".ruff_cache", ".pytest_cache")


def timed(command: Sequence[str]) -> tuple[float, str, int]:
    """Wall seconds, the combined output and the exit code of `command` run in the checkout.

    The output is also kept in build/commands_bench/, so a failed run (one full `make test` is many
    minutes) can be read afterwards, not only counted."""
    started = time.perf_counter()
    finished = subprocess.run(
        list(command), cwd=REPO_ROOT, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - started
    output = finished.stdout + finished.stderr
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"{'-'.join(command).replace('/', '_')}.log").write_text(output)
    return seconds, output, finished.returncode


def failures(output: str) -> list[str]:
    """pytest's short summary lines of failed and erroring tests (`-ra` prints them)."""
    return _PYTEST_FAILURE.findall(output)


def clear_tool_caches(root: Path = REPO_ROOT) -> list[Path]:
    """Remove what mypy, ruff and pytest kept from earlier runs, as a clean checkout has none; returns them.

    Without it the checks timed first leave mypy's cache warm for the next command: `make test` then
    skipped most of its ~55 s of type checking, which CI on a clean clone always pays."""
    removed = [root / name for name in TOOL_CACHES if (root / name).exists()]
    for cache in removed:
        shutil.rmtree(cache)
    return removed


def bench_test() -> list[str]:
    clear_tool_caches()
    checks_seconds, _, checks_exit = timed(["make", "lint", "typecheck"])
    clear_tool_caches()
    test_seconds, output, test_exit = timed(["make", "test"])
    summaries = _PYTEST_SUMMARY.findall(output)
    summary = summaries[-1] if summaries else "no pytest summary"
    lines = [
        f"make test: {test_seconds:.1f} s, exit {test_exit} ({summary})",
        f"baseline make lint typecheck: {checks_seconds:.1f} s, exit {checks_exit}",
        f"ratio make test / its checks: {test_seconds / checks_seconds:.1f}x",
        *failures(output),
    ]
    return [*lines, result_line("make_test_seconds", test_seconds, "s", "<=", TARGET_TEST_SECONDS)]


def bench_demo() -> list[str]:
    demo_seconds, output, demo_exit = timed(["make", "demo"])
    deployed = _DEPLOYED.search(output)
    deploy_seconds = float(deployed.group(1)) if deployed else float("nan")
    passed = len(re.findall(r"^demo \w+: passed$", output, re.MULTILINE))
    lines = [
        f"make demo: {demo_seconds:.1f} s, exit {demo_exit}, {passed} demos passed",
        f"baseline its deployment: {deploy_seconds:.1f} s",
        f"ratio make demo / its deployment: {demo_seconds / deploy_seconds:.1f}x",
    ]
    return [*lines, result_line("make_demo_seconds", demo_seconds, "s", "<=", TARGET_DEMO_SECONDS)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `make test` and `make demo` in this checkout.")
    parser.add_argument("--only", choices=("test", "demo"), help="time one of the two commands")
    args = parser.parse_args(argv)
    lines = [f"Machine: {machine_description()}", "Command: `./venv/bin/python -m bench.commands_bench`", ""]
    if args.only in (None, "demo"):
        lines += bench_demo()
    if args.only in (None, "test"):
        lines += bench_test()
    print("\n".join(lines), flush=True)
    write_benchmarks_md(SECTION, ["```text", *lines, "```"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
