"""The events' live conflict feed in localcloud: subscribers in each region hold a SigV4-signed WebSocket to
that region's feed and are told accepted, duplicate, stale and repaired events as the system produces
them; unsigned subscribers are refused; closed connections are forgotten.

The `primary` stack's events system: the feed needs API Gateway v2 (the `local` stack's function URLs,
for LocalStack Community, have no WebSocket APIs).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from demos.conflict_feed import FeedSubscription, about, connect_feed, feed_urls, subscribed, subscriber
from demos.events import event_document, event_regions, post_event, wait_converged, wait_settled
from demos.waiting import wait_until
from handlers.conflict_feed.contract import CONNECTION_EXPIRY_ATTRIBUTE, CONNECTION_KEY
from localcloud.core.cloud import LocalCloud
from tests.e2e.conftest import running_cloud

STACK = "primary"


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    with running_cloud(request, STACK, {"regionflow:systems": json.dumps(["events"])}) as running:
        yield running


@pytest.fixture(scope="module")
def feeds(cloud: LocalCloud) -> Iterator[dict[str, FeedSubscription]]:
    """A subscriber in each region, connected for the whole module."""
    with subscribed(cloud) as subscriptions:
        yield subscriptions


def fresh_id() -> str:
    return f"feed-{uuid.uuid4().hex[:8]}"


def subscribers_table(cloud: LocalCloud, region: str) -> Any:
    [name] = [
        table
        for table in cloud.client("dynamodb", region).list_tables()["TableNames"]
        if "-feed-subscribers" in table
    ]
    return cloud.dynamodb_table(name, region)


def test_each_region_exports_a_websocket_feed(cloud: LocalCloud) -> None:
    assert set(feed_urls(cloud)) == set(event_regions(cloud))
    assert all(url.startswith(("ws://", "wss://")) for url in feed_urls(cloud).values())


def test_an_event_accepted_in_a_region_is_told_to_that_regions_subscriber(
    cloud: LocalCloud, feeds: dict[str, FeedSubscription]
) -> None:
    # GIVEN subscribers in both regions
    first, _ = event_regions(cloud)
    item_id = fresh_id()
    # WHEN an event creates an item in the first region
    posted = post_event(cloud, first, event_document(item_id, "created"))
    assert posted.status == 200
    # THEN that region's subscriber is told it was accepted, as version 1, without the data
    message = feeds[first].wait_for(about(item_id, "accepted"), "the accepted event")
    assert (message["region"], message["version"], message["lastUpdatedRegion"]) == (first, 1, first)
    assert "data" not in message and "owner" not in message
    # AND the same event sent again is told as a duplicate
    assert post_event(cloud, first, posted.document).reply["replayed"] is True
    feeds[first].wait_for(about(item_id, "duplicate"), "the duplicate")


def test_a_conflict_across_regions_is_told_as_accepted_in_each_then_repaired_and_a_late_write_stale(
    cloud: LocalCloud, feeds: dict[str, FeedSubscription]
) -> None:
    # GIVEN an item both replicas hold
    first, second = event_regions(cloud)
    item_id = fresh_id()
    now = int(time.time() * 1000)
    created = post_event(cloud, first, event_document(item_id, "created", timestamp=now))
    wait_converged(cloud, [item_id])
    # WHEN, cut off from each other, the second region accepts the later update and then the first region
    # an earlier one (so the first region's write is the later one by wall clock)
    winner = event_document(item_id, f"shipped in {second}", timestamp=now + 20)
    loser = event_document(item_id, f"paid in {first}", timestamp=now + 10)
    with cloud.regions_partitioned():
        conflict = [post_event(cloud, second, winner), post_event(cloud, first, loser)]
        assert [p.status for p in conflict] == [200, 200]
        # THEN each region's subscriber is told its own region accepted its write
        feeds[second].wait_for(about(item_id, "accepted", idempotencyKey=winner["idempotencyKey"]), "winner")
        feeds[first].wait_for(about(item_id, "accepted", idempotencyKey=loser["idempotencyKey"]), "loser")
    # AND once healed, replication puts the loser over the winner in the second region, whose repair writes
    # the winner back: its subscriber is told "repaired", at the version both replicas end with
    final = wait_settled(cloud, [created, *conflict])[item_id]
    repaired = feeds[second].wait_for(about(item_id, "repaired"), "the repair")
    assert (repaired["version"], repaired["idempotencyKey"]) == (final.version, winner["idempotencyKey"])
    assert repaired["loser"]["idempotencyKey"] == loser["idempotencyKey"]
    # AND a late write is told as stale, naming the current winner
    late = post_event(cloud, first, event_document(item_id, "late", timestamp=now + 5))
    assert late.status == 409
    stale = feeds[first].wait_for(about(item_id, "stale"), "the stale write")
    assert stale["current"]["idempotencyKey"] == winner["idempotencyKey"]


def test_an_unsigned_subscriber_is_refused_403_and_never_connected(cloud: LocalCloud) -> None:
    first, _ = event_regions(cloud)
    table = subscribers_table(cloud, first)
    before = table.scan()["Count"]
    # WHEN a client opens the feed without signing the upgrade request
    with pytest.raises(InvalidStatus) as refused:
        connect_feed(feed_urls(cloud)[first], first, None)
    # THEN API Gateway's 403, and no connection was recorded
    assert refused.value.response.status_code == 403
    assert table.scan()["Count"] == before


def test_a_subscriber_that_disconnects_is_forgotten(cloud: LocalCloud) -> None:
    # GIVEN a subscriber (a session of its own, to find its connection by) connected to the first region
    first, _ = event_regions(cloud)
    table = subscribers_table(cloud, first)
    session = f"e2e-leaving-{uuid.uuid4().hex[:6]}"

    def its_connections() -> list[dict[str, object]]:
        items = table.scan()["Items"]
        return [item for item in items if str(item.get("Principal", "")).endswith(f"/{session}")]

    with connect_feed(feed_urls(cloud)[first], first, subscriber(cloud, session)):
        wait_until(its_connections, "the $connect function recording the connection", 30.0)
    # WHEN it has closed its connection
    # THEN $disconnect forgets it
    wait_until(lambda: not its_connections(), "the $disconnect function forgetting the connection", 30.0)


def test_a_connection_that_vanished_is_forgotten_by_the_next_publish(
    cloud: LocalCloud, feeds: dict[str, FeedSubscription]
) -> None:
    # GIVEN a connection item whose connection is gone ($disconnect never reached the table)
    first, _ = event_regions(cloud)
    table = subscribers_table(cloud, first)
    vanished = "VanishedConn00="
    table.put_item(Item={CONNECTION_KEY: vanished, CONNECTION_EXPIRY_ATTRIBUTE: int(time.time()) + 3600})
    # WHEN the region publishes an event
    item_id = fresh_id()
    assert post_event(cloud, first, event_document(item_id, "created")).status == 200
    # THEN the live subscriber is told, and the Management API's GoneException makes the publisher forget
    # the vanished connection
    feeds[first].wait_for(about(item_id, "accepted"), "the accepted event")
    wait_until(
        lambda: "Item" not in table.get_item(Key={CONNECTION_KEY: vanished}),
        "the publisher forgetting the vanished connection",
        30.0,
    )
