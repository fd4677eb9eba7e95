"""The live conflict feed's publisher: each outcome, as a small JSON message, to every subscriber.

Subscribers hold a WebSocket connection to the region's feed API (handlers/conflict_feed/contract.py);
the connections table lists them. `ConflictFeed.publish` posts one message to each through the API Gateway
Management API (PostToConnection) and forgets the connections that answer GoneException.

A feed never fails or holds up an event: publish() never raises, stops after FEED_BUDGET_MS in all (every
call has that timeout and no retry) and after FEED_MAX_SUBSCRIBERS connections; whatever went wrong is
logged and counted (FeedPublishFailed, FeedPublishSkipped), whatever was sent counted too
(FeedMessageDelivered, FeedSubscriberGone). A subscriber that missed a message reads the table: the feed
reports, the event table decides.

Messages: {"type": accepted|duplicate|stale|repaired, "region": <the publisher's>, "at": epoch ms, and
the event's summary (id, version, lastUpdatedRegion, timestamp, idempotencyKey, dataBytes)}; stale adds
"current" (the winner), accepted "replaced" (the version it replaced, if any), repaired "loser" (the
replicated write it undid). Never the data, never the owner: a subscriber may watch every principal's
events, but learns whose they are no more than a writer does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from boto3.dynamodb.conditions import Attr
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.conflict_feed.contract import (
    CONNECTION_EXPIRY_ATTRIBUTE,
    CONNECTION_KEY,
    FeedMessageType,
    FeedSettings,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = Logger(service="events-feed")
# Powertools shares one metric set between instances: the function's own log_metrics flushes these.
metrics = Metrics(namespace="regionflow", service="events-feed")

_PRIVATE_FIELDS = frozenset({"owner"})


@dataclass(frozen=True)
class PublishReport:
    """What one publish did, by connection."""

    delivered: int = 0
    gone: int = 0  # answered GoneException: the connection closed; its item is deleted
    failed: int = 0  # any other error, or the feed itself failing
    skipped: int = 0  # not tried: the time budget was spent, or over the subscriber bound


class Feed(Protocol):
    def publish(self, message: Mapping[str, Any]) -> PublishReport: ...


class NoFeed:
    """A stack without a feed (no API Gateway v2): nothing to publish to."""

    def publish(self, message: Mapping[str, Any]) -> PublishReport:
        return PublishReport()


NO_FEED = NoFeed()


def public_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """An EventItem/IncomingEvent summary without what a subscriber must not learn (module doc)."""
    return {name: value for name, value in summary.items() if name not in _PRIVATE_FIELDS}


def processor_message(result: Mapping[str, Any], *, region: str, at_ms: int) -> dict[str, Any] | None:
    """The feed message of a processor result (handlers/events/processor.py), None for an unknown one."""
    status = result.get("status")
    if status not in ("applied", "stale"):
        return None
    if result.get("replayed") or result.get("alreadyApplied"):
        kind = FeedMessageType.DUPLICATE
    else:
        kind = FeedMessageType.ACCEPTED if status == "applied" else FeedMessageType.STALE
    message: dict[str, Any] = {
        "type": kind.value,
        "region": region,
        "at": at_ms,
        **public_summary(result["item"]),
    }
    if kind is FeedMessageType.STALE and result.get("current"):
        message["current"] = public_summary(result["current"])
    if kind is FeedMessageType.ACCEPTED and result.get("previous"):
        message["replaced"] = public_summary(result["previous"])
    return message


def repaired_message(
    restored: Mapping[str, Any], loser: Mapping[str, Any], *, region: str, at_ms: int
) -> dict[str, Any]:
    """The feed message of a restore: `restored` is the winner as written back (its new version)."""
    return {
        "type": FeedMessageType.REPAIRED.value,
        "region": region,
        "at": at_ms,
        **public_summary(restored),
        "loser": public_summary(loser),
    }


@dataclass(frozen=True, kw_only=True)
class ConflictFeed:
    """Posts to every live connection of one region's feed API (module doc)."""

    connections: Table
    management: Any  # an apigatewaymanagementapi client on the feed API's stage endpoint
    budget_ms: int
    max_subscribers: int
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time

    def publish(self, message: Mapping[str, Any]) -> PublishReport:
        try:
            report = self._publish(message)
        except Exception:
            # The event was decided and written before this: a broken feed is reported, never raised.
            logger.exception("feed: publishing failed", extra={"feedMessage": message})
            report = PublishReport(failed=1)
        _count(report)
        return report

    def _publish(self, message: Mapping[str, Any]) -> PublishReport:
        deadline = self.clock() + self.budget_ms / 1000
        data = json.dumps(message, separators=(",", ":")).encode()
        subscribers = list(self._subscribers())
        over = max(0, len(subscribers) - self.max_subscribers)
        if over:
            logger.warning(
                "feed: more subscribers than the bound; the rest miss this message",
                extra={"bound": self.max_subscribers, "seen": len(subscribers)},
            )
        delivered = gone = failed = skipped = 0
        for index, connection_id in enumerate(subscribers[: self.max_subscribers]):
            if self.clock() >= deadline:
                skipped = len(subscribers[: self.max_subscribers]) - index
                logger.warning(
                    "feed: the time budget is spent; the rest miss this message",
                    extra={"budgetMs": self.budget_ms, "skipped": skipped},
                )
                break
            outcome = self._post(connection_id, data)
            delivered += outcome == "delivered"
            gone += outcome == "gone"
            failed += outcome == "failed"
        return PublishReport(delivered=delivered, gone=gone, failed=failed, skipped=skipped + over)

    def _subscribers(self) -> Iterator[str]:
        """Live connection ids, at most one past the bound (enough to know it was passed)."""
        now_s = int(self.wall_clock())
        # TTL deletes lazily (within days): an expired item is ignored, not posted to.
        parameters: dict[str, Any] = {
            "ProjectionExpression": "#id",
            "ExpressionAttributeNames": {"#id": CONNECTION_KEY},
            "FilterExpression": Attr(CONNECTION_EXPIRY_ATTRIBUTE).gt(now_s),
        }
        seen = 0
        while True:
            page = self.connections.scan(**parameters)
            for item in page.get("Items", []):
                yield str(item[CONNECTION_KEY])
                seen += 1
                if seen > self.max_subscribers:
                    return
            if "LastEvaluatedKey" not in page:
                return
            parameters["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _post(self, connection_id: str, data: bytes) -> str:
        try:
            self.management.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "GoneException":
                self._forget(connection_id)
                return "gone"
            logger.warning("feed: posting to a subscriber failed", extra={"connectionId": connection_id})
            return "failed"
        except BotoCoreError as error:  # timeouts, connection errors: the subscriber waits, we do not
            logger.warning(
                "feed: posting to a subscriber failed",
                extra={"connectionId": connection_id, "error": str(error)},
            )
            return "failed"
        return "delivered"

    def _forget(self, connection_id: str) -> None:
        try:
            self.connections.delete_item(Key={CONNECTION_KEY: connection_id})
        except (ClientError, BotoCoreError):
            # Its TTL removes it anyway; until then each publish tries it once more.
            logger.warning(
                "feed: could not forget a closed connection", extra={"connectionId": connection_id}
            )


def _count(report: PublishReport) -> None:
    for name, value in (
        ("FeedMessageDelivered", report.delivered),
        ("FeedSubscriberGone", report.gone),
        ("FeedPublishFailed", report.failed),
        ("FeedPublishSkipped", report.skipped),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def feed_from_environment(environ: Mapping[str, str]) -> Feed:
    """The region's feed (FeedSettings), or NO_FEED when the stack deploys none."""
    settings = FeedSettings.from_environment(environ)
    if not settings.enabled:
        return NO_FEED
    seconds = max(settings.feed_budget_ms / 1000, 0.1)
    # One attempt per call, each within the budget: a slow feed costs an event at most the budget.
    config = Config(connect_timeout=seconds, read_timeout=seconds, retries={"total_max_attempts": 1})
    return ConflictFeed(
        connections=boto3.resource("dynamodb", config=config).Table(str(settings.feed_connections_table)),
        management=boto3.client(
            "apigatewaymanagementapi", endpoint_url=settings.feed_endpoint, config=config
        ),
        budget_ms=settings.feed_budget_ms,
        max_subscribers=settings.feed_max_subscribers,
    )
