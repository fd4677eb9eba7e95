"""Lambda execution environments: processes running worker.py, each serving one function's invocations.

A worker is this interpreter without site-packages (`python -I -S`), so a handler imports only from its
search path: the function's unpacked package, its layers and the runtime's SDK (runtime_sdk.py). Most
environments are forked from their function's image (images.py) and talk over a socket (SocketEnvironment);
a function whose init cannot be copied gets processes of its own (SpawnedEnvironment). Requests and
responses are JSON lines on an environment's channel; its stderr is kept (the last lines) to explain a
crash. A call that times out kills the environment: Lambda discards a timed-out environment too.

The runtime's trust store (trust_store()) is this machine's CA bundle plus localcloud's CA, as a Lambda
runtime's holds the Amazon CAs that AWS endpoints (ElastiCache's TLS among them) chain to.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
# This interpreter without site-packages, running the worker script: see worker.py for its modes.
WORKER_COMMAND = (sys.executable, "-I", "-S", str(WORKER_SCRIPT))
STDERR_TAIL_LINES = 50


def system_ca_bundle() -> Path | None:
    """The CA file OpenSSL trusts by default here (SSL_CERT_FILE, else the distribution's), else certifi's."""
    default = ssl.get_default_verify_paths().cafile
    if default and os.path.isfile(default):
        return Path(default)
    try:
        import certifi  # noqa: PLC0415 - only a machine without a system bundle needs it
    except ImportError:
        return None
    return Path(certifi.where())


def trust_store(authorities: Sequence[Path], target: Path) -> Path:
    """Write `target`: the system CA bundle followed by `authorities` (PEM files); workers get it as
    SSL_CERT_FILE, which OpenSSL's default verify paths (ssl.create_default_context()) read."""
    system = system_ca_bundle()
    parts = [system.read_bytes()] if system is not None else []
    parts += [authority.read_bytes() for authority in authorities]
    target.write_bytes(b"\n".join(part.rstrip(b"\n") for part in parts) + b"\n")
    return target


class InitTimedOutError(Exception):
    """A function's init did not finish within the invocation's timeout."""


def timed_out(timeout_seconds: float) -> dict[str, Any]:
    error = {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"Task timed out after {timeout_seconds:.2f} seconds",
    }
    return {"ok": False, "payload": json.dumps(error), "logs": ""}


def _exited(exit_status: int | str, stderr_tail: deque[str]) -> dict[str, Any]:
    message = f"Runtime exited with error: exit status {exit_status}"
    error = {"errorType": "Runtime.ExitError", "errorMessage": message}
    return {"ok": False, "payload": json.dumps(error), "logs": "".join(stderr_tail)}


def drain(stream: IO[bytes], tail: deque[str], name: str) -> None:
    """Keep the last lines a process writes to `stream` (they explain a crash), on a thread of its own."""

    def drain() -> None:
        with stream:
            for line in iter(stream.readline, b""):
                tail.append(line.decode("utf-8", "replace"))

    threading.Thread(target=drain, name=name, daemon=True).start()


class ExecutionEnvironment:
    """One warm execution environment: a process that has run the function's init and serves its invocations
    one at a time, either forked from the function's image (FunctionImage) or started on its own."""

    def __init__(self, pid: int, requests: IO[bytes], responses: IO[bytes], stderr: IO[bytes]) -> None:
        self.id = uuid.uuid4().hex
        self.pid = pid
        self._requests = requests
        self._responses = responses
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        drain(stderr, self._stderr_tail, f"lambda-environment-stderr-{self.id}")

    def call(self, request: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        try:
            self._requests.write((json.dumps(request) + "\n").encode())
            self._requests.flush()
        except (BrokenPipeError, OSError):
            return _exited(self._wait_for_exit(), self._stderr_tail)
        ready, _, _ = select.select([self._responses], [], [], max(0.0, timeout_seconds))
        if not ready:
            self.kill()
            return timed_out(timeout_seconds)
        line = self._responses.readline()
        if not line:
            return _exited(self._wait_for_exit(), self._stderr_tail)
        response: dict[str, Any] = json.loads(line)
        return response

    def _wait_for_exit(self) -> int | str:
        """The exit status of a process whose channel closed."""
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def _close_channel(self) -> None:
        for stream in (self._requests, self._responses):
            with contextlib.suppress(Exception):
                stream.close()


class SpawnedEnvironment(ExecutionEnvironment):
    """An execution environment that is a process of its own, on its stdin and stdout."""

    def __init__(
        self, code_dir: Path, search_path: Sequence[Path], handler: str, env: dict[str, str]
    ) -> None:
        """search_path: where the handler imports from, in order (the package's directory first)."""
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running our own worker script
            [*WORKER_COMMAND, path_argument(search_path), "environment", handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=code_dir,
        )
        assert self._process.stdin and self._process.stdout and self._process.stderr
        super().__init__(self._process.pid, self._process.stdin, self._process.stdout, self._process.stderr)

    def _wait_for_exit(self) -> int:
        return self._process.wait()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._process.kill()
        with contextlib.suppress(Exception):
            self._process.wait(timeout=5)
        self._close_channel()


class SocketEnvironment(ExecutionEnvironment):
    """An execution environment on a socket of its own: forked from its function's image, or the image
    itself when it cannot fork. `end(kill)` ends its process (killing it first if `kill`) and gives the
    exit status."""

    def __init__(
        self, pid: int, end: Callable[[bool], int | str], channel: socket.socket, stderr: IO[bytes]
    ) -> None:
        self._end = end
        self._channel = channel
        self._gone = False
        super().__init__(pid, channel.makefile("wb"), channel.makefile("rb"), stderr)

    def _wait_for_exit(self) -> int | str:
        self._gone = True
        status = self._end(False)
        self._close_channel()
        return status

    @property
    def alive(self) -> bool:
        if self._gone:
            return False
        readable, _, _ = select.select([self._channel], [], [], 0)
        # Between invocations an environment writes nothing: a readable channel has been closed by its end.
        return not readable or self._channel.recv(1, socket.MSG_PEEK) != b""

    def kill(self) -> None:
        if not self._gone:
            self._gone = True
            self._end(True)
        self._close_channel()

    def _close_channel(self) -> None:
        super()._close_channel()
        with contextlib.suppress(Exception):
            self._channel.close()


def path_argument(search_path: Sequence[Path]) -> str:
    return json.dumps([str(entry) for entry in search_path])
