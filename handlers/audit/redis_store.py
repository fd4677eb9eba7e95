"""The claim-check store: audit payloads in Redis (ElastiCache in AWS, a real redis-server locally).

The one place that knows how to reach Redis (endpoint, TLS, auth token from Secrets Manager, timeouts),
how payload keys are named and how long they live. Every audit handler builds its store here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import redis
from aws_lambda_powertools.utilities import parameters
from redis.backoff import NoBackoff
from redis.retry import Retry

from handlers.audit.contract import RedisSettings

PAYLOAD_KEY_PREFIX = "audit:payload:"
# API Gateway gives the whole request 30 s; a stalled Redis must fail fast enough to leave time to salvage.
SOCKET_TIMEOUT_SECONDS = 2.0
# One immediate reconnect covers a pooled connection the server dropped while the container was idle;
# anything longer is an outage, and the caller's retry (client, state machine) is the place for it.
RECONNECT_ATTEMPTS = 1
# Read once per container (the client that holds it is cached); the secret rotates with a redeploy.
AUTH_TOKEN_CACHE_SECONDS = 15 * 60

# What a client error looks like when the server cannot serve us: down, unreachable, too slow, still
# loading, or a replica after a failover that no longer accepts writes.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)


class RedisUnavailableError(Exception):
    """Redis could not be reached or did not answer in time; retrying later may succeed."""


class PayloadNotFoundError(Exception):
    """The payload a message points at is not in Redis (expired, or already archived and released)."""


def payload_key(message_id: str) -> str:
    return f"{PAYLOAD_KEY_PREFIX}{message_id}"


def auth_token_from_secret(secret_arn: str) -> str:
    """The Redis AUTH token: the secret's string itself, or its "authToken" field when it holds JSON."""
    secret = parameters.get_secret(secret_arn, max_age=AUTH_TOKEN_CACHE_SECONDS)
    try:
        document = json.loads(secret)
    except ValueError:
        return secret
    if isinstance(document, dict):
        token = document.get("authToken")
        if not isinstance(token, str) or not token:
            raise ValueError(
                f"secret {secret_arn} holds JSON without a string 'authToken'; store the token itself "
                'or {"authToken": "<token>"}'
            )
        return token
    return secret


def connect(settings: RedisSettings, *, auth_token: str | None = None) -> redis.Redis:
    """A client for the configured endpoint; connections open on first use."""
    return redis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=auth_token,
        ssl=settings.redis_tls,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), RECONNECT_ATTEMPTS),
        client_name="regionflow-audit",
    )


class PayloadStore:
    """Payload bytes by key, each living REDIS_TTL_SECONDS; Redis failures become RedisUnavailableError."""

    def __init__(self, client: redis.Redis, settings: RedisSettings) -> None:
        self._client = client
        self.settings = settings

    def _unavailable(self, error: Exception) -> RedisUnavailableError:
        return RedisUnavailableError(f"audit store (Redis) at {self.settings.endpoint} unavailable: {error}")

    def put(self, key: str, payload: bytes) -> None:
        try:
            self._client.set(key, payload, ex=self.settings.redis_ttl_seconds)
        except UNAVAILABLE_ERRORS as error:
            raise self._unavailable(error) from error

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(key)
        except UNAVAILABLE_ERRORS as error:
            raise self._unavailable(error) from error
        return None if value is None else bytes(value)  # type: ignore[arg-type]

    def require(self, key: str, *, message_id: str) -> bytes:
        payload = self.get(key)
        if payload is None:
            raise PayloadNotFoundError(
                f"payload of message {message_id} not found in Redis at key {key!r}: it expired "
                f"(REDIS_TTL_SECONDS={self.settings.redis_ttl_seconds}) or was already archived and "
                "released; the ingest failure path salvages what is left"
            )
        return payload

    def delete(self, key: str) -> bool:
        """True if the key was there; deleting a key that is already gone is not an error."""
        try:
            return bool(self._client.delete(key))
        except UNAVAILABLE_ERRORS as error:
            raise self._unavailable(error) from error


def open_store(settings: RedisSettings) -> PayloadStore:
    """The store the settings describe; the auth token (if any) is read from Secrets Manager."""
    secret_arn = settings.redis_auth_secret_arn
    token = auth_token_from_secret(secret_arn) if secret_arn else None
    return PayloadStore(connect(settings, auth_token=token), settings)


def from_environment(env: Mapping[str, str] | None = None) -> PayloadStore:
    """The store the Lambda environment describes (any audit function's settings include RedisSettings)."""
    return open_store(RedisSettings.from_environment(os.environ if env is None else env))
