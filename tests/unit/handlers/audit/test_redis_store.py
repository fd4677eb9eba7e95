"""The claim-check store: one place for the endpoint, auth token, key names and lifetime of payloads."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import redis

from handlers.audit import ingest_api, redis_store
from handlers.audit.contract import RedisSettings
from handlers.audit.redis_store import (
    PayloadNotFoundError,
    PayloadStore,
    RedisUnavailableError,
    payload_key,
)
from localcloud.services.elasticache.redis_server import RedisServer, free_port

from .conftest import (
    REDIS_TTL_SECONDS,
    TTL_READ_SLACK_SECONDS,
    AuditCloud,
    audit_post,
    audit_request,
    post,
)

AUTH_TOKEN = "s3cr3t-auth-token-0123456789abcdef"


def test_payload_keys_are_named_for_the_message() -> None:
    assert payload_key("0f9a2b4c") == "audit:payload:0f9a2b4c"


def test_settings_come_from_the_lambda_environment() -> None:
    # GIVEN the environment the component sets for a TLS endpoint with an auth secret
    env = {
        "REDIS_HOST": "master.audit.abc123.euw1.cache.amazonaws.com",
        "REDIS_PORT": "6380",
        "REDIS_TLS": "TRUE",
        "REDIS_AUTH_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:audit-redis-AbCdEf",
        "REDIS_TTL_SECONDS": "172800",
    }
    # WHEN it is read
    settings = RedisSettings.from_environment(env)
    # THEN every setting is taken, and the client gets ~2 s socket timeouts
    assert settings == RedisSettings(
        redis_host=env["REDIS_HOST"],
        redis_port=6380,
        redis_tls=True,
        redis_auth_secret_arn=env["REDIS_AUTH_SECRET_ARN"],
        redis_ttl_seconds=172800,
    )
    assert settings.endpoint == f"rediss://{env['REDIS_HOST']}:6380"
    connection = redis_store.connect(settings).connection_pool.connection_kwargs
    assert connection["socket_timeout"] == connection["socket_connect_timeout"] == 2.0
    # AND the defaults are plain Redis on 6379 with a day's lifetime and no auth
    defaults = RedisSettings.from_environment({"REDIS_HOST": "localhost"})
    assert defaults == RedisSettings(redis_host="localhost")
    assert (defaults.endpoint, defaults.redis_ttl_seconds) == ("redis://localhost:6379", 86400)
    assert defaults.redis_auth_secret_arn is None


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "REDIS_HOST is not set"),
        ({"REDIS_HOST": "h", "REDIS_TLS": "yes"}, "REDIS_TLS='yes' is not a valid .*expected true or false"),
        ({"REDIS_HOST": "h", "REDIS_TTL_SECONDS": "0"}, "REDIS_TTL_SECONDS is 0"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RedisSettings.from_environment(env)


def test_a_payload_is_stored_with_the_configured_lifetime_and_read_back(audit_cloud: AuditCloud) -> None:
    # GIVEN the store the environment describes
    store = redis_store.from_environment()
    # WHEN a binary payload is put
    payload = bytes(range(256)) * 4
    store.put("audit:payload:m-1", payload)
    # THEN it reads back byte for byte and expires after REDIS_TTL_SECONDS (an hour): not later, and not
    # sooner either (a lifetime in milliseconds would leave it 3.6 s)
    assert store.get("audit:payload:m-1") == payload
    remaining = audit_cloud.redis_ttl_seconds("audit:payload:m-1")
    assert REDIS_TTL_SECONDS - TTL_READ_SLACK_SECONDS <= remaining <= REDIS_TTL_SECONDS
    # AND deleting reports whether it was there
    assert store.delete("audit:payload:m-1") is True
    assert store.delete("audit:payload:m-1") is False
    assert store.get("audit:payload:m-1") is None


def test_a_missing_payload_is_reported_with_its_key_and_message(audit_cloud: AuditCloud) -> None:
    store = redis_store.from_environment()
    with pytest.raises(
        PayloadNotFoundError, match=r"message m-2 not found in Redis at key 'audit:payload:m-2'"
    ):
        store.require("audit:payload:m-2", message_id="m-2")


@contextlib.contextmanager
def hanging_up_listener() -> Iterator[tuple[int, list[int]]]:
    """A loopback port that accepts connections and closes them at once, as a Redis going down does;
    yields (port, connections accepted so far) while it listens."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # the listener was closed: the test is over
                return
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        # shutdown wakes the blocked accept (close alone does not, on Linux)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(timeout=5)


def test_an_endpoint_nobody_listens_on_is_unavailable_naming_it() -> None:
    # GIVEN a loopback port nobody listens on
    port = free_port()
    settings = RedisSettings(redis_host="127.0.0.1", redis_port=port)
    store = PayloadStore(redis_store.connect(settings), settings)
    # WHEN a payload is put, read or deleted
    # THEN each fails with RedisUnavailableError naming the endpoint
    for operation in (lambda: store.put("k", b"v"), lambda: store.get("k"), lambda: store.delete("k")):
        with pytest.raises(
            RedisUnavailableError, match=rf"audit store \(Redis\) at redis://127.0.0.1:{port}"
        ):
            operation()


def test_an_unreachable_redis_fails_fast_naming_the_endpoint() -> None:
    # GIVEN a Redis endpoint that hangs up on every connection
    with hanging_up_listener() as (port, accepted):
        settings = RedisSettings(redis_host="127.0.0.1", redis_port=port)
        client = redis_store.connect(settings)
        store = PayloadStore(client, settings)
        # WHEN a payload is put, read or deleted
        for operation in (lambda: store.put("k", b"v"), lambda: store.get("k"), lambda: store.delete("k")):
            before = len(accepted)
            # THEN each fails with RedisUnavailableError naming the endpoint
            with pytest.raises(
                RedisUnavailableError, match=rf"audit store \(Redis\) at redis://127.0.0.1:{port}"
            ):
                operation()
            # AND after at most two connections (one, and one immediate reconnect): no retry loop
            assert 1 <= len(accepted) - before <= 2
    # AND every connection and socket read gives up after 2 s, so an operation costs at most two
    # attempts of 2 + 2 s: well inside the API's 30 s, with time left to salvage the request
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 2.0
    assert options["retry"].get_retries() == 1


@pytest.mark.parametrize("secret", [AUTH_TOKEN, json.dumps({"authToken": AUTH_TOKEN})])
def test_the_auth_token_comes_from_secrets_manager(
    audit_cloud: AuditCloud, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    # GIVEN a Redis that requires a password, and the token in Secrets Manager (plain, or JSON)
    with RedisServer() as server:
        redis.Redis(host=server.host, port=server.port).config_set("requirepass", AUTH_TOKEN)
        arn = audit_cloud.secretsmanager.create_secret(Name="audit-redis-auth", SecretString=secret)["ARN"]
        monkeypatch.setenv("REDIS_PORT", str(server.port))
        monkeypatch.setenv("REDIS_AUTH_SECRET_ARN", arn)
        # WHEN the store is built from the environment
        store = redis_store.from_environment()
        # THEN it authenticates and works
        store.put("audit:payload:m-3", b"v")
        assert store.get("audit:payload:m-3") == b"v"
        # AND without the token the same server refuses
        with pytest.raises(RedisUnavailableError, match="Authentication required"):
            PayloadStore(redis_store.connect(store.settings), store.settings).get("audit:payload:m-3")


def test_a_json_secret_without_an_auth_token_is_refused_clearly(
    audit_cloud: AuditCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = audit_cloud.secretsmanager.create_secret(Name="audit-redis-auth", SecretString='{"password": "x"}')[
        "ARN"
    ]
    monkeypatch.setenv("REDIS_AUTH_SECRET_ARN", arn)
    with pytest.raises(ValueError, match=r"without a string 'authToken'"):
        redis_store.from_environment()


def test_the_ingest_api_reads_the_token_once_and_never_logs_it(
    audit_cloud: AuditCloud,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a password-protected Redis and its token in Secrets Manager
    # botocore itself logs request bodies at DEBUG, the test's own create_secret included: look at what
    # the functions log at their configured level.
    caplog.set_level(logging.INFO)
    with RedisServer() as server:
        redis.Redis(host=server.host, port=server.port).config_set("requirepass", AUTH_TOKEN)
        arn = audit_cloud.secretsmanager.create_secret(Name="audit-redis-auth", SecretString=AUTH_TOKEN)[
            "ARN"
        ]
        monkeypatch.setenv("REDIS_PORT", str(server.port))
        monkeypatch.setenv("REDIS_AUTH_SECRET_ARN", arn)
        # WHEN two records are posted
        replies = [post(audit_post(audit_request(f"p{n}"))) for n in range(2)]
        # THEN both are accepted
        assert [status for status, _, _ in replies] == [202, 202]
        # AND after the first request the token is not fetched again: deleting the secret changes nothing
        audit_cloud.secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        assert post(audit_post(audit_request("p3")))[0] == 202
        assert ingest_api.dependencies.cache_info().misses == 1
    # AND the token appears in no log line
    captured = capsys.readouterr()
    assert AUTH_TOKEN not in captured.out + captured.err + caplog.text
