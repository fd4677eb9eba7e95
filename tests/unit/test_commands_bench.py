"""`bench.commands_bench`: a failed `make test` names its failing tests in the report."""

from __future__ import annotations

from bench.commands_bench import failures

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
