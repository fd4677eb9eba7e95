"""Stream task: put the ConflictResolver's winner back when replication replaced it with a loser.

Env: RepairSettings (handlers/events/contract.py), AWS_REGION. Event: a DynamoDB stream batch from this
region's replica of the event table (NEW_AND_OLD_IMAGES; the mapping passes only MODIFY records); partial
batch response.

Under multi-region eventual consistency both regions can accept conflicting writes, and DynamoDB's
replication keeps the later *wall-clock* write. So an item can be replaced by a version that loses
under the resolver (handlers/events/conflict.py); its stream record then carries the winner as the old
image. For each MODIFY record:
    kept:       the new image wins (or is the same client write): nothing to do
    restored:   the old image won: it is written back with a Version above both, on condition that the
                item still is the new image; the restored write replicates and both replicas converge
    superseded: the item moved on meanwhile, to a version at least as good as the old image (or it was
                deleted: restoring would resurrect it): nothing to do
When the item moved on to another loser, the winner is restored over that one instead; if even that
write loses a race, the record fails and the mapping retries it (then its on-failure destination).

Ownership (handlers/events/ownership.py): when two principals created the same id concurrently in two
regions, the resolver ranks the owner first, so the restore undoes the other principal's write whatever
its timestamp. That restore is logged as a warning ("ownership conflict repaired", both owners named)
and counted (OwnershipConflictRepaired): the displaced write was answered 200 in its region.

Live feed (handlers/conflict_feed/publisher.py): each restore is posted to the region's feed
subscribers as "repaired" (the winner as written back, and the loser it undid); the feed never fails
the record.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from handlers.conflict_feed.publisher import Feed, feed_from_environment, repaired_message
from handlers.environment import runtime_region
from handlers.events.conflict import beats, same_write
from handlers.events.contract import EVENTS_TABLE_KEY, RepairSettings
from handlers.events.event_item import EventItem, InvalidItemError, owner_is

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = Logger(service="events-repair")
tracer = Tracer(service="events-repair")
metrics = Metrics(namespace="regionflow", service="events-repair")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class RepairOutcome(StrEnum):
    KEPT = "kept"
    RESTORED = "restored"
    SUPERSEDED = "superseded"


class RepairRaceError(Exception):
    """The winner could not be restored: the item kept changing to losing versions. Retried."""


@dataclasses.dataclass(frozen=True)
class Repair:
    outcome: RepairOutcome
    restored: EventItem | None = None  # the winner as written back (RESTORED only)


@functools.cache
def events_table() -> Table:
    """This region's replica, built on first use (not at import) so tests can import under moto."""
    settings = RepairSettings.from_environment(os.environ)
    return boto3.resource("dynamodb").Table(settings.events_table)


@functools.cache
def feed() -> Feed:
    """The region's live conflict feed, built on first use like the table."""
    return feed_from_environment(os.environ)


def _restore(winner: EventItem, *, over: EventItem, table: Table) -> EventItem | None:
    """Write winner back in place of exactly `over`: the item written, None when it is no longer `over`."""
    restored = dataclasses.replace(winner, version=max(winner.version, over.version) + 1)
    # The Data is not compared: the other attributes identify a version, and Data can be 256 KB. The
    # Owner is: two principals' versions can agree on all the rest (the same key, sent at the same time).
    still_over = (
        Attr("Version").eq(over.version)
        & Attr("Timestamp").eq(over.timestamp)
        & Attr("LastUpdatedRegion").eq(over.last_updated_region)
        & Attr("IdempotencyKey").eq(over.idempotency_key)
        & owner_is(over.owner)
    )
    try:
        table.put_item(Item=restored.to_item(), ConditionExpression=still_over)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return None
    return restored


def _needs_restoring(winner: EventItem, over: EventItem) -> bool:
    return beats(winner, over) and not same_write(winner, over)


@tracer.capture_method
def repair(old: EventItem, new: EventItem, *, table: Table) -> RepairOutcome:
    """Decide one replacement of `old` by `new` and restore `old` if it should have stayed (module doc)."""
    return repair_item(old, new, table=table).outcome


def repair_item(old: EventItem, new: EventItem, *, table: Table) -> Repair:
    """repair(), with the item written back when it restores one."""
    if not _needs_restoring(old, new):
        return Repair(RepairOutcome.KEPT)
    if (restored := _restore(old, over=new, table=table)) is not None:
        return Repair(RepairOutcome.RESTORED, restored)
    found = table.get_item(Key={EVENTS_TABLE_KEY: old.id}, ConsistentRead=True).get("Item")
    current = EventItem.from_item(found) if found else None
    if current is None or not _needs_restoring(old, current):
        return Repair(RepairOutcome.SUPERSEDED)
    if (restored := _restore(old, over=current, table=table)) is not None:
        return Repair(RepairOutcome.RESTORED, restored)
    raise RepairRaceError(
        f"event item {old.id!r}: the winning write (timestamp {old.timestamp}, region "
        f"{old.last_updated_region}) could not be restored, the item kept changing to losing versions; "
        "the stream retries the record"
    )


def record_handler(record: DynamoDBRecord) -> RepairOutcome:
    stream = record.dynamodb
    if record.event_name is not DynamoDBRecordEventName.MODIFY:
        return RepairOutcome.KEPT  # inserts and removals replace no version (the mapping filters them)
    if stream is None or not stream.old_image or not stream.new_image:
        raise InvalidItemError(
            f"stream record {record.event_id} has no old or new image; the event table's stream must send "
            "NEW_AND_OLD_IMAGES"
        )
    old, new = EventItem.from_item(stream.old_image), EventItem.from_item(stream.new_image)
    repaired = repair_item(old, new, table=events_table())
    outcome = repaired.outcome
    if outcome is RepairOutcome.RESTORED:
        region = runtime_region(os.environ)
        details = {"winner": old.summary(), "loser": new.summary(), "region": region}
        if old.owner != new.owner:
            # Two principals created this id concurrently: the displaced write was answered 200 in its
            # region, so it is told at warning level, with both owners.
            logger.warning(
                "ownership conflict repaired: the id's owner restored over another principal's write",
                extra=details,
            )
            metrics.add_metric(name="OwnershipConflictRepaired", unit=MetricUnit.Count, value=1)
        else:
            logger.info("conflict repaired: the resolver's winner restored", extra=details)
        metrics.add_metric(name="ConflictRepaired", unit=MetricUnit.Count, value=1)
        restored = repaired.restored or old
        feed().publish(
            repaired_message(restored.summary(), new.summary(), region=region, at_ms=int(time.time() * 1000))
        )
    elif outcome is RepairOutcome.SUPERSEDED:
        logger.info(
            "conflict superseded: the item moved on before the winner could be restored",
            extra={"winner": old.summary(), "loser": new.summary()},
        )
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
