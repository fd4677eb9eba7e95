"""Child side of localcloud's Lambda runtime: execution environments, a function's image, a package's image.

Started as `python -I -S worker.py '<search path as a JSON list>' <mode> ...`: isolated (no PYTHONPATH, no
script directory, no site-packages), so code imports from the search path alone - the function's package,
its layers, the runtime's SDK (runtime_sdk.py) - and the standard library, as on AWS. Modes:

  environment <module.function>             one execution environment on its stdin and stdout
  image <module.function> <control fd>      a function's image: it runs the function's init (imports the
                                            handler module with the function's environment set) and forks
                                            an execution environment per `fork`, so every environment starts
                                            from the same initialised state, as SnapStart resumes them from
                                            one snapshot of init; it never runs an invocation itself
  package <control fd>                      a package's image: it imports the package's dependencies (those a
                                            function image of the same search path imported) and forks a
                                            function image per `image`, which sets its function's environment
                                            before its init. It records every environment variable those
                                            imports read: the runtime forks only functions whose environment
                                            has the same values for all of them, so the imported state is what
                                            the function's own init would have made

Control messages are packets on a Unix socket:
  runtime -> package: `preload <JSON module names>`, then `image <JSON {handler, env}>` (with two descriptors:
                      the function image's control socket and its stderr)
  package -> runtime: `ready <forkable 1|0> <JSON {variable: value or null} read>`, `forked <pid>`
  runtime -> image:   `fork` (with two descriptors: the environment's channel and its stderr),
                      `serve` (the same two: become the environment itself)
  image -> runtime:   `ready <forkable 1|0> <JSON dependency modules imported>`, `forked <pid>`
  to either, as to a parent: `kill <pid>` or `reap <pid>` (wait for a child that ended), answered by
                      `reaped <pid> <exit status>`
An image whose init failed, or left threads running (a fork would not copy them), is not forkable: the
runtime makes it the function's first environment (`serve`) and starts later ones as processes of their own,
each running the init again. When the runtime closes a control socket, the process kills its children and
exits. An init error is reported as the first invocation's error of the environment (the import is retried
on the next), as Lambda's init phase does.

An environment reads one JSON request per line ({"event", "context"}) and writes one JSON response per line
({"ok", "payload", "logs"}). Everything the handler prints or logs goes to that invocation's log buffer.

This file is run as a script and must not import anything from the project.
"""

from __future__ import annotations

import csv
import functools
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
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

_CONTROL_MESSAGE_BYTES = 1 << 20
_NOT_MODULES = {"..", "__pycache__", "bin"}  # what a RECORD lists beside modules: scripts, caches


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


def _run_child(body: Callable[[], None]) -> None:
    """A forked child's whole life, ending as a process of its own would: sys.exit's code, 1 on a crash."""
    status = 1
    try:
        body()
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        os.write(2, traceback.format_exc().encode())
    finally:
        os._exit(status)


def _take_stderr(stderr_fd: int) -> None:
    os.dup2(stderr_fd, 2)
    os.dup2(2, 1)  # fd-level writes (C extensions, child processes) must not reach a channel
    os.close(stderr_fd)


def _environment(function: _Function, descriptors: list[int]) -> None:
    """Become one execution environment on the channel the runtime sent."""
    channel_fd, stderr_fd = descriptors
    _take_stderr(stderr_fd)
    channel = socket.socket(fileno=channel_fd)
    with channel.makefile("rb") as requests, channel.makefile("wb") as responses:
        _serve(function, requests, responses)


def _reap(control: socket.socket, children: set[int], pid: int, *, kill: bool) -> None:
    status = "unknown"
    if pid in children:
        children.discard(pid)
        if kill:
            os.kill(pid, signal.SIGKILL)
        status = str(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    control.send(f"reaped {pid} {status}".encode())


def _receive(control: socket.socket) -> tuple[str, str, list[int]]:
    """The next control message: (command, argument, descriptors); ("", "", []) once the runtime closed."""
    message, descriptors, _, _ = socket.recv_fds(control, _CONTROL_MESSAGE_BYTES, 2)
    command, _, argument = message.decode().partition(" ")
    return command, argument, descriptors


def _fork_children(control: socket.socket, child: Callable[[str, list[int]], None]) -> None:
    """Fork `child(argument, descriptors)` per request until the runtime closes `control`, then end them."""
    children: set[int] = set()
    try:
        while True:
            command, argument, descriptors = _receive(control)
            if not command:
                return
            if command in {"kill", "reap"}:
                _reap(control, children, int(argument), kill=command == "kill")
                continue
            pid = os.fork()
            if pid == 0:
                control.close()
                _run_child(functools.partial(child, argument, descriptors))
            for descriptor in descriptors:
                os.close(descriptor)
            children.add(pid)
            control.send(f"forked {pid}".encode())
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _dependency_roots(search_path: list[str]) -> set[str]:
    """The top-level modules the installed distributions on the search path provide (their RECORD files)."""
    roots = set()
    for entry in search_path:
        for record in Path(entry).glob("*.dist-info/RECORD"):
            with record.open(newline="", encoding="utf-8") as rows:
                for row in csv.reader(rows):
                    first = row[0].split("/")[0] if row else ""
                    if first and not first.endswith(".dist-info") and first not in _NOT_MODULES:
                        roots.add(first.split(".")[0])
    return roots


def _run_image(function: _Function, control: socket.socket, search_path: list[str] | None) -> None:
    """Be the function's image. `search_path`: where to find the dependencies whose modules the init imported,
    for the ready message (None for an image forked from a package's, whose imports the runtime knows)."""
    roots = _dependency_roots(search_path) if search_path is not None else set()
    dependencies = [name for name in list(sys.modules) if name.split(".")[0] in roots]
    forkable = function.handler is not None and threading.active_count() == 1
    control.send(f"ready {int(forkable)} {json.dumps(dependencies)}".encode())
    if forkable:
        _fork_children(control, lambda _, descriptors: _environment(function, descriptors))
        return
    command, _, descriptors = _receive(control)
    if command == "serve":
        control.close()
        _environment(function, descriptors)


class _EnvironmentReads:
    """Records the environment variables read through os.environ (os.getenv, .get, [], in) while active."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {}
        self.all_read = False

    def __enter__(self) -> _EnvironmentReads:
        original_getitem, original_iter = os._Environ.__getitem__, os._Environ.__iter__
        reads = self

        def getitem(environ: Any, key: str) -> str:
            try:
                value: str = original_getitem(environ, key)
            except KeyError:
                reads.values.setdefault(key, None)
                raise
            reads.values.setdefault(key, value)
            return value

        def iterate(environ: Any) -> Any:
            reads.all_read = True  # a scan of the whole environment depends on all of it
            return original_iter(environ)

        self._originals = (original_getitem, original_iter)
        os._Environ.__getitem__ = getitem  # type: ignore[method-assign,assignment]
        os._Environ.__iter__ = iterate  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        os._Environ.__getitem__, os._Environ.__iter__ = self._originals  # type: ignore[method-assign]


def _function_image(log: _InvocationLog, argument: str, descriptors: list[int]) -> None:
    """In a child of a package's image: set the function's environment, run its init, be its image."""
    function_spec = json.loads(argument)
    control_fd, stderr_fd = descriptors
    _take_stderr(stderr_fd)
    os.environ.clear()
    os.environ.update(function_spec["env"])
    time.tzset()
    function = _Function(function_spec["handler"], log)
    function.initialise()
    _run_image(function, socket.socket(fileno=control_fd), None)


def _run_package(log: _InvocationLog, control: socket.socket) -> None:
    command, argument, _ = _receive(control)
    if command != "preload":
        return
    with _EnvironmentReads() as reads:
        for name in json.loads(argument):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 - a module only another function's init could import is left out
                continue
    forkable = threading.active_count() == 1 and not reads.all_read
    control.send(f"ready {int(forkable)} {json.dumps(reads.values)}".encode())
    if forkable:
        _fork_children(control, functools.partial(_function_image, log))


def main() -> None:
    search_path, mode = json.loads(sys.argv[1]), sys.argv[2]
    results = os.fdopen(os.dup(1), "wb") if mode == "environment" else None
    # fd-level writes (C extensions, child processes) must not corrupt a result channel.
    os.dup2(2, 1)
    log = _InvocationLog()
    sys.stdout = log
    sys.stderr = log
    sys.path[:0] = search_path
    if mode == "package":
        _run_package(log, socket.socket(fileno=int(sys.argv[3])))
        return
    function = _Function(sys.argv[3], log)
    function.initialise()
    if results is not None:
        _serve(function, sys.stdin.buffer, results)
    else:
        _run_image(function, socket.socket(fileno=int(sys.argv[4])), search_path)


if __name__ == "__main__":
    main()
