"""The live conflict feed: what the processor and the repair function tell subscribers, and that a feed
never fails, nor holds up, an event (handlers/conflict_feed/)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from handlers.conflict_feed import connections as feed_connections
from handlers.conflict_feed.contract import (
    CONNECTION_EXPIRY_ATTRIBUTE,
    CONNECTION_KEY,
    MAX_CONNECTION_SECONDS,
    FeedSettings,
)
from handlers.conflict_feed.publisher import (
    NO_FEED,
    ConflictFeed,
    PublishReport,
    feed_from_environment,
    processor_message,
)
from handlers.events import processor, repair

from ..conftest import FakeLambdaContext
from .conftest import OTHER_REGION, OWNER, REGION, T0, EventsCloud, event_document, item, processor_input
from .conftest import stream_record as modify_record
from .test_processor import dependencies_with, now_ms

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
CONNECTIONS_TABLE = "regionflow-events-feed-subscribers"


@dataclass
class RecordingFeed:
    """A feed that keeps what it was told."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, message: Mapping[str, Any]) -> PublishReport:
        self.messages.append(dict(message))
        return PublishReport(delivered=1)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PostToConnection")


@dataclass
class Management:
    """The Management API as a publisher sees it: GoneException for closed connections, and whatever
    error a connection is told to answer."""

    gone: set[str] = field(default_factory=set)
    errors: dict[str, Exception] = field(default_factory=dict)
    posted: list[tuple[str, bytes]] = field(default_factory=list)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:  # noqa: N803 - boto3's names
        if ConnectionId in self.gone:
            raise client_error("GoneException")
        if ConnectionId in self.errors:
            raise self.errors[ConnectionId]
        self.posted.append((ConnectionId, Data))


@pytest.fixture
def connections() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        yield dynamodb.create_table(
            TableName=CONNECTIONS_TABLE,
            KeySchema=[{"AttributeName": CONNECTION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": CONNECTION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def subscribe(table: Any, *connection_ids: str, expires_at: float | None = None) -> None:
    for connection_id in connection_ids:
        expiry = int(expires_at if expires_at is not None else time.time() + MAX_CONNECTION_SECONDS)
        table.put_item(Item={CONNECTION_KEY: connection_id, CONNECTION_EXPIRY_ATTRIBUTE: expiry})


def feed_over(table: Any, management: Management, **settings: Any) -> ConflictFeed:
    return ConflictFeed(
        connections=table,
        management=management,
        budget_ms=settings.pop("budget_ms", 2000),
        max_subscribers=settings.pop("max_subscribers", 100),
        **settings,
    )


MESSAGE = {"type": "accepted", "region": REGION, "id": "order-42", "version": 1}


def test_a_message_reaches_every_live_subscriber_once(connections: Any) -> None:
    # GIVEN three subscribers
    subscribe(connections, "a", "b", "c")
    management = Management()
    # WHEN a message is published
    report = feed_over(connections, management).publish(MESSAGE)
    # THEN each got it once, as compact JSON
    assert sorted(connection for connection, _ in management.posted) == ["a", "b", "c"]
    assert {json.loads(data)["id"] for _, data in management.posted} == {"order-42"}
    assert report == PublishReport(delivered=3)


def test_a_subscriber_that_left_is_forgotten_and_the_others_still_get_the_message(connections: Any) -> None:
    # GIVEN a subscriber whose connection closed without $disconnect reaching the table
    subscribe(connections, "stays", "left")
    management = Management(gone={"left"})
    # WHEN a message is published
    report = feed_over(connections, management).publish(MESSAGE)
    # THEN the other still gets it, and the closed connection is deleted from the table
    assert [connection for connection, _ in management.posted] == ["stays"]
    assert report == PublishReport(delivered=1, gone=1)
    assert connections.get_item(Key={CONNECTION_KEY: "left"}).get("Item") is None


@pytest.mark.parametrize(
    "error",
    [client_error("LimitExceededException"), ReadTimeoutError(endpoint_url="https://feed")],
    ids=["service-error", "timeout"],
)
def test_a_failing_post_is_counted_never_raised_and_the_others_still_get_the_message(
    connections: Any, error: Exception
) -> None:
    subscribe(connections, "ok", "broken")
    management = Management(errors={"broken": error})
    report = feed_over(connections, management).publish(MESSAGE)
    assert report == PublishReport(delivered=1, failed=1)
    # AND the failing subscriber is kept: it may be there next time
    assert connections.get_item(Key={CONNECTION_KEY: "broken"}).get("Item") is not None


def test_publishing_stops_when_the_time_budget_is_spent(connections: Any) -> None:
    # GIVEN four subscribers and a clock on which each post takes 400 ms of a 1 s budget
    subscribe(connections, "a", "b", "c", "d")
    ticks = itertools.count(step=0.4)
    feed = feed_over(connections, Management(), budget_ms=1000, clock=lambda: next(ticks))
    # WHEN a message is published, THEN the posts stop at the budget and the rest are counted as skipped
    report = feed.publish(MESSAGE)
    assert (report.delivered, report.skipped) == (2, 2)


@pytest.mark.parametrize(("bound", "delivered"), [(2, 2), (3, 3), (4, 3)], ids=["under", "at", "over"])
def test_fan_out_is_bounded_and_what_is_over_the_bound_is_counted(
    connections: Any, bound: int, delivered: int
) -> None:
    # GIVEN three live subscribers and a bound one under, at or over that
    subscribe(connections, "a", "b", "c")
    management = Management()
    # WHEN a message is published THEN as many as the bound allows get it, and any left out is counted
    report = feed_over(connections, management, max_subscribers=bound).publish(MESSAGE)
    assert report == PublishReport(delivered=delivered, skipped=3 - delivered)
    assert len(management.posted) == delivered


@pytest.mark.parametrize(
    ("budget_ms", "delivered"), [(999, 3), (1000, 3), (1001, 4)], ids=["under", "at", "over"]
)
def test_posting_goes_on_only_while_the_clock_is_before_the_budgets_end(
    connections: Any, budget_ms: int, delivered: int
) -> None:
    # GIVEN five subscribers and a clock that reads 0 s when publishing starts, then 0.25 s more at each
    # look: the fourth look is at exactly 1 s
    subscribe(connections, "a", "b", "c", "d", "e")
    ticks = itertools.count(step=0.25)
    feed = feed_over(connections, Management(), budget_ms=budget_ms, clock=lambda: next(ticks))
    # WHEN a message is published with a budget of 999, 1000 or 1001 ms
    report = feed.publish(MESSAGE)
    # THEN a look at or past the budget's end stops the posts (1 s ends a 999 or 1000 ms budget, not 1001)
    assert (report.delivered, report.skipped) == (delivered, 5 - delivered)


def test_an_expired_connection_item_is_not_posted_to(connections: Any) -> None:
    # GIVEN an item past its TTL (DynamoDB deletes those lazily) beside a live one
    subscribe(connections, "live")
    subscribe(connections, "expired", expires_at=time.time() - 1)
    management = Management()
    feed_over(connections, management).publish(MESSAGE)
    assert [connection for connection, _ in management.posted] == ["live"]


def test_a_broken_feed_reports_a_failure_and_never_raises(connections: Any) -> None:
    # GIVEN a feed whose connections table does not exist
    missing = boto3.resource("dynamodb", region_name=REGION).Table("no-such-table")
    # WHEN it publishes, THEN it reports the failure instead of raising
    assert feed_over(missing, Management()).publish(MESSAGE) == PublishReport(failed=1)


def test_without_feed_settings_there_is_no_feed_and_with_them_a_bounded_one(connections: Any) -> None:
    assert feed_from_environment({}) is NO_FEED
    environment = FeedSettings.environment(
        feed_connections_table=CONNECTIONS_TABLE,
        feed_endpoint="https://abc123.execute-api.eu-west-1.amazonaws.com/live",
        feed_budget_ms=1500,
    )
    feed = feed_from_environment(environment)
    assert isinstance(feed, ConflictFeed)
    assert feed.budget_ms == 1500
    assert feed.management.meta.endpoint_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/live"
    # AND each call is tried once, within the budget
    config = feed.management.meta.config
    assert (config.read_timeout, config.connect_timeout) == (1.5, 1.5)
    assert config.retries["total_max_attempts"] == 1


# ---- what the processor and the repair function publish ------------------------------------------------


def process_with_feed(
    events_cloud: EventsCloud, document: dict[str, Any]
) -> tuple[dict[str, Any], RecordingFeed]:
    recording = RecordingFeed()
    deps = dataclasses.replace(dependencies_with(events_cloud.table), feed=recording)
    result = processor.handle(processor_input(document), deps=deps, now_ms=now_ms())
    return result, recording


def test_an_accepted_write_is_published_as_accepted_without_data_or_owner(events_cloud: EventsCloud) -> None:
    # GIVEN an item at version 1
    events_cloud.put(item(version=1, timestamp=T0, key="key-1"))
    # WHEN a later write is applied
    result, recording = process_with_feed(events_cloud, event_document(timestamp=T0 + 10, key="key-2"))
    # THEN subscribers are told it was accepted, with what it replaced
    assert result["status"] == "applied"
    [message] = recording.messages
    assert (message["type"], message["region"], message["id"], message["version"]) == (
        "accepted",
        REGION,
        "order-42",
        2,
    )
    assert message["replaced"]["version"] == 1
    # AND never the data or whose event it is
    assert "data" not in message and "owner" not in message and "owner" not in message["replaced"]


def test_a_stale_write_is_published_as_stale_naming_the_current_winner(events_cloud: EventsCloud) -> None:
    events_cloud.put(item(version=3, timestamp=T0 + 100, key="key-winner"))
    result, recording = process_with_feed(events_cloud, event_document(timestamp=T0, key="key-late"))
    assert result["status"] == "stale"
    [message] = recording.messages
    assert (message["type"], message["idempotencyKey"]) == ("stale", "key-late")
    assert (message["current"]["version"], message["current"]["idempotencyKey"]) == (3, "key-winner")


def test_a_repeated_idempotency_key_is_published_as_a_duplicate(events_cloud: EventsCloud) -> None:
    document = event_document(key="key-repeated")
    process_with_feed(events_cloud, document)
    result, recording = process_with_feed(events_cloud, document)
    assert result["replayed"] is True
    assert [message["type"] for message in recording.messages] == ["duplicate"]


def test_an_unknown_result_publishes_nothing() -> None:
    assert processor_message({"status": "something-else"}, region=REGION, at_ms=0) is None


def test_a_restore_is_published_as_repaired_with_the_written_back_version(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN this region's winner replaced by the other region's earlier write
    winner = item(version=2, timestamp=T0 + 500, key="key-winner")
    loser = item(version=2, region=OTHER_REGION, timestamp=T0, key="key-loser", owner=OWNER)
    events_cloud.put(loser)
    recording = RecordingFeed()
    monkeypatch.setattr(repair, "feed", lambda: recording)
    # WHEN the repair function restores it
    event = {"Records": [modify_record(winner, loser, sequence_number="1")]}
    assert repair.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    # THEN subscribers are told: repaired, at the version written back, naming the loser it undid
    [message] = recording.messages
    assert (message["type"], message["version"], message["idempotencyKey"]) == ("repaired", 3, "key-winner")
    assert message["loser"]["idempotencyKey"] == "key-loser"
    assert "owner" not in message and "owner" not in message["loser"]


# ---- the $connect / $disconnect function ---------------------------------------------------------------


def websocket_event(event_type: str, connection_id: str = "Abc123def456gh=") -> APIGatewayWebSocketEvent:
    route = {"CONNECT": "$connect", "DISCONNECT": "$disconnect", "MESSAGE": "$default"}[event_type]
    return APIGatewayWebSocketEvent(
        {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": connection_id,
                "connectedAt": 1717236000000,
                "stage": "live",
                "apiId": "abc123",
                "identity": {
                    "sourceIp": "203.0.113.7",
                    "userArn": "arn:aws:sts::123456789012:assumed-role/events-feed-subscriber/watcher",
                },
            },
            "isBase64Encoded": False,
        }
    )


def test_a_connect_is_recorded_with_its_subscriber_and_an_expiry_past_api_gateways_limit(
    connections: Any,
) -> None:
    now_s = 1_717_236_000.0
    assert feed_connections.handle(websocket_event("CONNECT"), table=connections, now_s=now_s) == {
        "statusCode": 200
    }
    recorded = connections.get_item(Key={CONNECTION_KEY: "Abc123def456gh="})["Item"]
    assert recorded["Principal"].endswith(":assumed-role/events-feed-subscriber/watcher")
    # AND it expires (DynamoDB TTL, epoch seconds) after API Gateway's 2 h limit on a connection, so no live
    # connection is forgotten, and within the hour after it, so a dead one is not kept for days (an expiry
    # in milliseconds would never come)
    expiry = int(recorded[CONNECTION_EXPIRY_ATTRIBUTE])
    assert MAX_CONNECTION_SECONDS == 2 * 3600
    assert now_s + 2 * 3600 < expiry <= now_s + 3 * 3600


def test_a_disconnect_forgets_the_connection(connections: Any) -> None:
    feed_connections.handle(websocket_event("CONNECT"), table=connections, now_s=time.time())
    feed_connections.handle(websocket_event("DISCONNECT"), table=connections, now_s=time.time())
    assert connections.get_item(Key={CONNECTION_KEY: "Abc123def456gh="}).get("Item") is None


def test_a_message_route_is_refused_by_the_connections_function(connections: Any) -> None:
    with pytest.raises(feed_connections.UnexpectedRouteError, match=r"\$default"):
        feed_connections.handle(websocket_event("MESSAGE"), table=connections, now_s=time.time())
