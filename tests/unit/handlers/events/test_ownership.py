"""Event ids are owned by the principal that created them, across both regions of the global table.

moto has no global table replication: the two replicas are two tables (one per region) and replication is
done here as DynamoDB does it, keeping in both replicas the write it applied last (wall clock), with the
repair function run on the replica whose item was replaced (its MODIFY stream record), as it is deployed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from handlers.events import repair
from handlers.events.event_item import EventItem, parse_event
from handlers.events.ownership import owner_of
from handlers.events.processor import EventOwnedByAnotherPrincipalError, process_event
from samples import dynamodb_tables as tables

from .conftest import (
    EVENT_ID,
    EVENTS_TABLE,
    MAX_CLOCK_SKEW_SECONDS,
    OTHER_PRINCIPAL,
    OTHER_REGION,
    OWNER,
    PRINCIPAL,
    REGION,
    T0,
    EventsCloud,
    event_document,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.mark.parametrize(
    ("caller", "owner"),
    [
        # An assumed role's session: the role owns (the session name changes with each credential).
        (PRINCIPAL, OWNER),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/orders/i-0abc",
            "arn:aws-cn:sts::123456789012:assumed-role/orders",
        ),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/orders/ecs-task-1",
            "arn:aws-us-gov:sts::123456789012:assumed-role/orders",
        ),
        # Users, the account root and federated users own as themselves.
        (OTHER_PRINCIPAL, OTHER_PRINCIPAL),
        (
            "arn:aws:iam::123456789012:user/division/producer",
            "arn:aws:iam::123456789012:user/division/producer",
        ),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
        ("arn:aws:sts::123456789012:federated-user/bob", "arn:aws:sts::123456789012:federated-user/bob"),
        # Not a session ARN (no session name): as it is.
        ("arn:aws:sts::123456789012:assumed-role/orders", "arn:aws:sts::123456789012:assumed-role/orders"),
    ],
)
def test_a_caller_owns_as_its_arn_or_for_an_assumed_role_as_the_role(caller: str, owner: str) -> None:
    assert owner_of(caller) == owner


@dataclass
class Replica:
    """One region's replica of the global event table."""

    region: str
    table: Any

    def current(self) -> EventItem | None:
        found = self.table.get_item(Key={"Id": EVENT_ID}, ConsistentRead=True).get("Item")
        return EventItem.from_item(found) if found else None

    def write(self, principal: str, *, data: str, timestamp: int) -> dict[str, Any]:
        """What this region's processor does with a POST /events from `principal`."""
        document = event_document(data=data, timestamp=timestamp)
        return process_event(
            parse_event(document, what="event"),
            owner=owner_of(principal),
            table=self.table,
            region=self.region,
            now_ms=int(time.time() * 1000),
            max_skew_ms=MAX_CLOCK_SKEW_SECONDS * 1000,
        )


def replicate(source: Replica, target: Replica) -> None:
    """source's item replaces target's (DynamoDB applied it last); target's repair gets the record."""
    old, new = target.current(), source.current()
    assert new is not None
    if old == new:
        return
    target.table.put_item(Item=new.to_item())
    if old is not None:  # the repair's mapping passes MODIFY records only
        repair.repair(old, new, table=target.table)


def heal(kept: Replica, replaced: Replica) -> None:
    """The partition heals and replication keeps `kept`'s write; a restore then replicates back."""
    replicate(kept, replaced)
    replicate(replaced, kept)


@pytest.fixture
def replicas(events_cloud: EventsCloud) -> Iterator[dict[str, Replica]]:
    other = boto3.resource("dynamodb", region_name=OTHER_REGION)
    other.meta.client.create_table(**tables.events_table(EVENTS_TABLE))
    yield {
        REGION: Replica(REGION, events_cloud.table),
        OTHER_REGION: Replica(OTHER_REGION, other.Table(EVENTS_TABLE)),
    }


@pytest.mark.parametrize(
    "kept_region", [REGION, OTHER_REGION], ids=["owners-write-kept", "others-write-kept"]
)
def test_an_id_two_principals_created_concurrently_ends_the_greater_owners_in_both_regions(
    replicas: dict[str, Replica], kept_region: str
) -> None:
    # GIVEN a partition in which each region accepts a creation of the same id by another principal: the
    # owner-to-be (an assumed role, the greater ARN) here, and an IAM user, with a later client timestamp,
    # in the other region
    assert owner_of(PRINCIPAL) > owner_of(OTHER_PRINCIPAL)
    here, there = replicas[REGION], replicas[OTHER_REGION]
    assert here.write(PRINCIPAL, data="owner's", timestamp=T0)["status"] == "applied"
    assert there.write(OTHER_PRINCIPAL, data="other's", timestamp=T0 + 500)["status"] == "applied"
    # WHEN the partition heals, whichever creation DynamoDB's replication keeps
    kept, replaced = (here, there) if kept_region == REGION else (there, here)
    heal(kept, replaced)
    # THEN both replicas hold the owner's item: the other principal's later timestamp does not win
    assert here.current() == there.current()
    final = here.current()
    assert final is not None and (final.owner, final.data) == (OWNER, "owner's")
    # AND from now on the other principal's writes are refused in either region, however late
    for replica in (here, there):
        with pytest.raises(EventOwnedByAnotherPrincipalError):
            replica.write(OTHER_PRINCIPAL, data="other's again", timestamp=T0 + 900)
    # AND the owner goes on writing
    assert there.write(PRINCIPAL, data="owner's update", timestamp=T0 + 1)["status"] == "applied"


@pytest.mark.parametrize("kept_region", [REGION, OTHER_REGION], ids=["earlier-kept", "later-kept"])
def test_one_principals_concurrent_creations_in_both_regions_converge_on_its_later_write(
    replicas: dict[str, Replica], kept_region: str
) -> None:
    # GIVEN one principal creating the same id in both regions during a partition (what the e2e and demo
    # do): its two sessions, the later client timestamp in the other region
    here, there = replicas[REGION], replicas[OTHER_REGION]
    here.write(PRINCIPAL, data="earlier", timestamp=T0)
    there.write(PRINCIPAL.replace("/producer-1", "/producer-2"), data="later", timestamp=T0 + 500)
    # WHEN the partition heals, whichever write replication keeps
    kept, replaced = (here, there) if kept_region == REGION else (there, here)
    heal(kept, replaced)
    # THEN ownership changes nothing: last writer wins, as before owners were recorded
    assert here.current() == there.current()
    final = here.current()
    assert final is not None and (final.owner, final.data) == (OWNER, "later")
