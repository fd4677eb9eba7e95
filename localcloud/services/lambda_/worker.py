"""Child side of localcloud's Lambda runtime: a function's initialised image and its execution environments.

Started as `python -I -S worker.py '<search path as a JSON list>' <module.function> [<control fd>]`:
isolated (no PYTHONPATH, no script directory, no site-packages), so the handler imports from the search
path alone - its package, its layers, the runtime's SDK (runtime_sdk.py) - and the standard library, as
on AWS. The process runs the function's init first: it imports the handler module with the function's
environment already set. An import error is kept and reported as the first invocation's error of each
environment (the import is retried on the next), as Lambda's init phase does.

With a control fd, the process is the function's image: it never runs an invocation itself, but forks
an execution environment for each `fork` the runtime sends, so every environment starts from the same
initialised state, as Lambda SnapStart resumes environments from one snapshot of init. Control messages
are packets on a Unix socket:
  runtime -> image: `fork` (with two descriptors: the environment's channel and its stderr), `kill <pid>`,
                    `reap <pid>` (wait for an environment that exited by itself), `serve` (with the same
                    two descriptors: become the environment itself)
  image -> runtime: `ready <forkable: 1|0>` once init ends, `forked <pid>`, `reaped <pid> <status|unknown>`
An image whose init failed, or left threads running (a fork would not copy them), is not forkable: the
runtime makes it the function's first environment (`serve`) and starts later ones as processes of their own.
When the runtime closes the control socket, the image kills its environments and exits.
Without a control fd, the process is one execution environment on its stdin and stdout.

An environment reads one JSON request per line ({"event", "context"}) and writes one JSON response per line
({"ok", "payload", "logs"}). Everything the handler prints or logs goes to that invocation's log buffer.

This file is run as a script and must not import anything from the project.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO

_CONTROL_MESSAGE_BYTES = 256


class _InvocationLog(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr for the process's whole life.

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


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


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


class _Function:
    """The handler after init, or the init error its environment's next invocation reports."""

    def __init__(self, handler_spec: str, log: _InvocationLog) -> None:
        self.handler_spec = handler_spec
        self.log = log
        self.handler: Any = None
        self.init_error: _InitError | None = None

    def initialise(self) -> None:
        try:
            self.handler = _load_handler(self.handler_spec)
        except _InitError as exc:
            traceback.print_exception(exc.__cause__ or exc, file=self.log)
            self.init_error = exc

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.handler is None and self.init_error is None:
            self.initialise()  # a failed init is retried by the environment's next invocation
        if self.init_error is not None:
            failed, self.init_error = self.init_error, None
            return {"ok": False, "payload": json.dumps(_error(failed.error_type, str(failed)))}
        try:
            result = self.handler(request["event"], LambdaContext(request["context"]))
        except Exception as exc:
            traceback.print_exception(exc, file=self.log)
            return {"ok": False, "payload": json.dumps(_error(type(exc).__name__, str(exc), exc))}
        try:
            return {"ok": True, "payload": json.dumps(result)}
        except (TypeError, ValueError) as exc:
            marshal_error = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
            return {"ok": False, "payload": json.dumps(marshal_error)}


def _serve(function: _Function, requests: BinaryIO, responses: BinaryIO) -> None:
    for line in requests:
        response = function.invoke(json.loads(line))
        response["logs"] = function.log.take()
        responses.write((json.dumps(response) + "\n").encode())
        responses.flush()


def _environment_child(function: _Function, control: socket.socket, descriptors: list[int]) -> None:
    """In a forked child: become one execution environment on the channel the runtime sent."""
    channel_fd, stderr_fd = descriptors
    control.close()
    os.dup2(stderr_fd, 2)
    os.dup2(2, 1)
    os.close(stderr_fd)
    channel = socket.socket(fileno=channel_fd)
    with channel.makefile("rb") as requests, channel.makefile("wb") as responses:
        _serve(function, requests, responses)


def _run_environment_child(function: _Function, control: socket.socket, descriptors: list[int]) -> None:
    """The forked child's whole life, ending as a process of its own would: sys.exit's code, 1 on a crash."""
    status = 1
    try:
        _environment_child(function, control, descriptors)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        os.write(2, traceback.format_exc().encode())
    finally:
        os._exit(status)


def _reap(control: socket.socket, children: set[int], pid: int, *, kill: bool) -> None:
    status = "unknown"
    if pid in children:
        children.discard(pid)
        if kill:
            os.kill(pid, signal.SIGKILL)
        status = str(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    control.send(f"reaped {pid} {status}".encode())


def _run_image(function: _Function, control: socket.socket) -> None:
    """Fork an environment per `fork` until the runtime closes the control socket; then end them all."""
    children: set[int] = set()
    try:
        forkable = function.handler is not None and threading.active_count() == 1
        control.send(f"ready {int(forkable)}".encode())
        while True:
            message, descriptors, _, _ = socket.recv_fds(control, _CONTROL_MESSAGE_BYTES, 2)
            if not message:
                return
            command, _, argument = message.decode().partition(" ")
            if command == "serve":
                _run_environment_child(function, control, descriptors)
            elif command == "fork":
                pid = os.fork()
                if pid == 0:
                    _run_environment_child(function, control, descriptors)
                for descriptor in descriptors:
                    os.close(descriptor)
                children.add(pid)
                control.send(f"forked {pid}".encode())
            elif command in {"kill", "reap"}:
                _reap(control, children, int(argument), kill=command == "kill")
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def main() -> None:
    search_path, handler_spec = json.loads(sys.argv[1]), sys.argv[2]
    control_fd = int(sys.argv[3]) if len(sys.argv) > 3 else None
    results = os.fdopen(os.dup(1), "wb") if control_fd is None else None
    # fd-level writes (C extensions, child processes) must not corrupt a result channel.
    os.dup2(2, 1)
    log = _InvocationLog()
    sys.stdout = log
    sys.stderr = log
    sys.path[:0] = search_path
    function = _Function(handler_spec, log)
    function.initialise()
    if results is not None:
        _serve(function, sys.stdin.buffer, results)
    else:
        _run_image(function, socket.socket(fileno=control_fd))


if __name__ == "__main__":
    main()
