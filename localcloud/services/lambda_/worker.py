"""Child side of localcloud's Lambda runtime: one warm execution environment in a subprocess.

Started as `python -I -S worker.py '<search path as a JSON list>' <module.function>`: isolated (no
PYTHONPATH, no script directory, no site-packages), so the handler imports from the search path alone -
its package, its layers, the runtime's SDK (runtime_sdk.py) - and the standard library, as on AWS.
Protocol: one JSON request per line on stdin ({"event", "context"}), one JSON response per line on a
private copy of the original stdout ({"ok", "payload", "logs"}). Everything the handler prints or logs
goes to that invocation's log buffer. The handler module is imported on the first request, so an
import error is reported as that invocation's error, as Lambda's init phase does.

This file is run as a script and must not import anything from the project.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import time
import traceback
from typing import Any, TextIO


class _InvocationLog(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr for the worker's whole life.

    Loggers created at import time (Powertools' Logger binds sys.stdout once) keep a reference to
    the stream, so the stream must stay the same object and switch its buffer per invocation.
    """

    def __init__(self) -> None:
        self.buffer_text = io.StringIO()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer_text.write(text)

    def take(self) -> str:
        text = self.buffer_text.getvalue()
        self.buffer_text = io.StringIO()
        return text


class LambdaContext:
    """The attributes of awslambdaric's context object that handlers and Powertools read."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.function_name: str = context["function_name"]
        self.function_version: str = context["function_version"]
        self.invoked_function_arn: str = context["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(context["memory_limit_in_mb"])
        self.aws_request_id: str = context["aws_request_id"]
        self.log_group_name: str = context["log_group_name"]
        self.log_stream_name: str = context["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + float(context["timeout_seconds"])

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self._deadline - time.monotonic()) * 1000)


def _error(error_type: str, message: str, exc: BaseException | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if exc is not None:
        # The first frame is this worker's call into the handler: not the user's code.
        handler_frames = exc.__traceback__.tb_next if exc.__traceback__ else None
        error["stackTrace"] = [line.rstrip() for line in traceback.format_tb(handler_frames)]
    return error


def _load_handler(handler_spec: str) -> Any:
    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def main() -> None:
    search_path, handler_spec = json.loads(sys.argv[1]), sys.argv[2]
    results: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # fd-level writes (C extensions, child processes) must not corrupt the result channel.
    os.dup2(2, 1)
    log = _InvocationLog()
    sys.stdout = log
    sys.stderr = log
    sys.path[:0] = search_path

    handler: Any = None
    for line in sys.stdin:
        request = json.loads(line)
        response: dict[str, Any]
        try:
            if handler is None:
                handler = _load_handler(handler_spec)
            result = handler(request["event"], LambdaContext(request["context"]))
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as exc:
                response = {
                    "ok": False,
                    "payload": json.dumps(
                        _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
                    ),
                }
            else:
                response = {"ok": True, "payload": payload}
        except _InitError as exc:
            traceback.print_exception(exc.__cause__ or exc, file=log)
            response = {"ok": False, "payload": json.dumps(_error(exc.error_type, str(exc)))}
        except Exception as exc:
            traceback.print_exception(exc, file=log)
            response = {"ok": False, "payload": json.dumps(_error(type(exc).__name__, str(exc), exc))}
        response["logs"] = log.take()
        results.write(json.dumps(response) + "\n")
        results.flush()


if __name__ == "__main__":
    main()
