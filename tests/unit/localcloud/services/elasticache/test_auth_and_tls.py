"""A server standing in for a replication group is as strict as ElastiCache: AUTH and TLS are enforced."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import redis

from localcloud.services.elasticache.certificates import local_certificate_authority
from localcloud.services.elasticache.redis_server import RedisServer

TOKEN = "Local-AUTH-token-0123456789!&#$^<>"
TIMEOUT_SECONDS = 2.0


def proxy_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("localcloud-tls-proxy")]


def test_group_with_an_auth_token_refuses_a_client_without_it_and_accepts_one_with_it() -> None:
    # GIVEN a server standing in for a group with an AUTH token
    with RedisServer(password=TOKEN) as server:
        # WHEN a client sends a command without the token THEN it gets NOAUTH, as from ElastiCache
        with (
            redis.Redis(host=server.host, port=server.port, socket_timeout=TIMEOUT_SECONDS) as anonymous,
            pytest.raises(redis.AuthenticationError, match="Authentication required"),
        ):
            anonymous.set("key", "value")
        # AND a client with another token gets WRONGPASS
        with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
            redis.Redis(host=server.host, port=server.port, password="Another-token-0123456789").ping()
        # AND a client with the token is served
        with redis.Redis(**server.connection_options()) as owner:
            assert owner.set("key", "value")
            assert owner.get("key") == b"value"


def test_group_without_an_auth_token_asks_for_none() -> None:
    # GIVEN a server standing in for a group without AUTH WHEN a client sends no token THEN it is served
    with RedisServer() as server, redis.Redis(host=server.host, port=server.port) as client:
        assert client.ping()
        assert server.connection_options() == {"host": server.host, "port": server.port, "password": None}


def test_group_with_transit_encryption_refuses_plaintext_and_serves_tls_verified_against_the_local_ca() -> (
    None
):
    # GIVEN a server standing in for a group with transit encryption and an AUTH token
    with RedisServer(password=TOKEN, tls=True) as server:
        assert server.url.startswith("rediss://")
        # WHEN a client speaks plaintext to the endpoint THEN the connection is refused
        with (
            redis.Redis(
                host=server.host, port=server.port, password=TOKEN, socket_timeout=TIMEOUT_SECONDS
            ) as plaintext,
            pytest.raises(redis.ConnectionError),
        ):
            plaintext.ping()
        # AND a TLS client verifying the certificate against the local CA, by either name the certificate
        # holds (redis-py's defaults: certificate required, host name checked), is served
        for host in ("127.0.0.1", "localhost"):
            options = {**server.connection_options(), "host": host}
            with redis.Redis(**options) as client:
                connection = client.connection_pool.get_connection()
                assert (connection.cert_reqs, connection.check_hostname) == (ssl.CERT_REQUIRED, True)
                client.connection_pool.release(connection)
                assert client.set("over", "tls")
                assert client.get("over") == b"tls"
        assert server.ca_file == local_certificate_authority().certificate_file


def test_tls_endpoint_fails_verification_without_the_local_ca_in_the_trust_store() -> None:
    # GIVEN a TLS endpoint
    with RedisServer(tls=True) as server:
        # WHEN a client with an empty trust store (verification on) connects THEN the handshake fails
        empty = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        with (
            socket.create_connection((server.host, server.port), timeout=TIMEOUT_SECONDS) as raw,
            pytest.raises(ssl.SSLCertVerificationError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            empty.wrap_socket(raw, server_hostname=server.host)
        # AND redis-py with this process's default trust store (which lacks the local CA) fails too
        with (
            redis.Redis(
                host=server.host, port=server.port, ssl=True, socket_timeout=TIMEOUT_SECONDS
            ) as default_trust,
            pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            default_trust.ping()


def test_tls_certificate_names_only_the_loopback_endpoint() -> None:
    # GIVEN a TLS endpoint and a client trusting the local CA
    with RedisServer(tls=True) as server:
        trusting = ssl.create_default_context(cafile=server.ca_file)
        # WHEN the client expects another host name THEN the host name check fails
        with (
            socket.create_connection((server.host, server.port), timeout=TIMEOUT_SECONDS) as raw,
            pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"),
        ):
            trusting.wrap_socket(raw, server_hostname="cache.example.com")


def test_stopped_tls_group_refuses_connections_and_restarts_on_its_endpoint_with_auth_and_tls() -> None:
    # GIVEN a running TLS group with an AUTH token, holding a key
    server = RedisServer(password=TOKEN, tls=True).start()
    try:
        port = server.port
        with redis.Redis(**server.connection_options()) as client:
            client.set("before", "outage")
        # WHEN it is stopped (an outage) THEN nothing listens on its endpoint and its proxy thread is gone
        server.stop()
        assert proxy_threads() == []
        with pytest.raises(OSError):
            socket.create_connection((server.host, port), timeout=TIMEOUT_SECONDS).close()
        # WHEN it is started again on its port THEN the same endpoint serves TLS with AUTH, keyspace empty
        server.start(port=port)
        with redis.Redis(**server.connection_options()) as client:
            assert client.get("before") is None
        with (
            redis.Redis(host=server.host, port=port, ssl=True, ssl_ca_certs=str(server.ca_file)) as anonymous,
            pytest.raises(redis.AuthenticationError),
        ):
            anonymous.get("before")
    finally:
        server.stop()
    # THEN stopping leaves no proxy thread behind
    assert proxy_threads() == []
