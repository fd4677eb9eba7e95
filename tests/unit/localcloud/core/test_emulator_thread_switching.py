"""While an emulator runs, the interpreter switches threads every millisecond and its collector runs less
often; once it stops, both are as before.

One GIL serves the Lambda workers' requests and localcloud's own threads, which do their moto work
themselves (localcloud/core/in_process.py): CPython's 5 ms slices left the workers waiting on their answers.
The collector's default thresholds made it traverse moto's and the stack's long-lived objects again and again.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from localcloud.core.emulator import GC_THRESHOLDS, Emulator


@pytest.fixture
def default_switch_interval() -> Iterator[float]:
    """An interval neither CPython's default nor the emulator's, restored after the test."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.003)
    yield sys.getswitchinterval()
    sys.setswitchinterval(previous)


def test_the_emulator_shortens_thread_slices_while_it_runs_and_restores_them(
    default_switch_interval: float,
) -> None:
    # GIVEN a process switching threads every 3 ms
    # WHEN an emulator starts
    with Emulator():
        # THEN it switches every millisecond
        assert sys.getswitchinterval() == pytest.approx(0.001)
    # AND once the emulator stops, as before
    assert sys.getswitchinterval() == pytest.approx(default_switch_interval)


@pytest.fixture
def default_gc_thresholds() -> Iterator[tuple[int, int, int]]:
    """Thresholds neither CPython's defaults nor the emulator's, restored after the test."""
    previous = gc.get_threshold()
    gc.set_threshold(900, 11, 12)
    yield gc.get_threshold()
    gc.set_threshold(*previous)


def test_the_emulator_collects_garbage_less_often_while_it_runs_and_restores_the_thresholds(
    default_gc_thresholds: tuple[int, int, int],
) -> None:
    # GIVEN a process collecting at thresholds of its own
    # WHEN an emulator starts
    with Emulator():
        # THEN it collects at the emulator's
        assert gc.get_threshold() == GC_THRESHOLDS
    # AND once the emulator stops, at the process's own again
    assert gc.get_threshold() == default_gc_thresholds
