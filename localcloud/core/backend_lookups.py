"""moto's backend lookups without its process-wide lock, once moto has nothing left to do in them.

Every request looks up `<service>_backends[account]`, often several times, and moto takes one
process-wide lock (`backend_lock`) for each lookup: under the batch benchmark's 50 concurrent chunks a
fifth of the main process's samples were threads queued on it. Under the lock moto does two things:
it creates the account's backend if it is missing, and it registers the BackendDict in
`BackendDict._instances`, the list `BackendDict.reset()` clears when a mock ends. An earlier version of
this patch skipped both for a present account; a clean-clone run with it had three tests see another
test's SES messages, and it was reverted without the mechanism being pinned down.

So this one does exactly what moto does: a lookup skips the lock only when neither step has anything to
do, i.e. the account is present and this BackendDict was registered by a locked lookup since the last
reset(). reset() forgets the registrations under the same lock it clears `_instances` with, so the next
lookup of each dict takes the locked path again. Everything else is moto's own code.
"""

from __future__ import annotations

from typing import Any

from localcloud.core.moto_version import applied_once

# ids (BackendDict._id) of the dicts a locked lookup registered in BackendDict._instances since reset().
_registered: set[str] = set()


@applied_once
def apply() -> None:
    """Install the lock-free path for present accounts of registered dicts. Idempotent."""
    from moto.core.base_backend import BackendDict, backend_lock  # noqa: PLC0415 - moto is slow to import

    locked_lookup = BackendDict.__getitem__
    reset = BackendDict.reset.__func__  # type: ignore[attr-defined]

    def lookup(self: Any, account_id: str) -> Any:
        if self._id in _registered:
            try:
                return dict.__getitem__(self, account_id)
            except KeyError:
                pass
        found = locked_lookup(self, account_id)
        _registered.add(self._id)
        return found

    def forgetting_reset(cls: Any) -> None:
        with backend_lock:  # an RLock: moto's reset takes it again
            _registered.clear()
            reset(cls)

    BackendDict.__getitem__ = lookup  # type: ignore[method-assign]
    BackendDict.reset = classmethod(forgetting_reset)  # type: ignore[method-assign,assignment]
