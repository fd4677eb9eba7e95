"""What localcloud's commands and the demo share: how they report, fail and read `--config` pairs."""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_FAILED = 1
EXIT_USAGE = 2


def config_overrides(pairs: Sequence[str], project: str) -> dict[str, str]:
    """`--config key=value` pairs as namespaced config (a bare key belongs to the project)."""
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--config expects key=value (e.g. {project}:someSetting=5), got {pair!r}")
        overrides[key if ":" in key else f"{project}:{key}"] = value
    return overrides


def report(message: str) -> None:
    print(message, flush=True)


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code
