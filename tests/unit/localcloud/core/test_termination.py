"""SIGTERM stops a localcloud process the way Ctrl-C does (the subprocess test: tests/e2e/test_cli.py)."""

from __future__ import annotations

import signal
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
