"""Process-wide callbacks a write path calls: how a data plane learns of new work without polling for it.

The emulator's write paths (a DynamoDB stream record appended, an S3 object written) tell whoever
listens; listeners are cheap and non-blocking (an Event's set), since they run inside the write. Adding
and removing copy the tuple, so notifying never takes a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Listeners(Generic[P]):
    def __init__(self) -> None:
        self._listeners: tuple[Callable[P, None], ...] = ()
        self._lock = threading.Lock()

    def add(self, listener: Callable[P, None]) -> None:
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove(self, listener: Callable[P, None]) -> None:
        with self._lock:
            # ==, not `is`: a bound method (`self._table_written`) is a new object on every access, so the
            # one a replicator removes is never the one it added, but the two compare equal.
            self._listeners = tuple(known for known in self._listeners if known != listener)

    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in self._listeners:
            listener(*args, **kwargs)
