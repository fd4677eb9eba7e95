"""localcloud's stand-in for ElastiCache is a real redis-server, or a clear error saying how to get one."""

from __future__ import annotations

import socket

import pytest

from localcloud.redis_server import RedisServer, RedisUnavailableError


def roundtrip(port: int, command: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(command)
        return connection.recv(64)


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


def test_missing_redis_server_fails_with_the_install_hint() -> None:
    with pytest.raises(RedisUnavailableError, match="apt-get install -y redis-server"):
        RedisServer(executable="redis-server-that-does-not-exist").start()
