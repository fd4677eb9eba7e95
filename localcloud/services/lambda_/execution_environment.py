"""One warm Lambda execution environment: a worker subprocess (worker.py) that runs one handler.

The worker is this interpreter without site-packages (`python -I -S`), so a handler imports only from its
search path: the function's unpacked package, its layers and the runtime's SDK (runtime_sdk.py). Requests and
responses are JSON lines on the worker's stdin/stdout; its stderr is kept (the last lines) to explain a
crash. A call that times out kills the worker: Lambda discards a timed-out environment too.

The runtime's trust store (trust_store()) is this machine's CA bundle plus localcloud's CA, as a Lambda
runtime's holds the Amazon CAs that AWS endpoints (ElastiCache's TLS among them) chain to.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import ssl
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_STDERR_TAIL_LINES = 50


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


class ExecutionEnvironment:
    """One warm execution environment: a subprocess that has imported the handler (after the first call)."""

    def __init__(
        self, code_dir: Path, search_path: Sequence[Path], handler: str, env: dict[str, str]
    ) -> None:
        """search_path: where the handler imports from, in order (the package's directory first)."""
        self.id = uuid.uuid4().hex
        path_argument = json.dumps([str(entry) for entry in search_path])
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running our own worker script
            [sys.executable, "-I", "-S", str(WORKER_SCRIPT), path_argument, handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=code_dir,
        )
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        threading.Thread(
            target=self._drain_stderr, name=f"lambda-worker-stderr-{self.id}", daemon=True
        ).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _drain_stderr(self) -> None:
        stream = self._process.stderr
        assert stream is not None
        for line in iter(stream.readline, b""):
            self._stderr_tail.append(line.decode("utf-8", "replace"))

    def call(self, request: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        stdin: IO[bytes] | None = self._process.stdin
        stdout: IO[bytes] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write((json.dumps(request) + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            return self._exited()
        ready, _, _ = select.select([stdout], [], [], timeout_seconds)
        if not ready:
            self.kill()
            return {
                "ok": False,
                "payload": json.dumps(
                    {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {timeout_seconds:.2f} seconds",
                    }
                ),
                "logs": "",
            }
        line = stdout.readline()
        if not line:
            return self._exited()
        response: dict[str, Any] = json.loads(line)
        return response

    def _exited(self) -> dict[str, Any]:
        code = self._process.wait()
        return {
            "ok": False,
            "payload": json.dumps(
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"Runtime exited with error: exit status {code}",
                }
            ),
            "logs": "".join(self._stderr_tail),
        }

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._process.kill()
        with contextlib.suppress(Exception):
            self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
