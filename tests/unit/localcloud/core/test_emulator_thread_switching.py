"""While an emulator runs, the interpreter switches threads every millisecond, and as before once it stops.

One GIL serves the Lambda workers' requests and localcloud's own threads, which do their moto work
themselves (localcloud/core/in_process.py): CPython's 5 ms slices left the workers waiting on their answers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from localcloud.core.emulator import Emulator


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
