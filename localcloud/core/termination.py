"""SIGTERM stops a localcloud process as Ctrl-C does; a process that has stopped its LocalCloud exits
without tracing the heap the emulator left.

Python's default SIGTERM ends the process at once: no `finally` runs, so the Redis servers, Lambda
workers and temporary directories a LocalCloud started outlive it. Raised as KeyboardInterrupt in the main
thread, SIGTERM takes the path Ctrl-C takes (`except KeyboardInterrupt`, then `finally: cloud.stop()`).
"""

from __future__ import annotations

import gc
import signal
from types import FrameType


def stop_on_sigterm() -> None:
    """From now on, the first SIGTERM raises KeyboardInterrupt in the main thread; later ones are ignored,
    so a second `kill` (or a service manager's repeat) cannot cut the cleanup short. Call it from the main
    thread (signal handlers can only be set there)."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signal_number: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt("SIGTERM")


def exit_untraced() -> None:
    """Call once the process has nothing left to do but exit (its LocalCloud stopped): the interpreter's
    shutdown runs full garbage collections, and over what an emulator leaves (moto's backends, botocore's
    models, the program's resources) they took 6 of the demo's last 9 s. Frozen objects are left out of
    every collection; their memory goes back to the system with the process."""
    gc.freeze()
