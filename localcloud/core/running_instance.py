"""How another process finds a running `python -m localcloud up`: a small JSON state file.

moto's state lives in `up`'s process, so `outputs` and `invoke` need its endpoint, its gateway and the
stack's outputs: `up` writes them (with its pid) once the stack is deployed and removes the file when it
stops. The pid tells a live instance from one that died without removing its file (SIGKILL, a crash).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localcloud.core.stack_files import PROJECT_DIR

LOCALSTACK_PORT = 4566  # the emulator's port unless told: what tools configured for LocalStack expect
DEFAULT_STATE_FILE = PROJECT_DIR / "build" / "localcloud" / "instance.json"
_START_HINT = "start one with `python -m localcloud up`"


class NotRunningError(RuntimeError):
    """No live `up` behind the state file; the message is one line a person can act on."""


@dataclass(frozen=True, kw_only=True)
class RunningInstance:
    """What `up` publishes about itself."""

    pid: int
    stack: str
    region: str  # the stack's aws:region: where `invoke` looks a function name up
    endpoint_url: str  # the emulator: every AWS API
    gateway_url: str  # HTTP APIs, REST APIs and function URLs
    outputs: dict[str, Any] = field(default_factory=dict)
    log_file: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunningInstance:
        values = json.loads(text)
        return cls(
            pid=int(values["pid"]),
            stack=str(values["stack"]),
            region=str(values["region"]),
            endpoint_url=str(values["endpoint_url"]),
            gateway_url=str(values["gateway_url"]),
            outputs=dict(values.get("outputs") or {}),
            log_file=values.get("log_file"),
        )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def write_state(instance: RunningInstance, path: Path = DEFAULT_STATE_FILE) -> None:
    """Publish `instance`; readers never see a half-written file (write, then rename over)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(instance.to_json(), encoding="utf-8")
    staging.replace(path)


def read_state(path: Path = DEFAULT_STATE_FILE) -> RunningInstance:
    """The live instance `path` describes; NotRunningError when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotRunningError(f"localcloud is not running (no {_shown(path)}): {_START_HINT}") from None
    try:
        instance = RunningInstance.from_json(text)
    except (ValueError, KeyError, TypeError) as problem:
        raise NotRunningError(
            f"{_shown(path)} is not a localcloud state file ({problem}): remove it and {_START_HINT}"
        ) from None
    if not process_alive(instance.pid):
        raise NotRunningError(
            f"localcloud is not running: {_shown(path)} names pid {instance.pid}, which exited without "
            f"removing it; {_START_HINT}"
        )
    return instance


def live_instance(path: Path = DEFAULT_STATE_FILE) -> RunningInstance | None:
    """The live instance `path` describes, or None (no file, a stale one, or an unreadable one)."""
    try:
        return read_state(path)
    except NotRunningError:
        return None


def remove_state(path: Path = DEFAULT_STATE_FILE, *, pid: int) -> None:
    """Remove `path` if it is `pid`'s: an instance never removes the file another one wrote."""
    try:
        owner = RunningInstance.from_json(path.read_text(encoding="utf-8")).pid
    except (OSError, ValueError, KeyError, TypeError):
        return
    if owner == pid:
        path.unlink(missing_ok=True)


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it: what a person typed or sees."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
