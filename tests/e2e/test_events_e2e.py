"""Active-active events in localcloud: both regions written, replicas converging on the resolver's winner.

The winners the replicas must converge on are written down in each test (timestamps, regions and keys
chosen so that the winner is plain to see), not computed with the resolver the system itself runs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from demos.doors import call
from demos.events import (
    converged,
    dead_letters,
    event_document,
    event_regions,
    mermaid,
    post_concurrently,
    post_event,
    replicas_of,
    tell,
    wait_converged,
)
from demos.waiting import wait_until
from handlers.events.event_item import EventItem
from handlers.events.tmf688 import stored_envelope
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import HttpResponse, request
from scripts.api_auth import Caller, assume_caller_role


def fresh_ids(count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"item-{run}-{n}" for n in range(count)]


def wait_for_winners(
    cloud: LocalCloud, winners: Mapping[str, tuple[str, int, str | None]], timeout_seconds: float = 60.0
) -> dict[str, EventItem]:
    """Wait until both replicas hold one item for every id, the write written down for it: its region, its
    client timestamp and (unless None) its data."""

    def holding() -> dict[str, EventItem] | None:
        agreed = converged(cloud, winners)
        if agreed is None:
            return None
        for item_id, (region, timestamp, data) in winners.items():
            item = agreed[item_id]
            if (item.last_updated_region, item.timestamp) != (region, timestamp):
                return None
            if data is not None and item.data != data:
                return None
        return agreed

    found: dict[str, EventItem] = wait_until(
        holding, f"both replicas holding the expected winner of {len(winners)} item(s)", timeout_seconds
    )
    return found


# Six writes of one id, the even ones sent to us-east-1 and the odd ones to us-west-2, each with the client
# time offset below and the idempotency key <id>-key-<n>; and the write that must win, worked out by hand
# from the resolver's order (latest client time; on a tie the greater region name, us-west-2; then the
# greater key).
CONCURRENT_SCHEDULES: list[tuple[tuple[int, ...], int]] = [
    ((0, 1, 2, 3, 4, 5), 5),  # the latest time, sent last
    ((5, 4, 3, 2, 1, 0), 0),  # the latest time, sent first: every write after it is older
    ((0, 3, 3, 1, 2, 0), 1),  # a tie on the latest time across regions: us-west-2's write
    ((4, 2, 4, 1, 0, 3), 2),  # a tie on the latest time within us-east-1: the greater key, -key-2
    ((2, 2, 2, 2, 2, 2), 5),  # all at one time: us-west-2's writes, and of those the greatest key, -key-5
    ((1, 0, 1, 0, 1, 0), 4),  # three tie within us-east-1: the greatest key, -key-4
]


def test_concurrent_updates_to_the_same_ids_in_both_regions_converge_to_the_same_item(
    cloud: LocalCloud,
) -> None:
    # GIVEN 6 ids, each updated 6 times, alternately in each region, with clashing client timestamps and
    # keys as CONCURRENT_SCHEDULES lays out (us-west-2 the greater region name)
    first, second = event_regions(cloud)
    assert (first, second) == ("us-east-1", "us-west-2")
    now = int(time.time() * 1000)
    ids = fresh_ids(len(CONCURRENT_SCHEDULES))
    writes = [
        (
            (first, second)[n % 2],
            event_document(
                item_id,
                f"update {n} of {item_id}",
                timestamp=now + offset,
                idempotency_key=f"{item_id}-key-{n}",
            ),
        )
        for item_id, (offsets, _) in zip(ids, CONCURRENT_SCHEDULES, strict=True)
        for n, offset in enumerate(offsets)
    ]
    # WHEN they are all sent at once
    posted = post_concurrently(cloud, writes, workers=8)
    # THEN each was applied or reported stale, never lost or failed, and every winner was applied
    assert {p.status for p in posted} <= {200, 409}, [p.reply for p in posted if p.status not in (200, 409)]
    winners = {
        item_id: ((first, second)[n % 2], now + offsets[n], f"update {n} of {item_id}")
        for item_id, (offsets, n) in zip(ids, CONCURRENT_SCHEDULES, strict=True)
    }
    for index, (item_id, (offsets, n)) in enumerate(zip(ids, CONCURRENT_SCHEDULES, strict=True)):
        assert posted[index * len(offsets) + n].status == 200, (
            item_id,
            posted[index * len(offsets) + n].reply,
        )
    # AND both replicas end with the same item per id: the winner written down for it
    settled = wait_for_winners(cloud, winners, timeout_seconds=60)
    for item_id, item in settled.items():
        assert set(replicas_of(cloud, item_id).values()) == {item}


def test_conflicting_writes_accepted_during_a_partition_converge_on_the_later_one_once_it_heals(
    cloud: LocalCloud,
) -> None:
    # GIVEN items both regions hold
    first, second = event_regions(cloud)
    ids = fresh_ids(4)
    now = int(time.time() * 1000)
    created = post_concurrently(cloud, [(first, event_document(i, "created", timestamp=now)) for i in ids])
    assert [p.status for p in created] == [200] * len(created), [p.reply for p in created]
    wait_converged(cloud, ids)
    # WHEN, cut off from each other, each region accepts its own update of every item (later in the second
    # region for half the items, in the first for the other half)
    with cloud.regions_partitioned():
        conflicting = post_concurrently(
            cloud,
            [
                (region, event_document(i, f"{region} wrote {i}", timestamp=now + offset))
                for n, i in enumerate(ids)
                for region, offset in ((first, 10 + 20 * (n % 2)), (second, 20))
            ],
        )
        # THEN each region applied its own write locally: a real conflict
        assert [p.status for p in conflicting] == [200] * len(conflicting)
        during = {i: replicas_of(cloud, i) for i in ids}
        assert all(replicas[first] != replicas[second] for replicas in during.values())
    # AND once the partition heals both replicas hold the later write of each item, whichever DynamoDB's
    # replication applied last: us-west-2's (at +20) for the even items, us-east-1's (at +30) for the odd
    winners: dict[str, tuple[str, int, str | None]] = {
        item_id: (first, now + 30, f"{first} wrote {item_id}")
        if n % 2
        else (second, now + 20, f"{second} wrote {item_id}")
        for n, item_id in enumerate(ids)
    }
    settled = wait_for_winners(cloud, winners, timeout_seconds=60)
    for n, item_id in enumerate(ids):
        winner = first if n % 2 else second
        assert (settled[item_id].last_updated_region, settled[item_id].data) == (
            winner,
            f"{winner} wrote {item_id}",
        )


def test_a_repeated_idempotency_key_is_processed_once_in_either_region(cloud: LocalCloud) -> None:
    # GIVEN an event applied in the first region
    first, second = event_regions(cloud)
    [item_id] = fresh_ids(1)
    document = event_document(item_id, "paid")
    original = post_event(cloud, first, document)
    assert original.status == 200 and original.reply["replayed"] is False
    # WHEN the client retries it twice there, then (once replicated) in the other region
    retries = [post_event(cloud, first, document), post_event(cloud, first, document)]
    wait_converged(cloud, [item_id])
    # THEN every retry gets the first result back and nothing is written again
    for retry in retries:
        assert retry.status == 200
        assert retry.reply["replayed"] is True
        assert retry.reply["item"] == original.reply["item"]
    elsewhere = post_event(cloud, second, document)
    assert elsewhere.status == 200
    assert elsewhere.reply["item"]["version"] == original.reply["item"]["version"] == 1
    assert elsewhere.reply.get("replayed") is True or elsewhere.reply.get("alreadyApplied") is True
    assert {item.version for item in replicas_of(cloud, item_id).values() if item} == {1}
    # AND the same key with a different payload is refused, not applied
    reused = post_event(cloud, first, {**document, "data": "refunded"})
    assert (reused.status, reused.reply["error"]) == (422, "idempotency_key_reused")


def test_a_stale_write_is_rejected_with_409_naming_the_current_write(cloud: LocalCloud) -> None:
    first, _ = event_regions(cloud)
    [item_id] = fresh_ids(1)
    now = int(time.time() * 1000)
    post_event(cloud, first, event_document(item_id, "new", timestamp=now))
    # WHEN a write with an older client timestamp arrives
    stale = post_event(cloud, first, event_document(item_id, "old", timestamp=now - 1000))
    # THEN it is refused and reported with the write that beats it, and the item is unchanged
    assert (stale.status, stale.reply["error"]) == (409, "stale_write")
    assert stale.reply["current"]["timestamp"] == now
    assert str(now) in stale.reply["message"]
    assert {item.data for item in replicas_of(cloud, item_id).values() if item} <= {"new"}


def test_a_poison_event_ends_in_the_dlq_with_its_error(cloud: LocalCloud) -> None:
    _, second = event_regions(cloud)
    [item_id] = fresh_ids(1)
    # GIVEN an event stamped a day ahead (it would win every conflict forever)
    poison = event_document(item_id, "from the future", timestamp=int(time.time() * 1000) + 86_400_000)
    # WHEN it is posted
    posted = post_event(cloud, second, poison)
    # THEN the client is told why, the item is not written, and the event with its error is on the DLQ
    assert (posted.status, posted.reply["error"], posted.reply["deadLetter"]) == (422, "poison_event", True)
    assert "ahead" in posted.reply["message"]
    assert replicas_of(cloud, item_id)[second] is None
    [letter] = [m for m in dead_letters(cloud, second) if json.loads(m["Body"]).get("event") == poison]
    assert letter["MessageAttributes"]["errorType"]["StringValue"] == "PoisonEventError"
    assert json.loads(letter["Body"])["error"]["Error"] == "PoisonEventError"


def test_an_invalid_body_is_refused_naming_the_field_and_kept_on_the_dlq(cloud: LocalCloud) -> None:
    first, _ = event_regions(cloud)
    marker = uuid.uuid4().hex
    body = json.dumps({"id": f"item-{marker}", "data": "no timestamp", "idempotencyKey": marker}).encode()
    # WHEN a body without a timestamp is posted
    response = call(cloud, "events", "POST", cloud.exports["eventsUrls"][first], body=body)
    # THEN 400 names the missing field, and the raw body is kept on the DLQ
    assert response.status == 400
    assert "timestamp" in response.json()["message"]
    kept = [m for m in dead_letters(cloud, first) if marker in m["Body"]]
    assert len(kept) == 1 and kept[0]["MessageAttributes"]["outcome"]["StringValue"] == "rejected"


def test_the_flow_story_passes_and_draws_a_sequence_diagram_of_both_regions(cloud: LocalCloud) -> None:
    lines: list[str] = []
    flow = tell(cloud, lines.append)
    assert flow.passed, "\n".join(lines)
    diagram = mermaid(flow)
    assert diagram.startswith("sequenceDiagram\n")
    for region in event_regions(cloud):
        assert f"participant API_{region.replace('-', '_')} as API {region}" in diagram
    assert "409 stale_write" in diagram and "422 poison_event" in diagram


def second_producer(cloud: LocalCloud) -> Caller:
    """Another producer with the events caller role's very grants: a twin role, its own principal."""
    iam = cloud.client("iam")
    role_name = str(cloud.exports["eventsCallerRoleArn"]).rsplit("/", 1)[-1]
    [policy_name] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    twin = f"events-second-producer-{uuid.uuid4().hex[:6]}"
    arn = iam.create_role(
        RoleName=twin, AssumeRolePolicyDocument=trust if isinstance(trust, str) else json.dumps(trust)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=twin,
        PolicyName="invoke",
        PolicyDocument=document if isinstance(document, str) else json.dumps(document),
    )
    return assume_caller_role(cloud.client("sts"), arn, session_name="second", region=event_regions(cloud)[0])


def post_as(cloud: LocalCloud, producer: Caller, region: str, document: dict[str, object]) -> HttpResponse:
    url = cloud.exports["eventsUrls"][region]
    body = json.dumps(document).encode()
    headers = producer.headers("POST", url, body, {"Content-Type": "application/json"}, region=region)
    return request("POST", url, body=body, headers=headers)


def test_an_event_id_belongs_to_its_creator_and_keys_are_per_principal(cloud: LocalCloud) -> None:
    first, _ = event_regions(cloud)
    [item_id] = fresh_ids(1)
    other = second_producer(cloud)
    # GIVEN an event created by the events caller role
    created = post_event(cloud, first, event_document(item_id, "mine", idempotency_key=f"key-{item_id}"))
    assert created.status == 200, created.reply
    # WHEN another principal, allowed to call the route, writes the same id with a later timestamp
    hijack = event_document(item_id, "theirs", timestamp=int(time.time() * 1000) + 1000)
    refused = post_as(cloud, other, first, hijack)
    # THEN it is refused by name, the item keeps its creator's data, and the refused event is kept
    assert (refused.status, refused.json()["error"]) == (403, "event_owned_by_another_principal")
    assert {item.data for item in replicas_of(cloud, item_id).values() if item} == {"mine"}
    assert [m for m in dead_letters(cloud, first) if json.loads(m["Body"]).get("event") == hijack]
    # AND the first producer's idempotency key, reused by the other for its own new id, is not a replay
    [own_id] = fresh_ids(1)
    reused = post_as(cloud, other, first, event_document(own_id, "own", idempotency_key=f"key-{item_id}"))
    assert reused.status == 200 and reused.json()["replayed"] is False, reused.json()


# ---- TMF688 envelopes (handlers/events/tmf688.py, docs/event-schema.md) --------------------------------


def rfc3339_utc(epoch_ms: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tmf688_event(event_id: str, state: str, *, occurred_ms: int) -> dict[str, object]:
    """A TMF688 body for `event_id`, occurred at `occurred_ms` (epoch ms), the state in its event body."""
    return {
        "eventId": event_id,
        "eventType": "ProductOrderStateChangeEvent",
        "correlationId": f"corr-{event_id}",
        "domain": "Commercial",
        "title": f"{event_id} {state}",
        "priority": "Normal",
        "timeOccurred": rfc3339_utc(occurred_ms),
        "event": {"productOrder": {"id": event_id, "state": state}},
    }


def test_a_tmf688_event_posted_in_one_region_is_stored_and_replicated_with_its_envelope(
    cloud: LocalCloud,
) -> None:
    # GIVEN a TMF688 envelope
    first, second = event_regions(cloud)
    [event_id] = fresh_ids(1)
    now = int(time.time() * 1000)
    envelope = tmf688_event(event_id, "packed", occurred_ms=now)
    # WHEN it is posted in the first region
    posted = post_event(cloud, first, envelope)
    # THEN it is applied as the item eventId, at its occurrence time
    assert posted.status == 200, posted.reply
    assert (posted.reply["item"]["id"], posted.reply["item"]["timestamp"]) == (event_id, now)
    # AND both replicas hold it, each with the whole envelope: descriptive fields and event body
    replicas = wait_converged(cloud, [event_id])
    item = replicas[event_id]
    assert (item.last_updated_region, item.timestamp, item.version) == (first, now, 1)
    assert {
        region: stored_envelope(replica.data)
        for region, replica in replicas_of(cloud, event_id).items()
        if replica
    } == {
        first: envelope,
        second: envelope,
    }


def test_conflicting_tmf688_events_during_a_partition_resolve_by_last_writer_wins_as_plain_events_do(
    cloud: LocalCloud,
) -> None:
    # GIVEN items both regions hold: two created as TMF688 envelopes, two as plain events
    first, second = event_regions(cloud)
    envelope_ids, plain_ids = fresh_ids(2), fresh_ids(2)
    now = int(time.time() * 1000)

    def write(item_id: str, text: str, occurred_ms: int) -> dict[str, object]:
        if item_id in envelope_ids:
            return tmf688_event(item_id, text, occurred_ms=occurred_ms)
        return event_document(item_id, text, timestamp=occurred_ms)

    ids = [*envelope_ids, *plain_ids]
    created = post_concurrently(cloud, [(first, write(i, "created", now)) for i in ids])
    assert [p.status for p in created] == [200] * len(created), [p.reply for p in created]
    wait_converged(cloud, ids)
    # WHEN, cut off from each other, each region accepts its own update of every item (occurring later in
    # the second region for the first item of each shape, in the first region for the second)
    with cloud.regions_partitioned():
        conflicting = post_concurrently(
            cloud,
            [
                (region, write(i, f"{region} wrote {i}", now + offset))
                for pair in (envelope_ids, plain_ids)
                for n, i in enumerate(pair)
                for region, offset in ((first, 10 + 20 * n), (second, 20))
            ],
        )
        # THEN each region applied its own write locally: a real conflict, for either shape
        assert [p.status for p in conflicting] == [200] * len(conflicting), [p.reply for p in conflicting]
        during = {i: replicas_of(cloud, i) for i in ids}
        assert all(replicas[first] != replicas[second] for replicas in during.values())
    # AND once the partition heals both replicas hold the later write of each item: us-west-2's (at +20) for
    # the first item of each shape, us-east-1's (at +30) for the second
    winners: dict[str, tuple[str, int, str | None]] = {
        item_id: (first, now + 30, None) if n else (second, now + 20, None)
        for pair in (envelope_ids, plain_ids)
        for n, item_id in enumerate(pair)
    }
    settled = wait_for_winners(cloud, winners, timeout_seconds=60)
    for pair in (envelope_ids, plain_ids):
        for n, item_id in enumerate(pair):
            winner = first if n else second
            assert settled[item_id].last_updated_region == winner
    # AND an envelope's winner carries its envelope, and each shape's conflict ended the same way
    for envelope_id, plain_id in zip(envelope_ids, plain_ids, strict=True):
        envelope = stored_envelope(settled[envelope_id].data)
        assert envelope is not None and envelope["event"]["productOrder"]["state"].endswith(
            f"wrote {envelope_id}"
        )
        assert (settled[envelope_id].last_updated_region, settled[envelope_id].timestamp) == (
            settled[plain_id].last_updated_region,
            settled[plain_id].timestamp,
        )


def test_a_bad_tmf688_event_is_refused_400_naming_the_field_and_kept_on_the_dlq(cloud: LocalCloud) -> None:
    first, _ = event_regions(cloud)
    [event_id] = fresh_ids(1)
    # GIVEN an envelope whose occurrence time is no RFC 3339 date-time
    bad = {
        **tmf688_event(event_id, "packed", occurred_ms=int(time.time() * 1000)),
        "timeOccurred": "yesterday",
    }
    # WHEN it is posted
    posted = post_event(cloud, first, bad)
    # THEN 400 invalid_event names the field, nothing is written, and the raw body is kept on the DLQ
    assert (posted.status, posted.reply["error"]) == (400, "invalid_event")
    assert posted.reply["message"].startswith("body.timeOccurred is 'yesterday', not an RFC 3339 date-time")
    assert replicas_of(cloud, event_id)[first] is None
    kept = [m for m in dead_letters(cloud, first) if event_id in m["Body"]]
    assert len(kept) == 1 and kept[0]["MessageAttributes"]["errorType"]["StringValue"] == "invalid_event"
