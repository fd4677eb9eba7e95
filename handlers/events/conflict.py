"""The ConflictResolver: which of two versions of an event item wins, the same answer in every region.

Last writer wins on the client's timestamp; ties are broken deterministically, field by field:
1. Timestamp (client epoch ms): the client's order of its own writes is the order that matters, and it
   is the same in both regions, unlike arrival or server time. (The processor refuses timestamps more
   than MAX_CLOCK_SKEW_SECONDS ahead: a client clock far ahead would otherwise win every conflict.)
2. LastUpdatedRegion: two regions accepting writes in the same millisecond is the conflict this system
   exists for; the region name is a stable, readable tie-break (the lexically greater region wins).
3. IdempotencyKey: separates two different writes accepted in one region in the same millisecond.
4. Data: equal timestamp, region and key with different data can only be a key reused after its
   idempotency record expired; comparing the data still picks one of them the same way everywhere.
5. Version, last: it is each replica's local optimistic-lock counter (the processor bumps it, so do
   repairs) and says nothing about which write is newer, so it must not decide a conflict; it is in the
   order only to make it total, so that `resolve` is commutative even for two copies of one write.
With every field but the id in the order, `resolve` picks the maximum of a total order: commutative,
associative and idempotent, so replicas that see the same versions in any order converge on one winner.

AWS caveat: with multi-region eventual consistency (MREC, the default) a conditional write checks only
the local replica, so both regions can accept conflicting writes, and DynamoDB's own replication then
keeps the later *wall-clock* write, which need not be this resolver's winner. The repair function on each
replica's stream (handlers/events/repair.py) writes the resolver's winner back. With multi-region strong
consistency (MRSC, config eventsConsistency: strong) conditional writes are checked across regions and
no such conflict can be accepted.
"""

from __future__ import annotations

from handlers.events.event_item import EventItem

Precedence = tuple[int, str, str, str, int]


def precedence(item: EventItem) -> Precedence:
    """The order the resolver uses: (timestamp, region, idempotency key, data, version)."""
    return (item.timestamp, item.last_updated_region, item.idempotency_key, item.data, item.version)


def _same_id(one: EventItem, other: EventItem) -> None:
    if one.id != other.id:
        raise ValueError(f"cannot resolve versions of different items: {one.id!r} and {other.id!r}")


def beats(one: EventItem, other: EventItem) -> bool:
    """`one` wins against `other` (strictly: an item does not beat itself)."""
    _same_id(one, other)
    return precedence(one) > precedence(other)


def resolve(one: EventItem, other: EventItem) -> EventItem:
    """The winner of the two, one of them (equal precedence means equal items: `one` is returned)."""
    _same_id(one, other)
    return other if beats(other, one) else one


def same_write(one: EventItem, other: EventItem) -> bool:
    """One client write in both versions (same timestamp, idempotency key and data), wherever it was
    applied and whatever the version: a duplicate, not a conflict. It happens when a repeat reaches the
    other region before the idempotency record did; replication then leaves one copy in both replicas."""
    _same_id(one, other)
    return (one.timestamp, one.idempotency_key, one.data) == (
        other.timestamp,
        other.idempotency_key,
        other.data,
    )
