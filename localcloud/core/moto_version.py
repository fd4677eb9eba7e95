"""The moto release localcloud's patches were written and checked against.

Every patch module replaces private parts of moto (methods of its models, its parser, its notification
hooks), which change between releases without notice. Each calls `require_supported_moto` before it
patches anything, so a moto upgrade fails at start, naming the patches to re-verify, instead of
misbehaving quietly. `applied_once` makes a module's apply() do both: check the version, and patch once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

SUPPORTED_MOTO_VERSION = "5.2.5"


def require_supported_moto(patches: str) -> None:
    """Refuse to patch a moto whose internals `patches` (a module path) has not been verified against."""
    import moto  # noqa: PLC0415 - moto is slow to import; only patching needs it

    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"localcloud's patches in {patches} target moto=={SUPPORTED_MOTO_VERSION} but moto "
            f"{moto.__version__} is installed; pin moto[server]=={SUPPORTED_MOTO_VERSION} in "
            f"requirements-dev.txt or re-verify {patches} against the new version"
        )


def applied_once(patch: Callable[[], None]) -> Callable[[], None]:
    """A patch module's apply(): run once per process (patching is process-global by nature), under a
    lock, and only on the moto release the module was verified against; later calls do nothing."""
    lock = threading.Lock()
    applied = False

    @functools.wraps(patch)
    def apply_once() -> None:
        nonlocal applied
        with lock:
            if not applied:
                require_supported_moto(patch.__module__)
                patch()
                applied = True

    return apply_once
