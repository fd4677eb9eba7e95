"""The ConflictResolver: last writer wins on client time, deterministic ties, replicas converge."""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.events.conflict import beats, precedence, resolve, same_write
from handlers.events.event_item import EventItem

from .conftest import OTHER_REGION, REGION, T0, item

# Small alphabets so that equal timestamps, regions and keys (the tie-breaks) come up all the time.
versions = st.builds(
    EventItem,
    id=st.just("order-42"),
    data=st.sampled_from(["", "packed", "shipped"]),
    version=st.integers(min_value=1, max_value=3),
    last_updated_region=st.sampled_from([REGION, OTHER_REGION]),
    timestamp=st.integers(min_value=T0, max_value=T0 + 2),
    idempotency_key=st.sampled_from(["key-a", "key-b"]),
)
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
    # THEN both end with the same item: the one with the greatest precedence
    assert here == there
    assert precedence(here) == max(precedence(version) for version in history)


@PROPERTY_SETTINGS
@given(first=versions, second=versions)
def test_a_later_client_timestamp_wins_whatever_the_other_fields(first: EventItem, second: EventItem) -> None:
    # GIVEN two versions with different client timestamps
    if first.timestamp == second.timestamp:
        return
    later = first if first.timestamp > second.timestamp else second
    # THEN the later one wins, whatever its region, key, data or (local) version
    assert resolve(first, second) is later


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
