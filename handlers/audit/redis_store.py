"""The claim-check store: audit payloads in Redis (ElastiCache in AWS, a real redis-server locally).

The one place that knows how to reach Redis (endpoint, TLS, auth token from Secrets Manager, timeouts),
how payload keys are named and how long they live. Every audit handler builds its store here.

No loss after an acknowledgement (issue 16). Three ways a payload could vanish after the ingest API's 202,
and what closes each:
- Eviction: ElastiCache's default maxmemory-policy (volatile-lru) evicts keys with a TTL, which every
  payload has. The replication group runs with noeviction (components/audit_ingest.py), so a full cache
  refuses the write (OOM) instead of dropping an acknowledged payload: RedisFullError, a 503 and a
  salvaged request, never a 202. An alarm on the nodes' memory warns before that point.
- A write to a replica: during a failover the endpoint's pooled connections still reach the old primary,
  now a replica, which answers READONLY: RedisReadOnlyError, a 503 and a salvaged request; the pool is
  dropped so the next request dials the endpoint again (its name moves to the new primary).
- Asynchronous replication: Redis answers SET before any replica has the bytes, so a primary lost right
  after it takes the payload with it. Where the group has replicas, the write is followed by WAIT in the
  same round trip, and the payload counts as stored only once `replica_acks` replicas confirm it within
  the timeout; otherwise PayloadNotReplicatedError: a 503, the request salvaged to S3 (so even this
  refused request is kept), and the unconfirmed copy deleted. With one replica (the configured default)
  the replica that confirmed is the one a failover promotes; with more, one confirmation covers the loss
  of the primary when the promoted replica is one that has the write (ElastiCache does not document which
  it promotes), and waiting for all of them would be certain but refuse writes while any one is down.
  The price in every case: with every replica gone, the API refuses writes rather than accept them
  without a second copy.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

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
# loading, full (noeviction refuses writes with OOM), or a replica after a failover that no longer
# accepts writes.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)


class RedisUnavailableError(Exception):
    """Redis could not be reached or did not answer in time; retrying later may succeed."""


class RedisFullError(RedisUnavailableError):
    """Redis refused a write with OOM: its memory is full and it evicts nothing (noeviction)."""


class RedisReadOnlyError(RedisUnavailableError):
    """The endpoint answered as a read-only replica: a failover is under way or just happened."""


class PayloadNotReplicatedError(RedisUnavailableError):
    """Fewer replicas than required confirmed a payload in time: losing the primary now would lose it."""


@dataclass(frozen=True)
class ReplicaAcks:
    """How many replicas must confirm a write (Redis WAIT), and how long to wait for them."""

    replicas: int
    timeout_ms: int


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
    """Payload bytes by key, each living REDIS_TTL_SECONDS; Redis failures become RedisUnavailableError
    (or the subclass naming what went wrong). With `replica_acks`, a put returns only once that many
    replicas hold the payload."""

    def __init__(
        self, client: redis.Redis, settings: RedisSettings, *, replica_acks: ReplicaAcks | None = None
    ) -> None:
        self._client = client
        self.settings = settings
        self.replica_acks = replica_acks

    def _unavailable(self, error: Exception) -> RedisUnavailableError:
        endpoint = self.settings.endpoint
        if isinstance(error, redis.exceptions.OutOfMemoryError):
            return RedisFullError(
                f"audit store (Redis) at {endpoint} is full and refused the write: {error}; payloads are "
                "never evicted (maxmemory-policy noeviction), so room comes back as the workflow archives "
                "and releases them"
            )
        if isinstance(error, redis.exceptions.ReadOnlyError):
            # In a failover the endpoint's name moves to the new primary, but pooled connections stay
            # with the old one, now a replica: drop them so the next request dials the name again.
            self._client.connection_pool.disconnect()
            return RedisReadOnlyError(
                f"audit store (Redis) at {endpoint} answered as a read-only replica (a failover is under "
                f"way): {error}"
            )
        return RedisUnavailableError(f"audit store (Redis) at {endpoint} unavailable: {error}")

    def put(self, key: str, payload: bytes) -> None:
        """Store the payload; with replica_acks, only once enough replicas confirm it (else the copy is
        deleted and PayloadNotReplicatedError raised)."""
        # SET and WAIT in one round trip on one connection: WAIT counts the replicas that have this
        # connection's writes, so a WAIT re-sent alone on a reconnected socket would confirm nothing it
        # wrote. A failed pipeline is replayed whole by the client's retry. raise_on_error=False: redis-py
        # would quote the command (the payload's first bytes) in the error it raises.
        pipeline = self._client.pipeline(transaction=False)
        pipeline.set(key, payload, ex=self.settings.redis_ttl_seconds)
        if self.replica_acks is not None:
            pipeline.wait(self.replica_acks.replicas, self.replica_acks.timeout_ms)
        try:
            replies = pipeline.execute(raise_on_error=False)
        except UNAVAILABLE_ERRORS as error:
            raise self._unavailable(error) from error
        for reply in replies:
            if isinstance(reply, UNAVAILABLE_ERRORS):
                raise self._unavailable(reply) from reply
            if isinstance(reply, redis.exceptions.RedisError):
                raise reply
        if self.replica_acks is not None and int(replies[1]) < self.replica_acks.replicas:
            self._discard(key)
            raise PayloadNotReplicatedError(
                f"payload at {key!r} reached {int(replies[1])} of the {self.replica_acks.replicas} "
                f"replica(s) required within {self.replica_acks.timeout_ms} ms at {self.settings.endpoint} "
                "(replicas down, lagging or resyncing): not acknowledged, as losing the primary now would "
                "lose it"
            )

    def _discard(self, key: str) -> None:
        """Delete an unconfirmed copy so it holds no memory until its TTL; if that fails too, the TTL will."""
        with contextlib.suppress(*UNAVAILABLE_ERRORS):
            self._client.delete(key)

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


def open_store(settings: RedisSettings, *, replica_acks: ReplicaAcks | None = None) -> PayloadStore:
    """The store the settings describe; the auth token (if any) is read from Secrets Manager."""
    secret_arn = settings.redis_auth_secret_arn
    token = auth_token_from_secret(secret_arn) if secret_arn else None
    return PayloadStore(connect(settings, auth_token=token), settings, replica_acks=replica_acks)


def from_environment(env: Mapping[str, str] | None = None) -> PayloadStore:
    """The store the Lambda environment describes (any audit function's settings include RedisSettings)."""
    return open_store(RedisSettings.from_environment(os.environ if env is None else env))
