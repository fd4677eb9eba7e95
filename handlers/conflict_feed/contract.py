"""The live conflict feed's contract: what ActiveActiveEvents, the feed's publishers and its connections
function share (handlers/conflict_feed/publisher.py, handlers/conflict_feed/connections.py).

Per region, an API Gateway WebSocket API (stage FEED_STAGE) holds the subscribers; its $connect and
$disconnect routes keep a connections table (one item per live connection, TTL'd after API Gateway's
connection limit); the processor and the repair function post each outcome to every connection through
the API Gateway Management API. Pure Python: the Pulumi program imports this with requirements.txt alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.environment import Environment

FEED_STAGE = "live"
CONNECTION_KEY = "ConnectionId"
CONNECTION_EXPIRY_ATTRIBUTE = "ExpiresAt"  # epoch seconds: the table's TTL attribute
# API Gateway closes a WebSocket connection after 2 hours whatever happens on it ("Amazon API Gateway
# quotas for configuring and running a WebSocket API"): an item older than that names no connection.
MAX_CONNECTION_SECONDS = 2 * 3600
# PostToConnection's limit is a 128 KB message; ours are a few hundred bytes (summaries, never data).
MAX_MESSAGE_BYTES = 128 * 1024


class FeedMessageType(StrEnum):
    """What a subscriber is told: the processor's outcomes and the repair function's restores."""

    ACCEPTED = "accepted"  # the write was applied in this region
    DUPLICATE = "duplicate"  # a repeated idempotency key (or a write already applied): nothing written
    STALE = "stale"  # the write lost to the current item: nothing written (answered 409)
    REPAIRED = "repaired"  # replication replaced the resolver's winner, which was written back


@dataclass(frozen=True, kw_only=True)
class FeedSettings(Environment):
    """What a publisher (the processor, the repair function) reads; no feed when the table is unset (a
    stack without API Gateway v2 deploys none)."""

    feed_connections_table: str | None = None
    feed_endpoint: str | None = None  # the Management API: https://{api-id}.execute-api.{region}.../{stage}
    # A feed never holds up an event: posting to every subscriber stops after this long in all...
    feed_budget_ms: int = 2000
    # ...and after this many subscribers (bounded fan-out; the rest miss this message and are counted).
    feed_max_subscribers: int = 100

    @property
    def enabled(self) -> bool:
        return bool(self.feed_connections_table and self.feed_endpoint)


@dataclass(frozen=True, kw_only=True)
class FeedConnectionsSettings(Environment):
    """The $connect/$disconnect function (handlers/conflict_feed/connections.py)."""

    feed_connections_table: str
