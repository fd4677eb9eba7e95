"""A real redis-server on a free loopback port, standing in for an ElastiCache replication group."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

INSTALL_HINT = (
    "install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`"
)
STARTUP_TIMEOUT_SECONDS = 10.0


class RedisUnavailableError(RuntimeError):
    """redis-server is missing or did not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """redis-server bound to 127.0.0.1 only, no persistence: every localcloud run starts empty."""

    def __init__(self, executable: str = "redis-server") -> None:
        self._executable = executable
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, port: int | None = None) -> RedisServer:
        """Start on `port`, or on a free one; restarting a stopped server on its old port (`start(port=
        server.port)`) keeps every client's endpoint valid, with an empty keyspace (no persistence)."""
        if self.running:
            raise RuntimeError(f"redis-server is already running on {self.host}:{self.port}")
        binary = shutil.which(self._executable)
        if binary is None:
            raise RedisUnavailableError(
                f"{self._executable} is not on PATH; localcloud runs a real Redis for "
                f"ElastiCache: {INSTALL_HINT}"
            )
        self.port = port or free_port()
        self._workdir = tempfile.TemporaryDirectory(prefix="localcloud-redis-")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._workdir.name,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RedisUnavailableError(f"redis-server exited with {self._process.returncode}: {stderr}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)  # the server is still binding its port
        self.stop()
        raise RedisUnavailableError(f"redis-server did not answer PING within {STARTUP_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
