"""What `python -m localcloud up` shows happening: one line per request at the gateway, per Lambda
invocation (with the worker's traceback when it failed) and per call moto has not implemented.

The gateway, the Lambda runtime and the emulator log these lines at INFO through their own module
loggers; nothing shows them until `show_activity` gives them a terminal or a file, so tests and the demo,
which run the same code in-process, stay quiet.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

ACTIVITY_LOGGER = "localcloud"
TRACEBACK_HEADER = "Traceback (most recent call last):"
# moto's answer to an action it lacks (moto.core.responses.BaseResponse.call_action)
_NOT_IMPLEMENTED = re.compile(
    r"^NotImplementedError: The (?P<action>\S+) action has not been implemented$", re.MULTILINE
)


def request_line(method: str, path: str, status: int, duration_ms: float) -> str:
    """A request the gateway answered. The query string is left out: presigned and callback URLs carry
    signatures and tokens there, and this line goes to a terminal or a file."""
    return f"gateway {method} {path.partition('?')[0]} -> {status} in {duration_ms:.0f} ms"


def invocation_line(
    function_name: str,
    duration_ms: float,
    *,
    error_type: str | None,
    error_message: str | None,
    worker_logs: str,
    payload: Any,
) -> str:
    """An invocation's outcome; a failed one ends with the worker's traceback, indented."""
    if error_type is None:
        return f"lambda {function_name} ok in {duration_ms:.0f} ms"
    line = f"lambda {function_name} failed in {duration_ms:.0f} ms: {error_type}: {error_message or ''}"
    trace = worker_traceback(worker_logs, payload)
    return line.rstrip() + "".join(f"\n    {trace_line}" for trace_line in trace)


def worker_traceback(worker_logs: str, payload: Any) -> list[str]:
    """The traceback the worker printed for a failed invocation (handler and import errors alike), else
    the stackTrace of Lambda's error payload; empty when there is none (a timeout, a refused role)."""
    lines = worker_logs.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(TRACEBACK_HEADER):
            return lines[index:]
    stack = payload.get("stackTrace") if isinstance(payload, dict) else None
    if isinstance(stack, list) and stack:
        return [TRACEBACK_HEADER, *(str(frame_line) for frame_line in stack)]
    return []


def not_implemented_line(werkzeug_message: str) -> str | None:
    """One line for moto's NotImplementedError, which werkzeug logs as a full server traceback; None for
    any other error (a real bug keeps its traceback)."""
    found = _NOT_IMPLEMENTED.search(werkzeug_message)
    if found is None:
        return None
    operation = "".join(word[:1].upper() + word[1:] for word in found["action"].split("_"))
    return f"moto has not implemented {operation}: answered HTTP 500 (localcloud cannot serve this call)"


def show_activity(log_file: Path | None = None) -> logging.Handler:
    """Send localcloud's activity (INFO and up) and every library's warnings to `log_file`, appended, or
    to stderr; return the handler so a caller can remove it."""
    if log_file is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger(ACTIVITY_LOGGER).setLevel(logging.INFO)
    return handler
