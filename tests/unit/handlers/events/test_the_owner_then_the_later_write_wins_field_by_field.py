"""The ConflictResolver, example by example: the owner first, then each write-order field at its smallest
difference with every later field against it; comparisons are strict, and only versions of one item
are compared. Every winner below is decided by hand from docs in handlers/events/conflict.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from handlers.events.conflict import beats, resolve, same_write, writes_later
from handlers.events.event_item import EventItem

from .conftest import OTHER_PRINCIPAL, OTHER_REGION, OWNER, REGION, T0, item

# Pairs of versions of one owner, (earlier write, later write), each differing first in one field of the
# write order by the smallest step, every later field favouring the earlier write.
LATER_BY_ONE_FIELD: dict[str, tuple[EventItem, EventItem]] = {
    "timestamp, by one millisecond": (
        item(timestamp=T0, region=OTHER_REGION, key="key-z", data="z", version=9),
        item(timestamp=T0 + 1, region=REGION, key="key-a", data="a", version=1),
    ),
    "region, by name": (
        item(region=REGION, key="key-z", data="z", version=9),
        item(region=OTHER_REGION, key="key-a", data="a", version=1),
    ),
    "idempotency key, by its last character": (
        item(key="key-a", data="z", version=9),
        item(key="key-b", data="a", version=1),
    ),
    "data, by its last character": (
        item(data="packed-a", version=9),
        item(data="packed-b", version=1),
    ),
    "version, by one": (item(version=1), item(version=2)),
}


@pytest.mark.parametrize(("earlier", "later"), LATER_BY_ONE_FIELD.values(), ids=LATER_BY_ONE_FIELD.keys())
def test_the_later_write_by_the_first_differing_field_writes_later_and_wins(
    earlier: EventItem, later: EventItem
) -> None:
    # GIVEN two versions of one owner differing first in one field, all later fields against the later one
    # THEN the processor's comparison calls it the later write, one way only
    assert writes_later(later, earlier)
    assert not writes_later(earlier, later)
    # AND the resolver agrees, in both orders
    assert beats(later, earlier) and not beats(earlier, later)
    assert resolve(earlier, later) is later
    assert resolve(later, earlier) is later


def test_a_version_does_not_write_later_than_an_identical_copy_of_itself() -> None:
    # GIVEN one version and an equal copy of it (a replicated copy)
    version = item()
    copy = item()
    # THEN neither is the later write, and neither beats the other: the comparisons are strict
    assert not writes_later(version, copy) and not writes_later(copy, version)
    assert not writes_later(version, version)
    assert not beats(version, copy) and not beats(copy, version)
    # AND resolving returns the first one given
    assert resolve(version, copy) is version
    assert resolve(copy, version) is copy


def test_writes_later_leaves_owners_aside() -> None:
    # GIVEN one write of the same fields by the owner and by no owner, and a later write of the lesser owner
    owned = item(owner=OWNER)
    unowned = item(owner=None)
    later_by_the_lesser_owner = item(owner=OTHER_PRINCIPAL, timestamp=T0 + 1)
    # THEN the owner alone never makes a write later
    assert not writes_later(owned, unowned) and not writes_later(unowned, owned)
    # AND the later timestamp does, whoever wrote it
    assert writes_later(later_by_the_lesser_owner, owned)
    assert not writes_later(owned, later_by_the_lesser_owner)


@pytest.mark.parametrize(
    ("loser", "winner"),
    [
        (item(owner=None, timestamp=T0 + 1000), item(owner=OTHER_PRINCIPAL, timestamp=T0)),
        (item(owner=None, timestamp=T0 + 1000), item(owner=OWNER, timestamp=T0)),
        (item(owner=OTHER_PRINCIPAL, timestamp=T0 + 1000), item(owner=OWNER, timestamp=T0)),
        (
            item(owner="arn:aws:iam::123456789012:user/a", timestamp=T0 + 1, region=OTHER_REGION),
            item(owner="arn:aws:iam::123456789012:user/b", timestamp=T0, region=REGION),
        ),
        (
            item(owner="arn:aws:iam::123456789012:user/a", timestamp=T0 + 1),
            item(owner="arn:aws:iam::123456789012:user/ab", timestamp=T0),
        ),
    ],
    ids=[
        "an-owner-over-no-owner",
        "the-greater-owner-over-no-owner",
        "the-greater-of-two-owners",
        "owners-one-character-apart",
        "an-owner-over-its-prefix",
    ],
)
def test_the_owner_decides_before_any_write_field(loser: EventItem, winner: EventItem) -> None:
    # GIVEN versions by two owners (or an owner and none), the loser written later
    # THEN the greater owner's version wins in both orders, though it writes earlier
    assert beats(winner, loser) and not beats(loser, winner)
    assert resolve(loser, winner) is winner
    assert resolve(winner, loser) is winner
    assert writes_later(loser, winner)


def test_an_owner_whose_arn_is_the_empty_string_still_beats_no_owner() -> None:
    # GIVEN a version with an owner of '' (falsy, but recorded) and a later one with no owner
    recorded = item(owner="", timestamp=T0)
    unrecorded = item(owner=None, timestamp=T0 + 1)
    # THEN the recorded owner wins: owned before unowned, whatever the owner's text
    assert resolve(unrecorded, recorded) is recorded
    assert resolve(recorded, unrecorded) is recorded


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (item(region=REGION, version=1), item(region=OTHER_REGION, version=2)),
        (item(version=3), item(version=4)),
    ],
    ids=["another-region-and-version", "another-version"],
)
def test_one_write_held_by_two_replicas_is_the_same_write(one: EventItem, other: EventItem) -> None:
    # GIVEN one client write as applied in either region (its region and local version may differ)
    # THEN it is the same write, in both orders
    assert same_write(one, other) and same_write(other, one)


@pytest.mark.parametrize(
    "other",
    [
        item(owner=None),
        item(owner=OTHER_PRINCIPAL),
        item(timestamp=T0 + 1),
        item(key="key-2"),
        item(data='{"status": "packed" }'),
    ],
    ids=["no-owner", "another-owner", "a-millisecond-later", "another-key", "other-data"],
)
def test_two_versions_differing_in_owner_timestamp_key_or_data_are_two_writes(other: EventItem) -> None:
    # GIVEN a version and one differing in exactly one of owner, timestamp, key and data
    one = item()
    # THEN they are two writes, in both orders
    assert not same_write(one, other) and not same_write(other, one)


@pytest.mark.parametrize(
    "compare",
    [beats, writes_later, resolve, same_write],
    ids=["beats", "writes_later", "resolve", "same_write"],
)
def test_versions_of_different_items_are_never_compared(
    compare: Callable[[EventItem, EventItem], object],
) -> None:
    # GIVEN versions of two different items, otherwise equal
    one, other = item(id="order-42"), item(id="order-43")
    # WHEN any comparison is asked for THEN it is refused, naming both ids
    with pytest.raises(
        ValueError, match=r"^cannot resolve versions of different items: 'order-42' and 'order-43'$"
    ):
        compare(one, other)
