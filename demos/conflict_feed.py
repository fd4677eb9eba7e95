"""Watching the active-active events' live conflict feed as a subscriber does: one signed WebSocket
connection per region (exports `eventsFeedUrls`), as the feed subscriber role (`eventsFeedSubscriberRoleArn`).

The upgrade request is signed with SigV4 for `execute-api` in the feed's region, as API Gateway's AWS_IAM
$connect requires; each connection reads on a thread of its own and keeps every message it receives. A
stack without API Gateway v2 (the `local` stack: function URLs) has no feed, and `subscribed` yields none.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from demos.waiting import wait_until
from localcloud.core.cloud import LocalCloud
from scripts.api_auth import IamCaller, assume_caller_role

FeedMessage = dict[str, Any]


def feed_urls(cloud: LocalCloud) -> dict[str, str]:
    """The feed URL of each region ({} when the stack deploys no feed)."""
    urls: dict[str, str] = cloud.exports.get("eventsFeedUrls") or {}
    return urls


def subscriber(cloud: LocalCloud, session_name: str = "demo-feed") -> IamCaller:
    """A session of the feed subscriber role."""
    return assume_caller_role(
        cloud.client("sts"),
        cloud.exports["eventsFeedSubscriberRoleArn"],
        session_name=session_name,
        region=cloud.exports["regions"][0],
    )


def connect_feed(url: str, region: str, caller: IamCaller | None) -> ClientConnection:
    """A WebSocket connection to a feed, its upgrade request signed by `caller` (None: unsigned); use it
    as a context manager (`with connect_feed(...) as connection:`), as websockets asks."""
    headers: dict[str, str] = {}
    if caller is not None:
        # The signature covers the request as HTTP sees it: GET, host and path (the scheme is not signed).
        http_url = url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        headers = caller.headers("GET", http_url, b"", {}, region=region)
    return connect(url, additional_headers=headers, open_timeout=30)


class FeedSubscription:
    """One region's feed, read on a thread: every message received, in order."""

    def __init__(self, region: str, connection: ClientConnection) -> None:
        self.region = region
        self.connection = connection
        self._messages: list[FeedMessage] = []
        self._taken = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"feed-{region}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.connection:
                message = json.loads(raw)
                with self._lock:
                    self._messages.append(message)
        except ConnectionClosed:
            return

    @property
    def messages(self) -> list[FeedMessage]:
        with self._lock:
            return list(self._messages)

    def take_new(self) -> list[FeedMessage]:
        """The messages received since the last take_new()."""
        with self._lock:
            fresh = self._messages[self._taken :]
            self._taken = len(self._messages)
            return fresh

    def wait_for(
        self, matches: Callable[[FeedMessage], bool], what: str, timeout_seconds: float = 30.0
    ) -> FeedMessage:
        """The first message received that `matches` (waiting for it up to the deadline)."""
        found: FeedMessage = wait_until(
            lambda: next((message for message in self.messages if matches(message)), None),
            f"the {self.region} feed delivering {what}",
            timeout_seconds,
        )
        return found

    def close(self) -> None:
        self.connection.close()
        self._reader.join(timeout=10)


def about(item_id: str, kind: str, **fields: Any) -> Callable[[FeedMessage], bool]:
    """A matcher: a message of `kind` about `item_id` (and these field values)."""

    def matches(message: Mapping[str, Any]) -> bool:
        return (
            message.get("type") == kind
            and message.get("id") == item_id
            and all(message.get(name) == value for name, value in fields.items())
        )

    return matches


@contextmanager
def subscribed(cloud: LocalCloud, caller: IamCaller | None = None) -> Iterator[dict[str, FeedSubscription]]:
    """A subscription to every region's feed, by region ({} when the stack has no feed)."""
    urls = feed_urls(cloud)
    if not urls:
        yield {}
        return
    signer = caller or subscriber(cloud)
    with ExitStack() as stack:
        subscriptions: dict[str, FeedSubscription] = {}
        for region, url in urls.items():
            subscription = FeedSubscription(region, stack.enter_context(connect_feed(url, region, signer)))
            stack.callback(subscription.close)
            subscriptions[region] = subscription
        yield subscriptions


def describe_message(message: Mapping[str, Any]) -> str:
    """One line for a person: what happened to which item, at which version."""
    text = f"{message.get('type')} {message.get('id')}"
    if "version" in message:  # a stale write never got one: it was not written
        text += f" v{message['version']}"
    if message.get("type") == "stale" and message.get("current"):
        text += f" (current v{message['current'].get('version')})"
    if message.get("type") == "repaired" and message.get("loser"):
        text += f" (undid {message['loser'].get('lastUpdatedRegion')}'s write)"
    return text
