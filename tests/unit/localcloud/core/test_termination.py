"""SIGTERM stops a localcloud process the way Ctrl-C does (the subprocess test: tests/e2e/test_cli.py), and
a process done with its LocalCloud exits without tracing its heap."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from localcloud.core.termination import stop_on_sigterm

SIGNAL_WAIT_SECONDS = 5.0


@pytest.fixture
def restored_sigterm() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def wait_for_signal_handlers() -> None:
    """Python runs a signal's handler in the main thread between bytecodes, soon after the signal."""
    deadline = time.monotonic() + SIGNAL_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.usefixtures("restored_sigterm")
def test_sigterm_raises_keyboard_interrupt_once_then_lets_cleanup_finish() -> None:
    # GIVEN a process that stops on SIGTERM
    stop_on_sigterm()
    # WHEN it is sent SIGTERM
    # THEN it is interrupted as Ctrl-C interrupts it
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
        wait_for_signal_handlers()
    # AND a second SIGTERM during the cleanup interrupts nothing
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    signal.raise_signal(signal.SIGTERM)


def test_after_exit_untraced_the_collector_tracks_none_of_the_objects_already_there() -> None:
    # GIVEN a process holding a large heap of tracked objects (its own interpreter: freezing is for good)
    script = """
import gc, json
from localcloud.core.termination import exit_untraced
heap = [[number] for number in range(100_000)]  # lists are always tracked
tracked_before = len(gc.get_objects())
exit_untraced()
print(json.dumps({"before": tracked_before, "after": len(gc.get_objects()), "frozen": gc.get_freeze_count()}))
"""
    # WHEN it calls exit_untraced
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    counts = json.loads(finished.stdout)
    # THEN none of them is left for the collections the interpreter's shutdown runs
    assert counts["before"] > 100_000
    assert counts["frozen"] >= counts["before"]
    assert counts["after"] < 100
