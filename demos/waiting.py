"""The one way demos and e2e tests wait for an asynchronous outcome: poll until it is there, or fail."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_INTERVAL_SECONDS = 0.05


def wait_until(check: Callable[[], Any], what: str, timeout_seconds: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_seconds} s")
        time.sleep(POLL_INTERVAL_SECONDS)
