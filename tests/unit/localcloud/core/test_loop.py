"""The background loop every poller and replicator runs on: passes, waits, wake-ups, failures, stop."""

from __future__ import annotations

import threading
import time

from localcloud.core.loop import BackgroundLoop, stop_all


class Recorder(BackgroundLoop):
    def __init__(self, wait_seconds: float, fail_first: int = 0) -> None:
        super().__init__(name="test-loop", retry_seconds=0.01)
        self.wait_seconds = wait_seconds
        self.fail_first = fail_first
        self.calls = 0
        self.woken_passes: list[bool] = []
        self.ran = threading.Event()

    def run_once(self) -> float:
        self.calls += 1
        self.woken_passes.append(self.woken)
        self.ran.set()
        if self.calls <= self.fail_first:
            raise RuntimeError("a bad pass")
        return self.wait_seconds


def test_a_wake_runs_the_next_pass_before_the_wait_ends() -> None:
    # GIVEN a loop that waits a minute between passes, after its first pass
    loop = Recorder(wait_seconds=60).start()
    try:
        assert loop.wait_for_passes(1, time.monotonic() + 5)
        # WHEN it is woken
        loop.wake()
        # THEN a second pass runs at once, and knows it was woken
        assert loop.wait_for_passes(2, time.monotonic() + 5)
        assert loop.woken_passes[:2] == [True, True]
    finally:
        loop.stop()
    assert not loop.running


def test_a_failing_pass_is_retried_and_not_counted() -> None:
    loop = Recorder(wait_seconds=0.01, fail_first=2).start()
    try:
        assert loop.wait_for_passes(1, time.monotonic() + 5)
        assert loop.calls >= 3
    finally:
        loop.stop()


def test_without_a_thread_a_waiter_drives_the_passes_itself() -> None:
    loop = Recorder(wait_seconds=60)
    assert loop.wait_for_passes(3, time.monotonic() + 5)
    assert (loop.calls, loop.passes, loop.running) == (3, 3, False)


class StopRecorder(Recorder):
    """Notes, when stop() starts waiting for it, which loops of `siblings` have been asked to stop."""

    def __init__(self, siblings: list[StopRecorder]) -> None:
        super().__init__(wait_seconds=60)
        self.siblings = siblings
        self.asked_when_waited: list[bool] = []

    def stop(self) -> None:
        self.asked_when_waited = [sibling.stopping for sibling in self.siblings]
        super().stop()


def test_stop_all_asks_every_loop_before_waiting_for_any() -> None:
    # GIVEN three running loops (a pass of each may be one that cannot be cut short, e.g. a long poll)
    loops: list[StopRecorder] = []
    loops.extend(StopRecorder(loops) for _ in range(3))
    for loop in loops:
        loop.start()
    # WHEN all are stopped
    stop_all(loops)
    # THEN each wait began with every loop already asked to stop, so their last passes overlap
    assert [loop.asked_when_waited for loop in loops] == [[True, True, True]] * 3
    assert not any(loop.running for loop in loops)
