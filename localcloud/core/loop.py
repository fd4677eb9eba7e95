"""The background loop every poller and replicator of localcloud runs on.

A daemon thread calls `run_once()` until `stop()`. Between passes it waits the seconds the pass returned
(0: the next pass at once), or less when `wake()` is called: a producer that knows there is work (a stream
record appended, a waiter in a hurry) wakes the loop instead of letting it sleep out its interval. A
wake-up during a pass is kept, so the next wait returns at once and no news is lost between a pass and
its wait. A pass that raises is logged and the loop carries on after `retry_seconds`: one bad pass (a
bucket deleted meanwhile, the emulator slow to answer) must not end the data plane.

Completed passes are counted, so a caller can wait for "two more passes" (everything written before the
call has then been looked at); with no thread running, `wait_for_passes` drives the passes itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Self

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Subclasses implement run_once(); see the module docstring."""

    def __init__(self, *, name: str, retry_seconds: float, join_timeout_seconds: float = 10.0) -> None:
        self.name = name
        self.retry_seconds = retry_seconds
        self.join_timeout_seconds = join_timeout_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._woken = True  # the first pass counts as woken: it has never looked
        self._thread: threading.Thread | None = None
        self._passes = 0
        self._pass_done = threading.Condition()

    # ---- what a subclass provides ------------------------------------------------------------------
    def run_once(self) -> float:
        """One pass; returns the seconds to wait before the next one (0: at once)."""
        raise NotImplementedError

    def before_start(self) -> None:
        """Synchronous set-up on the caller's thread before the loop's thread starts (baselines)."""

    def poll_once(self) -> None:
        """One counted pass on the caller's thread (tests step with it; waiters drive passes with it)."""
        self.run_once()
        self._count_pass()

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is not None:
            return self
        self.before_start()
        self._stop.clear()
        self._woken = True
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the thread to stop after its current pass, without waiting for it; idempotent."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread after its current pass; idempotent."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_seconds)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def woken(self) -> bool:
        """Whether the wait before the current pass ended by wake() (or it is the first pass)."""
        return self._woken

    def wake(self) -> None:
        """Run the next pass now instead of when the current wait ends."""
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """Sleep inside a pass for up to `seconds`; returns early when the loop is stopped."""
        self._stop.wait(seconds)

    # ---- counted passes ----------------------------------------------------------------------------
    @property
    def passes(self) -> int:
        """Passes completed so far (a pass that raised is not counted)."""
        return self._passes

    def wait_for_passes(self, target: int, deadline: float) -> bool:
        """Wait until `target` passes have completed (driving them here if no thread runs); False when
        time.monotonic() reaches `deadline` first."""
        if self._thread is None:
            while self._passes < target:
                self.poll_once()
            return True
        with self._pass_done:
            while self._passes < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._pass_done.wait(remaining)
        return True

    def _count_pass(self) -> None:
        with self._pass_done:
            self._passes += 1
            self._pass_done.notify_all()

    def _run(self) -> None:
        # A thread that outlived stop()'s join (a pass longer than its timeout) ends after that pass,
        # even when start() has run meanwhile.
        while not self._stop.is_set() and self._thread is threading.current_thread():
            try:
                wait_seconds = self.run_once()
                self._count_pass()
            except Exception:
                logger.exception("%s: a pass failed", self.name)
                wait_seconds = self.retry_seconds
            self._woken = self._wake.wait(wait_seconds) if wait_seconds > 0 else self._wake.is_set()
            self._wake.clear()


def stop_all(loops: Iterable[BackgroundLoop]) -> None:
    """Stop every loop: all are asked first, then each is waited for, so passes that cannot be cut short
    (an SQS long poll) end together instead of one after another."""
    loops = list(loops)
    for loop in loops:
        loop.request_stop()
    for loop in loops:
        loop.stop()
