"""A write path's listeners: a stopped replicator is removed, so its hook no longer runs on writes."""

from __future__ import annotations

from localcloud.core.listeners import Listeners


class _Replicator:
    def __init__(self, listeners: Listeners[[str]]) -> None:
        self.heard: list[str] = []
        self._listeners = listeners

    def start(self) -> None:
        self._listeners.add(self._written)

    def stop(self) -> None:
        self._listeners.remove(self._written)

    def _written(self, key: str) -> None:
        self.heard.append(key)


def test_a_listener_added_as_a_bound_method_is_removed_by_the_same_bound_method() -> None:
    # GIVEN two replicators listening to one write path, one of which stops
    listeners: Listeners[[str]] = Listeners()
    stopped, running = _Replicator(listeners), _Replicator(listeners)
    stopped.start()
    running.start()
    stopped.stop()
    # WHEN a write is announced
    listeners.notify("orders/1")
    # THEN only the running one hears it (`self._written` is a new object on every access)
    assert (stopped.heard, running.heard) == ([], ["orders/1"])
