"""Active-active events, end to end: writes in both regions, replication, a conflict, idempotency, poison.

The steps the e2e tests, scripts/visualize_flow.py, the benchmark and the demo share. Each region has
its own POST /events (exports `eventsUrls`); the event table is global (`eventsTable`), replicated by
localcloud's DynamoDB replicator, which, like DynamoDB global tables, keeps the write it applies last;
each replica's stream feeds the region's repair function, which writes the ConflictResolver's winner
back when replication replaced it. Where the stack has API Gateway v2, a subscriber watches both regions'
live conflict feeds (`eventsFeedUrls`, demos/conflict_feed.py) throughout, and the flow shows what each
feed told it: accepted, duplicate, stale and repaired events as they happened.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from demos.conflict_feed import FeedMessage, FeedSubscription, about, describe_message, subscribed
from demos.doors import call
from demos.waiting import wait_until
from handlers.events.conflict import resolve
from handlers.events.event_item import EventItem
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import HttpResponse

Report = Callable[[str], None]


@dataclass(frozen=True)
class Posted:
    """One POST /events and its reply."""

    region: str
    document: dict[str, Any]
    status: int
    reply: dict[str, Any]
    seconds: float


def event_regions(cloud: LocalCloud) -> list[str]:
    """The two regions the events are written in, the stack's primary first."""
    regions: list[str] = json.loads(cloud.config["regionflow:regions"])[:2]
    return regions


def event_document(
    item_id: str, data: str, *, timestamp: int | None = None, idempotency_key: str | None = None
) -> dict[str, Any]:
    """A POST /events body; timestamp defaults to now (client epoch ms), the key to a fresh UUID."""
    return {
        "id": item_id,
        "data": data,
        "timestamp": timestamp if timestamp is not None else int(time.time() * 1000),
        "idempotencyKey": idempotency_key or str(uuid.uuid4()),
    }


def post_event(cloud: LocalCloud, region: str, document: Mapping[str, Any]) -> Posted:
    started = time.monotonic()
    response: HttpResponse = call(
        cloud,
        "events",
        "POST",
        cloud.exports["eventsUrls"][region],
        region=region,
        body=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )
    reply = response.json() if response.body else {}
    return Posted(region, dict(document), response.status, reply, time.monotonic() - started)


def post_concurrently(
    cloud: LocalCloud, writes: Sequence[tuple[str, Mapping[str, Any]]], *, workers: int = 8
) -> list[Posted]:
    """POST every (region, document) with `workers` in flight; replies in the order of `writes`."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda write: post_event(cloud, write[0], write[1]), writes))


def item_in(cloud: LocalCloud, region: str, item_id: str) -> EventItem | None:
    table = cloud.dynamodb_table(cloud.exports["eventsTable"], region)
    found = table.get_item(Key={"Id": item_id}, ConsistentRead=True).get("Item")
    return EventItem.from_item(found) if found else None


def replicas_of(cloud: LocalCloud, item_id: str) -> dict[str, EventItem | None]:
    return {region: item_in(cloud, region, item_id) for region in event_regions(cloud)}


def expected_winner(posted: Iterable[Posted], item_id: str) -> tuple[str, dict[str, Any]]:
    """(region, document) of the write every replica must end with: the greatest precedence among the
    accepted writes of the item, as the ConflictResolver orders them (version aside)."""
    candidates = [
        EventItem(
            id=p.document["id"],
            data=p.document["data"],
            version=0,
            last_updated_region=p.region,
            timestamp=p.document["timestamp"],
            idempotency_key=p.document["idempotencyKey"],
        )
        for p in posted
        if p.document["id"] == item_id and p.status in (200, 409)
    ]
    if not candidates:
        raise ValueError(f"no accepted write of {item_id}")
    best = functools.reduce(resolve, candidates)
    return best.last_updated_region, {
        "id": best.id,
        "data": best.data,
        "timestamp": best.timestamp,
        "idempotencyKey": best.idempotency_key,
    }


def converged(cloud: LocalCloud, item_ids: Iterable[str]) -> dict[str, EventItem] | None:
    """The item of every id when both replicas hold the same one (version included), else None."""
    agreed: dict[str, EventItem] = {}
    for item_id in item_ids:
        replicas = list(replicas_of(cloud, item_id).values())
        first = replicas[0]
        if first is None or any(other != first for other in replicas[1:]):
            return None
        agreed[item_id] = first
    return agreed


def wait_converged(
    cloud: LocalCloud, item_ids: Iterable[str], timeout_seconds: float = 60.0
) -> dict[str, EventItem]:
    ids = list(item_ids)
    found: dict[str, EventItem] = wait_until(
        lambda: converged(cloud, ids), f"both replicas agreeing on {len(ids)} item(s)", timeout_seconds
    )
    return found


def wait_settled(
    cloud: LocalCloud, posted: Sequence[Posted], timeout_seconds: float = 60.0
) -> dict[str, EventItem]:
    """Wait until both replicas hold, for every id written, the write the ConflictResolver picks."""
    ids = sorted({p.document["id"] for p in posted})
    expected = {item_id: expected_winner(posted, item_id) for item_id in ids}

    def settled() -> dict[str, EventItem] | None:
        agreed = converged(cloud, ids)
        if agreed is None:
            return None
        for item_id, (region, document) in expected.items():
            item = agreed[item_id]
            if (item.last_updated_region, item.timestamp, item.idempotency_key, item.data) != (
                region,
                document["timestamp"],
                document["idempotencyKey"],
                document["data"],
            ):
                return None
        return agreed

    found: dict[str, EventItem] = wait_until(
        settled, f"both replicas holding the resolver's winner of {len(ids)} item(s)", timeout_seconds
    )
    return found


def dead_letters(cloud: LocalCloud, region: str) -> list[dict[str, Any]]:
    """Every message on a region's DLQ, left there (received with a zero visibility timeout)."""
    sqs = cloud.client("sqs", region)
    url = cloud.exports["eventsDlqUrls"][region]
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(10):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen[message["MessageId"]] = message
    return list(seen.values())


def describe(item: EventItem | None) -> str:
    if item is None:
        return "(no item)"
    return (
        f"v{item.version} data={item.data!r} timestamp={item.timestamp} "
        f"region={item.last_updated_region} key={item.idempotency_key[:8]}"
    )


# ---- the story: what visualize_flow prints and draws, and what the demo checks -------------------------


@dataclass
class Flow:
    """What happened, step by step: lines for a person and arrows for a sequence diagram."""

    report: Report
    arrows: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, label); to "" = a note
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.report(text)

    def arrow(self, source: str, target: str, label: str) -> None:
        self.arrows.append((source, target, label))
        self.report(f"  {source} -> {target}: {label}")

    def note(self, over: str, text: str) -> None:
        self.arrows.append((over, "", text))

    def check(self, what: str, ok: bool) -> bool:
        self.checks.append((what, ok))
        self.report(f"  [{'ok' if ok else 'FAILED'}] {what}")
        return ok

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.checks)


def _show_replicas(cloud: LocalCloud, flow: Flow, item_id: str) -> dict[str, EventItem | None]:
    replicas = replicas_of(cloud, item_id)
    for region, item in replicas.items():
        flow.say(f"    table in {region}: {describe(item)}")
    return replicas


def _post(cloud: LocalCloud, flow: Flow, region: str, document: Mapping[str, Any], what: str) -> Posted:
    posted = post_event(cloud, region, document)
    outcome = posted.reply.get("status") or posted.reply.get("error")
    replayed = " (replayed)" if posted.reply.get("replayed") else ""
    flow.arrow("Client", f"API {region}", f"POST /events {what}")
    flow.arrow(f"API {region}", "Client", f"{posted.status} {outcome}{replayed}")
    return posted


FeedExpectation = tuple[str | None, Callable[[FeedMessage], bool], str]  # (region or any, matcher, what)


def _heard(feeds: Sequence[FeedSubscription], matches: Callable[[FeedMessage], bool]) -> bool:
    return any(matches(message) for feed in feeds for message in feed.messages)


def _show_feed(
    flow: Flow, feeds: Mapping[str, FeedSubscription], expected: Sequence[FeedExpectation]
) -> None:
    """Wait for what the feeds must have said, then draw every message they delivered since last time."""
    if not feeds:
        return
    missing = []
    for region, matches, what in expected:
        watched = [feeds[region]] if region else list(feeds.values())
        try:
            wait_until(functools.partial(_heard, watched, matches), f"the feed delivering {what}", 30.0)
        except TimeoutError:
            missing.append(what)
    for region, feed in feeds.items():
        for message in feed.take_new():
            flow.arrow(f"Feed {region}", "Subscriber", describe_message(message))
    wanted = ", ".join(what for _, _, what in expected)
    flow.check(f"the subscriber was told: {wanted}" + (f" (not: {missing})" if missing else ""), not missing)


def tell(cloud: LocalCloud, report: Report) -> Flow:
    """Writes in both regions, replication, a conflict during a partition and its resolution, a repeated
    idempotency key (in the same and the other region), a stale write and a poison event; what the live
    conflict feeds said, where the stack has them."""
    flow = Flow(report)
    with subscribed(cloud) as feeds:
        if feeds:
            flow.say(f"A subscriber watches the live conflict feeds of {' and '.join(feeds)} (signed).")
        _tell(cloud, flow, feeds)
    return flow


def _tell(cloud: LocalCloud, flow: Flow, feeds: Mapping[str, FeedSubscription]) -> None:
    first, second = event_regions(cloud)
    item_id = f"order-{uuid.uuid4().hex[:6]}"
    now = int(time.time() * 1000)

    flow.say(f"1. An event creates {item_id} in {first}; the global table replicates it to {second}.")
    created = _post(cloud, flow, first, event_document(item_id, "created", timestamp=now), "created")
    flow.check(
        f"{first} applied it as version 1", created.status == 200 and created.reply["item"]["version"] == 1
    )
    _show_feed(flow, feeds, [(first, about(item_id, "accepted", version=1), f"accepted v1 in {first}")])
    flow.arrow(f"Table {first}", f"Table {second}", "replicate v1")
    wait_converged(cloud, [item_id])
    _show_replicas(cloud, flow, item_id)

    flow.say(
        f"2. A partition: each region accepts its own update of {item_id} (conditional writes check only"
    )
    flow.say("   the local replica). The later client timestamp must win everywhere once it heals.")
    paid = event_document(item_id, f"paid in {first}", timestamp=now + 10)
    shipped = event_document(item_id, f"shipped in {second}", timestamp=now + 20)
    with cloud.regions_partitioned():
        flow.note(f"Table {first}", "partition: no replication")
        conflict = [
            _post(cloud, flow, first, paid, "paid (timestamp +10)"),
            _post(cloud, flow, second, shipped, "shipped (timestamp +20)"),
        ]
        flow.check("both regions applied their update locally", all(p.status == 200 for p in conflict))
        _show_feed(
            flow,
            feeds,
            [
                (region, about(item_id, "accepted", idempotencyKey=document["idempotencyKey"]), what)
                for region, document, what in (
                    (first, paid, f"paid accepted in {first}"),
                    (second, shipped, f"shipped accepted in {second}"),
                )
            ],
        )
        _show_replicas(cloud, flow, item_id)
    flow.arrow(f"Table {first}", f"Table {second}", "replicate (DynamoDB keeps the write applied last)")
    flow.arrow(f"Table {second}", f"Table {first}", "replicate")
    flow.note(f"Table {first}", "repair: a replaced item the ConflictResolver prefers is written back")
    settled = wait_settled(cloud, [created, *conflict])
    final = settled[item_id]
    # Both conflicting writes were version 2: a higher version is the repair writing the winner back.
    how = "the repair wrote it back" if final.version > 2 else "replication kept it"
    flow.arrow(f"Table {first}", f"Table {second}", f"converged: {final.data!r} v{final.version} ({how})")
    if final.version > 2:
        _show_feed(flow, feeds, [(None, about(item_id, "repaired", version=final.version), "the repair")])
    _show_replicas(cloud, flow, item_id)
    flow.check(
        f"both replicas hold the later write ({shipped['data']!r}, {second})",
        (final.data, final.last_updated_region) == (shipped["data"], second),
    )

    flow.say("3. The client retries the winning update with the same idempotency key, in both regions.")
    again = _post(cloud, flow, second, shipped, "shipped again (same idempotency key)")
    wait_until(lambda: idempotency_replicated(cloud), "the idempotency records replicating", 30.0)
    elsewhere = _post(cloud, flow, first, shipped, f"shipped again, now to {first}")
    _show_feed(
        flow,
        feeds,
        [(region, about(item_id, "duplicate"), f"a duplicate in {region}") for region in (second, first)],
    )
    unchanged = converged(cloud, [item_id])
    flow.check(
        "both retries return the first result and write nothing",
        again.reply.get("replayed") is True
        and elsewhere.reply.get("replayed") is True
        and unchanged is not None
        and unchanged[item_id] == final,
    )

    flow.say("4. A late update with an older timestamp is rejected and reported, not dropped silently.")
    stale = _post(
        cloud, flow, first, event_document(item_id, "late", timestamp=now + 5), "late (timestamp +5)"
    )
    flow.check(
        "it is answered 409 naming the current write", stale.status == 409 and "current" in stale.reply
    )
    _show_feed(flow, feeds, [(first, about(item_id, "stale"), f"stale in {first}")])

    flow.say("5. A poison event (a clock a day ahead would win every conflict) ends in the DLQ.")
    poison_doc = event_document(item_id, "from the future", timestamp=now + 86_400_000)
    poison = _post(cloud, flow, second, poison_doc, "timestamp one day ahead")
    flow.arrow(f"API {second}", f"DLQ {second}", "event + PoisonEventError")
    queued = [m for m in dead_letters(cloud, second) if json.loads(m["Body"]).get("event") == poison_doc]
    flow.check("it is answered 422 and is on the DLQ", poison.status == 422 and len(queued) == 1)


def idempotency_replicated(cloud: LocalCloud) -> bool:
    """Whether both replicas of the idempotency table hold the same completed records (Powertools keys
    them by a hash of the idempotency key, so the record of one key cannot be looked up by the key)."""
    completed = []
    for region in event_regions(cloud):
        table = cloud.dynamodb_table(cloud.exports["eventsIdempotencyTable"], region)
        items = table.scan(ProjectionExpression="id, #s", ExpressionAttributeNames={"#s": "status"})["Items"]
        completed.append({item["id"] for item in items if item.get("status") == "COMPLETED"})
    return all(records == completed[0] for records in completed)


def mermaid(flow: Flow) -> str:
    """The flow as a Mermaid sequence diagram."""
    participants: list[str] = []
    for source, target, _ in flow.arrows:
        for name in (source, target):
            if name and name not in participants:
                participants.append(name)
    lines = ["sequenceDiagram"]
    lines += [f"    participant {_mermaid_id(name)} as {name}" for name in participants]
    for source, target, label in flow.arrows:
        text = label.replace(";", ",").replace("#", "")
        if target:
            lines.append(f"    {_mermaid_id(source)}->>{_mermaid_id(target)}: {text}")
        else:
            lines.append(f"    Note over {_mermaid_id(source)}: {text}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def run(cloud: LocalCloud, report: Report) -> bool:
    return tell(cloud, report).passed
