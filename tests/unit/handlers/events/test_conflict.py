"""The ConflictResolver: last writer wins on client time, deterministic ties, replicas converge, over plain
events and TMF688 envelopes alike."""

from __future__ import annotations

import functools
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.events.conflict import beats, resolve, same_write, writes_later
from handlers.events.event_item import EventItem, IncomingEvent, parse_event
from handlers.events.tmf688 import parse_tmf688

from .conftest import EVENT_ID, OTHER_PRINCIPAL, OTHER_REGION, OWNER, REGION, T0, item, rfc3339

# The owners an id's versions can have, from the one that loses to the one that wins: no owner (an item
# from before owners were recorded), then owner ARNs in lexical order.
RANKED_OWNERS: list[str | None] = [None, *sorted([OWNER, OTHER_PRINCIPAL])]


def plain_versions_of(owners: st.SearchStrategy[str | None]) -> st.SearchStrategy[EventItem]:
    # Small alphabets so that equal timestamps, regions and keys (the tie-breaks) come up all the time.
    return st.builds(
        EventItem,
        id=st.just(EVENT_ID),
        data=st.sampled_from(["", "packed", "shipped"]),
        version=st.integers(min_value=1, max_value=3),
        last_updated_region=st.sampled_from([REGION, OTHER_REGION]),
        timestamp=st.integers(min_value=T0, max_value=T0 + 2),
        idempotency_key=st.sampled_from(["key-a", "key-b"]),
        owner=owners,
    )


def written(incoming: IncomingEvent, *, version: int, region: str, owner: str | None) -> EventItem:
    """The version the processor writes for `incoming` in `region` (handlers/events/processor.py)."""
    return EventItem(
        id=incoming.id,
        data=incoming.data,
        version=version,
        last_updated_region=region,
        timestamp=incoming.timestamp,
        idempotency_key=incoming.idempotency_key,
        owner=owner,
    )


@st.composite
def envelope_events(draw: st.DrawFn) -> IncomingEvent:
    """A TMF688 envelope of the item, as the API maps it; its occurrence time in any offset and either
    field, so that the same instants (ties) come up all the time."""
    occurred = rfc3339(
        draw(st.integers(min_value=T0, max_value=T0 + 2)), draw(st.sampled_from(["Z", "+02:00"]))
    )
    document = {
        "eventId": EVENT_ID,
        "eventType": draw(st.sampled_from(["ProductOrderCreateEvent", "ProductOrderStateChangeEvent"])),
        "event": {"productOrder": {"id": "42", "state": draw(st.sampled_from(["packed", "shipped"]))}},
        draw(st.sampled_from(["timeOccurred", "eventTime"])): occurred,
    }
    if draw(st.booleans()):
        document["correlationId"] = draw(st.sampled_from(["corr-1", "corr-2"]))
    return parse_tmf688(document).incoming()


def envelope_versions_of(owners: st.SearchStrategy[str | None]) -> st.SearchStrategy[EventItem]:
    return st.builds(
        written,
        envelope_events(),
        version=st.integers(min_value=1, max_value=3),
        region=st.sampled_from([REGION, OTHER_REGION]),
        owner=owners,
    )


def versions_of(owners: st.SearchStrategy[str | None]) -> st.SearchStrategy[EventItem]:
    """Versions of one item, each a plain event's or a TMF688 envelope's: the properties hold over both."""
    return st.one_of(plain_versions_of(owners), envelope_versions_of(owners))


versions = versions_of(st.sampled_from(RANKED_OWNERS))
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


@PROPERTY_SETTINGS
@given(first=versions, second=versions)
def test_resolve_is_commutative(first: EventItem, second: EventItem) -> None:
    # GIVEN two versions of one item, WHEN each region resolves them in its own order
    # THEN both pick the same winner
    assert resolve(first, second) == resolve(second, first)


@PROPERTY_SETTINGS
@given(first=versions, second=versions, third=versions)
def test_resolve_is_associative(first: EventItem, second: EventItem, third: EventItem) -> None:
    # GIVEN three versions, WHEN they are resolved in either grouping
    # THEN the winner is the same
    assert resolve(resolve(first, second), third) == resolve(first, resolve(second, third))


@PROPERTY_SETTINGS
@given(first=versions)
def test_resolve_is_idempotent(first: EventItem) -> None:
    # GIVEN a version seen twice (a replicated copy of itself), THEN resolving keeps it
    assert resolve(first, first) == first
    assert not beats(first, first)


@PROPERTY_SETTINGS
@given(first=versions, second=versions)
def test_the_winner_is_always_one_of_the_two_versions_and_beaten_by_neither(
    first: EventItem, second: EventItem
) -> None:
    # WHEN two versions are resolved
    winner = resolve(first, second)
    # THEN the winner is one of them, never a merge
    assert winner is first or winner is second
    # AND neither version beats it
    assert not beats(first, winner) and not beats(second, winner)


@PROPERTY_SETTINGS
@given(history=st.lists(versions, min_size=1, max_size=8), seed=st.integers(min_value=0, max_value=2**32))
def test_replicas_converge_whatever_order_the_versions_arrive_in(history: list[EventItem], seed: int) -> None:
    # GIVEN the versions one replica saw, and the same versions in another order at the other replica
    shuffled = list(history)
    random.Random(seed).shuffle(shuffled)
    # WHEN each replica folds what arrives into its current item
    here = functools.reduce(resolve, history)
    there = functools.reduce(resolve, shuffled)
    # THEN both end with the same item, one of the versions (which one is the hand-written examples' job:
    # test_the_winner_of_a_small_history_is_the_one_written_down)
    assert here == there
    assert here in history


@PROPERTY_SETTINGS
@given(owner=st.sampled_from(RANKED_OWNERS), data=st.data())
def test_between_one_owners_versions_a_later_client_timestamp_wins_whatever_the_other_fields(
    owner: str | None, data: st.DataObject
) -> None:
    # GIVEN two versions of one owner (the only conflicts the processor decides) with different client
    # timestamps
    first, second = data.draw(versions_of(st.just(owner))), data.draw(versions_of(st.just(owner)))
    if first.timestamp == second.timestamp:
        return
    later = first if first.timestamp > second.timestamp else second
    # THEN the later one wins, whatever its region, key, data or (local) version
    assert resolve(first, second) is later
    # AND the processor's last-writer-wins comparison agrees with the resolver
    assert writes_later(later, first if later is second else second)


@PROPERTY_SETTINGS
@given(first=versions, second=versions)
def test_between_two_owners_versions_the_greater_owner_wins_whatever_the_timestamps(
    first: EventItem, second: EventItem
) -> None:
    # GIVEN versions of two owners (an id both created concurrently in two regions, or an unowned item
    # and its claim)
    if first.owner == second.owner:
        return
    # THEN the winner is the greater owner's version, however early its client timestamp
    assert resolve(first, second).owner == max(first.owner, second.owner, key=RANKED_OWNERS.index)


@PROPERTY_SETTINGS
@given(history=st.lists(versions, min_size=1, max_size=8))
def test_replicas_keep_the_owners_latest_write_and_no_write_of_another_principal(
    history: list[EventItem],
) -> None:
    # GIVEN the versions both regions accepted for one id, by up to three owners
    owner = max((version.owner for version in history), key=RANKED_OWNERS.index)
    owners_writes = [version for version in history if version.owner == owner]
    # WHEN the replicas resolve them
    winner = functools.reduce(resolve, history)
    # THEN they keep the greatest owner's item: one of its own writes, the latest by client timestamp, as if
    # no other principal had written
    assert winner.owner == owner
    assert winner in owners_writes
    assert winner.timestamp == max(version.timestamp for version in owners_writes)


def test_the_later_write_wins_even_with_a_lower_version() -> None:
    # GIVEN a version written later by the client, whose replica's counter is behind
    earlier = item(timestamp=T0, version=7, data="packed")
    later = item(timestamp=T0 + 1, version=2, data="shipped")
    # THEN the later write wins: the version is a local counter, not a clock
    assert resolve(earlier, later) is later
    assert resolve(later, earlier) is later


def test_a_tie_on_timestamp_goes_to_the_greater_region_name() -> None:
    # GIVEN two regions accepting writes in the same client millisecond
    from_eu = item(region="eu-west-1", key="key-z")
    from_us = item(region="us-east-1", key="key-a")
    # THEN the lexically greater region wins, in both orders, before the key is looked at
    assert resolve(from_eu, from_us) is from_us
    assert resolve(from_us, from_eu) is from_us


def test_a_tie_on_timestamp_and_region_goes_to_the_greater_idempotency_key() -> None:
    # GIVEN two writes accepted by one region in the same client millisecond
    first = item(key="key-a", data="zzz", version=9)
    second = item(key="key-b", data="aaa", version=1)
    # THEN the greater idempotency key wins, before the data or the version is looked at
    assert resolve(first, second) is second
    assert resolve(second, first) is second


def test_a_tie_on_timestamp_region_and_key_goes_to_the_greater_data_even_with_a_lower_version() -> None:
    # GIVEN a key reused after its idempotency record expired: equal owner, timestamp, region and key,
    # different data, the lesser data on the higher local version
    lesser = item(data="packed-a", version=9)
    greater = item(data="packed-b", version=8)
    # THEN the greater data wins in both orders: the version is looked at only when the data are equal
    assert resolve(lesser, greater) is greater
    assert resolve(greater, lesser) is greater


@pytest.mark.parametrize(
    ("lesser_data", "greater_data"),
    [
        ("packed-a", "packed-b"),  # the last character, one code point apart
        ("packed", "packed-"),  # a prefix and one character more
        ("", "a"),  # no data and the smallest printable difference
        # one space before the brace: equal JSON, different data (' ' sorts before '}')
        ('{"status": "packed" }', '{"status": "packed"}'),
    ],
)
def test_data_decides_before_the_version_at_the_smallest_difference_in_data(
    lesser_data: str, greater_data: str
) -> None:
    # GIVEN two versions that differ only in data, by as little as data can, and in version by one, the
    # other way round
    lesser = item(data=lesser_data, version=2)
    greater = item(data=greater_data, version=1)
    # THEN the greater data wins in both orders
    assert resolve(lesser, greater) is greater
    assert resolve(greater, lesser) is greater


def test_with_equal_data_the_higher_version_wins_by_a_difference_of_one() -> None:
    # GIVEN one write as two replicas hold it, their local counters one apart (every other field equal)
    behind = item(version=7)
    ahead = item(version=8)
    # THEN the higher version wins in both orders, and an identical copy does not unseat the first one
    assert resolve(behind, ahead) is ahead
    assert resolve(ahead, behind) is ahead
    copy_of_ahead = item(version=8)
    assert resolve(ahead, copy_of_ahead) is ahead
    assert resolve(copy_of_ahead, ahead) is copy_of_ahead


def envelope_version(occurred: str, state: str, *, region: str) -> EventItem:
    """Version 1 of EVENT_ID written in `region` from a TMF688 envelope that occurred at `occurred`."""
    document = {
        "eventId": EVENT_ID,
        "eventType": "ProductOrderStateChangeEvent",
        "event": {"productOrder": {"id": "42", "state": state}},
        "timeOccurred": occurred,
    }
    return written(parse_tmf688(document).incoming(), version=1, region=region, owner=OWNER)


# Small histories of one item, each with its winner written down by hand. REGION is eu-west-1 and
# OTHER_REGION us-east-1 (the greater name); OWNER is an assumed role's arn:aws:sts:... ARN and
# OTHER_PRINCIPAL an IAM user's arn:aws:iam:... ARN (the lesser).
HISTORIES: dict[str, tuple[dict[str, EventItem], str]] = {
    "the latest client timestamp, though every other field is against it": (
        {
            "late": item(timestamp=T0 + 2, region=REGION, key="key-a", data="a", version=1),
            "middle": item(timestamp=T0 + 1, region=OTHER_REGION, key="key-z", data="z", version=9),
            "early": item(timestamp=T0, region=OTHER_REGION, key="key-z", data="z", version=9),
        },
        "late",
    ),
    "a tie on the latest timestamp: us-east-1's write": (
        {
            "eu": item(timestamp=T0 + 5, region=REGION, key="key-z", data="z", version=9),
            "us": item(timestamp=T0 + 5, region=OTHER_REGION, key="key-a", data="a", version=1),
            "us-earlier": item(timestamp=T0 + 4, region=OTHER_REGION, key="key-z", data="z", version=9),
        },
        "us",
    ),
    "a tie on timestamp and region: the greater idempotency key": (
        {
            "key-b": item(key="key-b", data="a", version=1),
            "key-a": item(key="key-a", data="z", version=9),
            "key-c-earlier": item(timestamp=T0 - 1, key="key-c", data="z", version=9),
        },
        "key-b",
    ),
    "a tie on timestamp, region and key: the greater data, not the higher version": (
        {
            "shipped": item(data="shipped", version=1),
            "packed": item(data="packed", version=3),
            "cancelled": item(data="cancelled", version=2),
        },
        "shipped",
    ),
    "one write three times: the highest local version": (
        {"v1": item(version=1), "v3": item(version=3), "v2": item(version=2, region=REGION)},
        "v3",
    ),
    "an owner's early write over another principal's later one and an unowned latest one": (
        {
            "owner-early": item(owner=OWNER, timestamp=T0),
            "other-later": item(owner=OTHER_PRINCIPAL, timestamp=T0 + 100, region=OTHER_REGION),
            "unowned-latest": item(owner=None, timestamp=T0 + 200, region=OTHER_REGION),
        },
        "owner-early",
    ),
    "the owner's latest write among three owners' interleaved writes": (
        {
            "owner-1": item(owner=OWNER, timestamp=T0 + 1, key="key-1"),
            "other-3": item(owner=OTHER_PRINCIPAL, timestamp=T0 + 3, key="key-3"),
            "owner-2": item(owner=OWNER, timestamp=T0 + 2, key="key-2", region=OTHER_REGION),
            "unowned-4": item(owner=None, timestamp=T0 + 4, key="key-4"),
        },
        "owner-2",
    ),
    "an unowned item and its claim: the claim, though earlier": (
        {
            "unowned": item(owner=None, timestamp=T0 + 5, region=OTHER_REGION),
            "claim": item(owner=OTHER_PRINCIPAL, timestamp=T0, region=REGION),
        },
        "claim",
    ),
    "envelopes: the later instant, whatever offset each occurrence was written in": (
        {
            # 10:00:00.005+02:00 is 08:00:00.005Z: one millisecond after the Z one, though it reads later
            # as text by two hours and the other was written in the greater region
            "plus-two": envelope_version("2024-06-01T10:00:00.005+02:00", "shipped", region=REGION),
            "utc": envelope_version("2024-06-01T08:00:00.004Z", "packed", region=OTHER_REGION),
            "minus-one": envelope_version("2024-06-01T07:00:00.003-01:00", "created", region=OTHER_REGION),
        },
        "plus-two",
    ),
}


@pytest.mark.parametrize(("versions_by_name", "winner"), HISTORIES.values(), ids=HISTORIES.keys())
def test_the_winner_of_a_small_history_is_the_one_written_down(
    versions_by_name: dict[str, EventItem], winner: str
) -> None:
    # GIVEN a few versions of one item and the one that must win, decided by hand
    expected = versions_by_name[winner]
    # WHEN a replica folds them in, in every order they can arrive in
    for arrival in itertools.permutations(versions_by_name.values()):
        # THEN it ends with that version
        assert functools.reduce(resolve, arrival) is expected, [
            name for version in arrival for name, named in versions_by_name.items() if named is version
        ]


def test_versions_of_different_items_cannot_be_resolved() -> None:
    # GIVEN versions of two different items, THEN resolving them is refused
    with pytest.raises(ValueError, match="different items: 'order-42' and 'order-43'"):
        resolve(item(id="order-42"), item(id="order-43"))


def test_one_client_write_applied_in_both_regions_is_the_same_write_not_a_conflict() -> None:
    # GIVEN one write applied by each region (a repeat that beat its idempotency record's replication)
    here = item(region=REGION, version=4)
    there = item(region=OTHER_REGION, version=2)
    # THEN it is the same write; another timestamp, key or data is not
    assert same_write(here, there)
    assert not same_write(here, item(timestamp=T0 + 1))
    assert not same_write(here, item(key="key-2"))
    assert not same_write(here, item(data="shipped"))


def test_the_same_key_and_data_from_two_principals_are_two_writes_not_one() -> None:
    # GIVEN two principals that sent the same idempotency key, data and timestamp (keys are per principal)
    mine = item(owner=OWNER)
    theirs = item(owner=OTHER_PRINCIPAL)
    # THEN they are not the same write, and the resolver picks the greater owner's in either order
    # (an assumed role's arn:aws:sts:... after an IAM user's arn:aws:iam:...)
    assert not same_write(mine, theirs)
    assert resolve(mine, theirs) is resolve(theirs, mine) is mine


def test_an_owned_version_beats_an_unowned_one_even_from_earlier_and_the_other_region() -> None:
    # GIVEN an item from before owners were recorded, and a claim of it with an earlier client timestamp
    unowned = item(owner=None, timestamp=T0 + 5, region=OTHER_REGION)
    claimed = item(owner=OTHER_PRINCIPAL, timestamp=T0, region=REGION)
    # THEN the owned version wins everywhere, though last writer wins alone would keep the unowned one
    assert writes_later(unowned, claimed)
    assert resolve(unowned, claimed) is claimed and resolve(claimed, unowned) is claimed


@PROPERTY_SETTINGS
@given(
    incoming=envelope_events(),
    version=st.integers(min_value=1, max_value=3),
    region=st.sampled_from([REGION, OTHER_REGION]),
    owner=st.sampled_from(RANKED_OWNERS),
    other=versions,
)
def test_an_envelope_and_the_same_meaning_plain_event_resolve_the_same_way_against_any_version(
    incoming: IncomingEvent, version: int, region: str, owner: str | None, other: EventItem
) -> None:
    # GIVEN a TMF688 envelope, and the plain event with the same meaning (its id, data, client timestamp
    # and key, as a plain client would send them), each applied as the same version in the same region
    plain = parse_event(
        {
            "id": incoming.id,
            "data": incoming.data,
            "timestamp": incoming.timestamp,
            "idempotencyKey": incoming.idempotency_key,
        }
    )
    from_envelope = written(incoming, version=version, region=region, owner=owner)
    from_plain = written(plain, version=version, region=region, owner=owner)
    # THEN they are one write, and against any other version (plain or envelope) each wins or loses alike
    assert same_write(from_envelope, from_plain)
    assert beats(from_envelope, other) == beats(from_plain, other)
    assert beats(other, from_envelope) == beats(other, from_plain)
    assert resolve(from_envelope, other) == resolve(from_plain, other)


@PROPERTY_SETTINGS
@given(history=st.lists(envelope_versions_of(st.just(OWNER)), min_size=1, max_size=8))
def test_between_one_owners_envelopes_the_latest_occurrence_wins_whatever_offset_it_was_written_in(
    history: list[EventItem],
) -> None:
    # GIVEN envelopes of one eventId from one producer, accepted in either region, their occurrence times
    # written in various offsets
    # WHEN the replicas resolve them
    winner = functools.reduce(resolve, history)
    # THEN the winner occurred last (the instant, not how it was written), and carries its envelope
    assert winner.timestamp == max(version.timestamp for version in history)
    assert winner.data in {version.data for version in history if version.timestamp == winner.timestamp}
