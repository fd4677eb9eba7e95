"""The ConflictResolver: which of two versions of an event item wins, the same answer in every region.

The owner's writes first, then last writer wins on the client's timestamp; ties are broken
deterministically, field by field:
0. Owner (handlers/events/ownership.py): only the owner may write an id, so versions of one id by two
   principals exist only when both created it concurrently in two regions (before either creation had
   replicated). The lexically greater owner ARN wins, whatever the timestamps: every replica then agrees on
   one owner, and no version of the other principal ever beats the owner's. Any owner beats no owner (an
   item from before owners were recorded, which the processor lets the first winning write claim).
   Why not the principal that created it first? The order would then rank creations (each with the writes
   after it) while one owner's writes still order by timestamp, and no total order does both: one owner's
   creations in both regions, with another principal's creation between them in time, beat each other in
   a cycle, and replicas would not converge.
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
Between versions of one owner (every conflict the processor decides) this is plain last writer wins.
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

OwnerRank = tuple[bool, str]
WriteOrder = tuple[int, str, str, str, int]
Precedence = tuple[OwnerRank, int, str, str, str, int]


def owner_rank(owner: str | None) -> OwnerRank:
    """Owned before unowned, then the lexically greater owner ARN."""
    return (owner is not None, owner or "")


def write_order(item: EventItem) -> WriteOrder:
    """Last writer wins, owners aside: (timestamp, region, idempotency key, data, version)."""
    return (item.timestamp, item.last_updated_region, item.idempotency_key, item.data, item.version)


def precedence(item: EventItem) -> Precedence:
    """The order the resolver uses: (owner rank, timestamp, region, idempotency key, data, version)."""
    return (owner_rank(item.owner), *write_order(item))


def _same_id(one: EventItem, other: EventItem) -> None:
    if one.id != other.id:
        raise ValueError(f"cannot resolve versions of different items: {one.id!r} and {other.id!r}")


def beats(one: EventItem, other: EventItem) -> bool:
    """`one` wins against `other` (strictly: an item does not beat itself)."""
    _same_id(one, other)
    return precedence(one) > precedence(other)


def writes_later(one: EventItem, other: EventItem) -> bool:
    """`one` is the later write under last writer wins, owners aside: what the processor decides with,
    between versions of one owner or when `one` claims an unowned item."""
    _same_id(one, other)
    return write_order(one) > write_order(other)


def resolve(one: EventItem, other: EventItem) -> EventItem:
    """The winner of the two, one of them (equal precedence means equal items: `one` is returned)."""
    _same_id(one, other)
    return other if beats(other, one) else one


def same_write(one: EventItem, other: EventItem) -> bool:
    """One client write in both versions (same owner, timestamp, idempotency key and data), wherever it
    was applied and whatever the version: a duplicate, not a conflict. It happens when a repeat reaches
    the other region before the idempotency record did; replication then leaves one copy in both replicas.
    Two principals sending the same key and data are two writes: keys are scoped per principal."""
    _same_id(one, other)
    return (one.owner, one.timestamp, one.idempotency_key, one.data) == (
        other.owner,
        other.timestamp,
        other.idempotency_key,
        other.data,
    )
