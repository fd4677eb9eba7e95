"""Initialised processes that Lambda execution environments are forked from (worker.py's image modes).

A FunctionImage runs its function's init once - the handler module imported with the function's code,
layers and environment - and forks each new execution environment from that state, as SnapStart resumes
environments from one snapshot of init: a function that scales to eight environments runs its init once.
An init that failed, or left threads running (a fork would not copy them), cannot be cloned: the image then
becomes the function's first environment itself (which reports the failed init on its first invocation and
retries it on the next, as Lambda does), and each later one is a process of its own that runs the init again.

A PackageImage serves the functions that share one search path (a stack's functions share one package): it
imports the package's dependencies that a function image of that path imported (boto3, Powertools, ...),
recording every environment variable those imports read, and forks a function image for each function
whose environment has the same value (or absence) for every one of them; the child sets the function's
environment and runs its init. The imported state is then what the function's own init would have made
from the same code, so a function image costs its handler's own imports instead of a whole interpreter's
start and its dependencies' imports.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from localcloud.services.lambda_.execution_environment import (
    STDERR_TAIL_LINES,
    WORKER_COMMAND,
    ExecutionEnvironment,
    InitTimedOutError,
    SocketEnvironment,
    SpawnedEnvironment,
    drain,
    path_argument,
)

_CONTROL_MESSAGE_BYTES = 1 << 20
# An image answers a fork or a reap at once; waiting longer means it is stuck.
_CONTROL_REPLY_SECONDS = 10.0

_Answer = TypeVar("_Answer")

# end(kill): end the image's process (killing it first if `kill`) and give its exit status.
End = Callable[[bool], int | str]


def _spawn_image(
    search_path: Sequence[Path], mode: Sequence[str], env: dict[str, str]
) -> tuple[socket.socket, int, End]:
    """Start worker.py in an image mode (`mode`: its arguments before the control fd) with `env`, in the
    package's directory (the search path's first entry): (our end of its control socket, its pid, its end)."""
    control, image_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with image_end:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running our own worker script
            [*WORKER_COMMAND, path_argument(search_path), *mode, str(image_end.fileno())],
            pass_fds=(image_end.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=search_path[0],
        )
    assert process.stderr is not None
    # Read so that it never blocks on a full pipe; each environment reports from a stderr pipe of its own.
    drain(process.stderr, deque(maxlen=STDERR_TAIL_LINES), f"lambda-image-stderr-{process.pid}")
    return control, process.pid, _ends_process(process)


def _ends_process(process: Any) -> End:
    def end(kill: bool) -> int:
        if not kill:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return int(process.wait(timeout=5))
        with contextlib.suppress(OSError):
            process.kill()
        return int(process.wait())

    return end


class _Image:
    """A process that forks children on request over a control socket and reaps them when asked."""

    def __init__(self, control: socket.socket, pid: int, end: End) -> None:
        self._control = control
        self.pid = pid
        self._end = end
        self._lock = threading.Lock()
        self._ready: bool | None = None  # None until the process has said it is ready
        self._broken = False

    @property
    def broken(self) -> bool:
        """True once the image can start nothing more (it timed out, failed or was closed)."""
        return self._broken

    def _await_ready(self, timeout_seconds: float) -> tuple[bool, Any]:
        """(forkable, the JSON the ready message carries); InitTimedOutError after `timeout_seconds`."""
        self._control.settimeout(max(timeout_seconds, 0.001))
        try:
            forkable, _, payload = self._reply("ready").partition(" ")
        except OSError as failure:
            self.close()
            if isinstance(failure, TimeoutError):
                raise InitTimedOutError from None
            raise
        self._control.settimeout(_CONTROL_REPLY_SECONDS)
        return forkable == "1", json.loads(payload)

    def _reply(self, expected: str) -> str:
        message = self._control.recv(_CONTROL_MESSAGE_BYTES).decode()
        command, _, argument = message.partition(" ")
        if command != expected:
            raise OSError(f"the image answered {message[:80]!r} where {expected!r} was due")
        return argument

    def _fork(self, message: str, descriptors: list[int]) -> int:
        """Send a fork request with its descriptors; the child's pid."""
        socket.send_fds(self._control, [message.encode()], descriptors)
        return int(self._reply("forked"))

    def _start_child(
        self, kind: socket.SocketKind, request: Callable[[list[int]], _Answer]
    ) -> tuple[socket.socket, IO[bytes], _Answer]:
        """A socket of `kind` and a stderr pipe for a new child, whose ends `request(descriptors)` hands
        over: (our end of the socket, the child's stderr, what the request answered)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, kind)
        stderr_read, stderr_write = os.pipe()
        try:
            answer = request([theirs.fileno(), stderr_write])
        except (OSError, ValueError):
            ours.close()
            os.close(stderr_read)
            self._broken = True
            raise
        finally:
            theirs.close()
            os.close(stderr_write)
        return ours, os.fdopen(stderr_read, "rb"), answer

    def reap(self, pid: int, kill: bool) -> int | str:
        """Wait for one of the image's children to end (killing it first if `kill`): its exit status."""
        with self._lock:
            try:
                self._control.send(f"{'kill' if kill else 'reap'} {pid}".encode())
                _, _, status = self._reply("reaped").partition(" ")
            except OSError:
                # The image is gone: its child outlives it only until it is killed here.
                self._broken = True
                if kill:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                return "unknown"
        return int(status) if status.lstrip("-").isdigit() else status

    def close(self) -> None:
        """End the image and every child it forked (a process still in its init is killed)."""
        self._broken = True
        with contextlib.suppress(OSError):
            self._control.close()
        self._end(self._ready is None)


class FunctionImage(_Image):
    """One function's initialised process; its execution environments are forked from it."""

    def __init__(
        self,
        control: socket.socket,
        pid: int,
        end: End,
        spawn_arguments: tuple[Path, tuple[Path, ...], str, dict[str, str]],
    ) -> None:
        super().__init__(control, pid, end)
        self._spawn_arguments = spawn_arguments
        self._serving = False  # an image that cannot fork serves as the first environment
        self.dependencies: list[str] = []  # the dependency modules its init imported

    @classmethod
    def spawned(cls, search_path: Sequence[Path], handler: str, env: dict[str, str]) -> FunctionImage:
        """An image that is a process of its own, started with the function's environment."""
        control, pid, end = _spawn_image(search_path, ("image", handler), env)
        return cls(control, pid, end, (search_path[0], tuple(search_path), handler, env))

    def start_environment(self, timeout_seconds: float) -> ExecutionEnvironment:
        """A new execution environment; the first waits up to `timeout_seconds` for the function's init."""
        with self._lock:
            if self._ready is None:
                self._ready, self.dependencies = self._await_ready(timeout_seconds)
            if not self._ready and self._serving:
                return SpawnedEnvironment(*self._spawn_arguments)
            channel, stderr, (pid, end) = self._start_child(socket.SOCK_STREAM, self._environment_request)
        return SocketEnvironment(pid, end, channel, stderr)

    def _environment_request(self, descriptors: list[int]) -> tuple[int, End]:
        """Ask for an environment on `descriptors`: a fork, or the image itself when it cannot fork."""
        if self._ready:
            pid = self._fork("fork", descriptors)
            return pid, functools.partial(self.reap, pid)
        socket.send_fds(self._control, [b"serve"], descriptors)
        self._serving = True
        return self.pid, self._end


class PackageImage(_Image):
    """The dependencies of one search path imported once; function images of that path are forked from it."""

    def __init__(self, search_path: Sequence[Path], modules: Sequence[str], env: dict[str, str]) -> None:
        super().__init__(*_spawn_image(search_path, ("package",), env))
        self._search_path = tuple(search_path)
        self._reads: dict[str, str | None] = {}
        self._control.send(f"preload {json.dumps(list(modules))}".encode())

    def await_ready(self, timeout_seconds: float) -> None:
        """Wait for the imports (InitTimedOutError after `timeout_seconds`)."""
        with self._lock:
            if self._ready is None:
                self._ready, self._reads = self._await_ready(timeout_seconds)

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a function with this environment may be forked from the imports: every variable they read
        has the same value (or absence) in it."""
        return (
            bool(self._ready)
            and not self._broken
            and all(env.get(name) == value for name, value in self._reads.items())
        )

    def function_image(self, handler: str, env: dict[str, str]) -> FunctionImage:
        """Fork a function image, which sets `env` and runs the function's init."""
        request = f"image {json.dumps({'handler': handler, 'env': env})}"
        with self._lock:
            control, stderr, pid = self._start_child(
                socket.SOCK_SEQPACKET, functools.partial(self._fork, request)
            )
        drain(stderr, deque(maxlen=STDERR_TAIL_LINES), f"lambda-image-stderr-{pid}")
        spawn_arguments = (self._search_path[0], self._search_path, handler, env)
        return FunctionImage(control, pid, functools.partial(self.reap, pid), spawn_arguments)


# Package images differ only when the environment variables their imports read differ between functions
# (none that do, in this project's stacks); a few per search path bound a stack whose functions all differ.
_PACKAGE_IMAGES_PER_SEARCH_PATH = 3


class Images:
    """A runtime's images: function images by function (code, environment, layers, handler), package images
    by search path, and what each search path's first function image imported (what its packages import)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._functions: dict[tuple[str, ...], FunctionImage] = {}
        self._packages: dict[tuple[Path, ...], list[PackageImage]] = {}
        self._dependencies: dict[tuple[Path, ...], list[str]] = {}

    def start_environment(
        self,
        function_key: tuple[str, ...],
        search_path: tuple[Path, ...],
        handler: str,
        env: dict[str, str],
        timeout_seconds: float,
    ) -> ExecutionEnvironment:
        """A new execution environment of the function, from its image (started on first need: forked from a
        package image that serves its environment, else a process of its own)."""
        with self._lock:
            image = self._functions.get(function_key)
            if image is None or image.broken:
                if image is not None:
                    image.close()  # whatever is left of it
                package = self._package_image(search_path, env, timeout_seconds)
                image = self._functions[function_key] = (
                    package.function_image(handler, env)
                    if package is not None
                    else FunctionImage.spawned(search_path, handler, env)
                )
        environment = image.start_environment(timeout_seconds)
        with self._lock:
            self._dependencies.setdefault(search_path, image.dependencies)
        return environment

    def _package_image(
        self, search_path: tuple[Path, ...], env: dict[str, str], timeout_seconds: float
    ) -> PackageImage | None:
        """A package image of the search path that serves `env`, started if none does once a function image
        of that path has shown what to import; None when there is none to use."""
        modules = self._dependencies.get(search_path)
        packages = self._packages.setdefault(search_path, [])
        serving = next((package for package in packages if package.serves(env)), None)
        if serving is not None or not modules or len(packages) >= _PACKAGE_IMAGES_PER_SEARCH_PATH:
            return serving
        package = PackageImage(search_path, modules, env)
        packages.append(package)
        try:
            package.await_ready(timeout_seconds)
        except (InitTimedOutError, OSError):
            return None  # the function's image then runs its own imports
        return package if package.serves(env) else None

    def close(self) -> None:
        """End every image (after the runtime has ended their environments), then the package images."""
        with self._lock:
            functions, self._functions = list(self._functions.values()), {}
            packages = [package for listed in self._packages.values() for package in listed]
            self._packages = {}
        for image in functions:
            image.close()
        for package in packages:
            package.close()
