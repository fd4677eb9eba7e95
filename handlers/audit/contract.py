"""Audit ingest's contract: what AuditIngest, its workflow and the audit handlers share.

Each function's settings (its environment variables, with the one default of each), the archive
bucket's prefixes, the key attributes of the metadata and idempotency tables, and the error names the
workflow retries. Pure Python: the Pulumi program imports this with requirements.txt alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.environment import Environment, SettingError

# The archive bucket: payloads under archive/, salvaged messages under failures/ (each dated by day).
ARCHIVE_PREFIX = "archive/"
FAILURES_PREFIX = "failures/"

# The metadata table: one row per message.
METADATA_TABLE_KEY = "messageId"
# The idempotency table, in Powertools idempotency's DynamoDB layout.
IDEMPOTENCY_TABLE_KEY = "id"
IDEMPOTENCY_EXPIRY_ATTRIBUTE = "expiration"

# What a workflow task raises when Redis, S3 or the network hiccups (Lambda reports an exception by its
# class name: builtins' and redis' ConnectionError/TimeoutError, botocore's ClientError and
# EndpointConnectionError): the workflow retries these before the failure path salvages the message.
# Step Functions matches error names exactly: the handlers' own wrappers of a Redis outage or failover
# are listed beside redis' errors, or an archive caught by a failover would go straight to salvage.
TRANSIENT_ERRORS = (
    "ConnectionError",
    "TimeoutError",
    "ClientError",
    "EndpointConnectionError",
    "RedisUnavailableError",
    "RedisReadOnlyError",
)

# How long the ingest API waits for replicas to confirm a payload (Redis WAIT): under the client's 2 s
# socket timeout (redis_store.SOCKET_TIMEOUT_SECONDS), or the client would give up on WAIT first.
MAX_REPLICA_ACK_TIMEOUT_MS = 1500


@dataclass(frozen=True, kw_only=True)
class RedisSettings(Environment):
    """How a function reaches the claim-check store (handlers/audit/redis_store.py).

    The AUTH token itself is never in the environment: only the secret holding it (ElastiCache on AWS).
    """

    redis_host: str
    redis_port: int = 6379
    redis_tls: bool = False
    redis_auth_secret_arn: str | None = None
    redis_ttl_seconds: int = 24 * 3600  # a payload's lifetime: outlives a stalled workflow's retries

    def __post_init__(self) -> None:
        if self.redis_ttl_seconds <= 0:
            raise SettingError(
                f"REDIS_TTL_SECONDS is {self.redis_ttl_seconds}; payloads need a positive lifetime"
            )

    @property
    def endpoint(self) -> str:
        return f"{'rediss' if self.redis_tls else 'redis'}://{self.redis_host}:{self.redis_port}"


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings(RedisSettings):
    """Workflow task: payload Redis -> S3 (handlers/audit/archive.py); the message names the object."""

    archive_bucket: str


@dataclass(frozen=True, kw_only=True)
class MetadataSettings(Environment):
    """Workflow task: metadata -> DynamoDB (handlers/audit/metadata.py)."""

    metadata_table: str


@dataclass(frozen=True, kw_only=True)
class SalvageSettings(RedisSettings):
    """Where a message that cannot go through is kept: the archive's failures/ prefix and the DLQ.

    The workflow's failure path (handlers/audit/ingest_failure.py) needs only this.
    """

    archive_bucket: str
    dlq_url: str


@dataclass(frozen=True, kw_only=True)
class IngestSettings(SalvageSettings):
    """POST /audit (handlers/audit/ingest_api.py).

    redis_replica_acks: replicas that must hold a payload before the 202 (Redis replicates after it
    answers a write, so without this a failover can lose an acknowledged payload); 0 where the store has
    no replicas. The component sets it from the replication group's configured replicas.
    """

    metadata_table: str
    state_machine_arn: str
    idempotency_table: str
    idempotency_ttl_seconds: int = 24 * 3600
    max_body_bytes: int = 6_000_000  # below Lambda's synchronous payload limit (6 MB)
    redis_replica_acks: int = 0
    # A 6 MB payload crosses AZs at a t4g node's baseline bandwidth (~128 Mbit/s) in under 0.4 s.
    redis_replica_ack_timeout_ms: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.redis_replica_acks < 0:
            raise SettingError(
                f"REDIS_REPLICA_ACKS is {self.redis_replica_acks}; it counts replicas: 0 or more"
            )
        if not 0 < self.redis_replica_ack_timeout_ms <= MAX_REPLICA_ACK_TIMEOUT_MS:
            raise SettingError(
                f"REDIS_REPLICA_ACK_TIMEOUT_MS is {self.redis_replica_ack_timeout_ms}; it must be 1-"
                f"{MAX_REPLICA_ACK_TIMEOUT_MS} ms (under the Redis client's socket timeout)"
            )
