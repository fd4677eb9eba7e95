"""`bench.commands_bench`: a failed `make test` names its failing tests in the report, and each command
starts without the tool caches a clean clone lacks."""

from __future__ import annotations

from pathlib import Path

from bench.commands_bench import clear_tool_caches, failures

PYTEST_TAIL = """\
tests/e2e/test_events.py ...F..                                         [ 99%]
=========================== short test summary info ============================
FAILED tests/e2e/test_events.py::test_conflicting_writes_converge - AssertionError: 2 ids differ
ERROR tests/unit/test_x.py::test_y - RuntimeError: fixture broke
SKIPPED [1] tests/unit/test_z.py:4: not on this platform
= 1 failed, 1 error, 3291 passed in 719.50s (0:11:59) =
"""


def test_the_failed_and_erroring_tests_of_a_run_are_listed_from_its_short_summary() -> None:
    # GIVEN the tail of a pytest run with -ra: one failure, one error, one skip
    # WHEN its failures are read
    # THEN the failure and the error are listed, in order, with their messages, and nothing else
    assert failures(PYTEST_TAIL) == [
        "FAILED tests/e2e/test_events.py::test_conflicting_writes_converge - AssertionError: 2 ids differ",
        "ERROR tests/unit/test_x.py::test_y - RuntimeError: fixture broke",
    ]


def test_a_passing_run_lists_no_failures() -> None:
    # GIVEN a run whose summary has passes only
    # WHEN its failures are read
    # THEN there are none (a line merely mentioning FAILED mid-line does not count)
    assert failures("tests/a.py .. [100%]\nlog: step FAILED once, retried\n= 2 passed in 1.0s =\n") == []


def test_each_timed_command_starts_without_mypy_ruff_or_pytest_caches(tmp_path: Path) -> None:
    # GIVEN a checkout whose earlier runs left mypy's, ruff's and pytest's caches beside its own files
    for cache in (".mypy_cache/3.13", ".ruff_cache/0.12", ".pytest_cache/v"):
        (tmp_path / cache).mkdir(parents=True)
        (tmp_path / cache / "entry").write_text("cached")
    (tmp_path / "build").mkdir()
    (tmp_path / "Makefile").write_text("test:\n")
    # WHEN the caches are cleared before a timed command
    removed = clear_tool_caches(tmp_path)
    # THEN the three caches are gone, and only they
    assert sorted(path.name for path in removed) == [".mypy_cache", ".pytest_cache", ".ruff_cache"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Makefile", "build"]
