"""The stream repair: when replication replaced the resolver's winner with a loser, the winner comes back."""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from handlers.events import repair
from handlers.events.conflict import resolve
from handlers.events.event_item import EventItem
from handlers.events.repair import RepairOutcome, RepairRaceError

from ..conftest import FakeLambdaContext
from .conftest import (
    OTHER_PRINCIPAL,
    OTHER_REGION,
    OWNER,
    REGION,
    T0,
    EventsCloud,
    emf_metrics,
    item,
    load_event,
    log_records,
    stream_record,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def run(event: dict[str, Any]) -> dict[str, Any]:
    return repair.lambda_handler(event, FakeLambdaContext())


def sample_images() -> tuple[EventItem, EventItem]:
    """The (old, new) versions of tests/events/events_stream_modify.json's record."""
    [record] = DynamoDBStreamEvent(load_event("events_stream_modify.json")).records
    assert record.dynamodb is not None
    return EventItem.from_item(record.dynamodb.old_image), EventItem.from_item(record.dynamodb.new_image)


class RacingTable:
    """The event table, where `interloper` writes just before each of the repair's puts."""

    def __init__(self, table: Any, *interlopers: EventItem) -> None:
        self.table = table
        self.interlopers = list(interlopers)

    def get_item(self, **kwargs: Any) -> Any:
        return self.table.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        if self.interlopers:
            self.table.put_item(Item=self.interlopers.pop(0).to_item())
        return self.table.put_item(**kwargs)


def test_a_replicated_loser_is_replaced_by_the_restored_winner_with_a_higher_version(
    events_cloud: EventsCloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN this region's later client write (old image) replaced by the other region's earlier one,
    # which replication kept for its later wall-clock time (tests/events/events_stream_modify.json)
    winner, loser = sample_images()
    assert resolve(winner, loser) is winner and loser.last_updated_region == OTHER_REGION
    events_cloud.put(loser)
    # WHEN the repair function gets the stream record
    response = run(load_event("events_stream_modify.json"))
    # THEN the winner is back, with a version above both
    assert response == {"batchItemFailures": []}
    restored = events_cloud.current()
    assert restored == dataclasses.replace(winner, version=max(winner.version, loser.version) + 1)
    assert restored is not None and restored.last_updated_region == REGION and restored.timestamp == T0 + 500
    # AND it is counted and logged naming winner and loser
    assert emf_metrics(capsys.readouterr().out).get("ConflictRepaired") == [1.0]
    [logged] = log_records(caplog, "conflict repaired")
    assert logged.winner == winner.summary() and logged.loser == loser.summary()  # type: ignore[attr-defined]
    # AND the restore's own stream record (loser -> restored) needs nothing more: the replicas converge
    assert repair.repair(loser, restored, table=events_cloud.table) is RepairOutcome.KEPT


def test_when_the_new_image_wins_nothing_is_written(events_cloud: EventsCloud) -> None:
    # GIVEN a replacement by a later write (the normal case)
    old = item(version=1, timestamp=T0, key="key-1")
    new = item(version=2, region=OTHER_REGION, timestamp=T0 + 1, key="key-2")
    events_cloud.put(new)
    # WHEN the repair function gets its record, THEN the item stays as it is
    assert run({"Records": [stream_record(old, new, sequence_number="1")]}) == {"batchItemFailures": []}
    assert events_cloud.current() == new


def test_one_write_applied_in_both_regions_is_no_conflict_whatever_its_versions(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN the same client write replacing itself with another region and a lower version
    old = item(version=5, region=OTHER_REGION, key="key-both")
    new = item(version=2, region=REGION, key="key-both")
    events_cloud.put(new)
    # THEN nothing is restored: the content is the same, and replication makes both replicas agree
    assert repair.repair(old, new, table=events_cloud.table) is RepairOutcome.KEPT
    assert events_cloud.current() == new


def test_when_the_item_moved_on_to_a_better_write_the_repair_is_superseded(events_cloud: EventsCloud) -> None:
    # GIVEN a loser that replaced the winner, and since then a write later than both
    winner, loser = sample_images()
    newest = item(version=9, region=OTHER_REGION, timestamp=T0 + 999, key="key-newest")
    events_cloud.put(newest)
    # WHEN the (delayed) record is repaired, THEN nothing is written: the item moved on to a better write
    assert repair.repair(winner, loser, table=events_cloud.table) is RepairOutcome.SUPERSEDED
    assert events_cloud.current() == newest


def test_a_deleted_item_is_not_resurrected(events_cloud: EventsCloud) -> None:
    winner, loser = sample_images()
    assert repair.repair(winner, loser, table=events_cloud.table) is RepairOutcome.SUPERSEDED
    assert events_cloud.items() == []


def test_when_the_item_moved_on_to_another_loser_the_winner_is_restored_over_it(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN the loser was replaced in turn by another write that also loses to the winner
    winner, loser = sample_images()
    other_loser = item(version=7, region=OTHER_REGION, timestamp=T0 + 100, key="key-other")
    events_cloud.put(loser)
    # a test double: implements only the calls the code under test makes
    table = cast("Table", RacingTable(events_cloud.table, other_loser))
    # WHEN the record is repaired
    outcome = repair.repair(winner, loser, table=table)
    # THEN the winner is restored over the current item, above its version
    assert outcome is RepairOutcome.RESTORED
    assert events_cloud.current() == dataclasses.replace(winner, version=8)


def test_when_every_restore_loses_a_race_the_record_fails_for_a_retry(events_cloud: EventsCloud) -> None:
    winner, loser = sample_images()
    events_cloud.put(loser)
    racing = RacingTable(
        events_cloud.table,
        item(version=7, region=OTHER_REGION, timestamp=T0 + 100, key="key-a"),
        item(version=8, region=OTHER_REGION, timestamp=T0 + 200, key="key-b"),
    )
    with pytest.raises(RepairRaceError, match="could not be restored"):
        repair.repair(winner, loser, table=cast("Table", racing))


def test_a_batch_with_one_failing_record_reports_only_that_record(events_cloud: EventsCloud) -> None:
    # GIVEN a batch: a record to repair, a record whose new image is not an event item, a harmless one
    winner, loser = sample_images()
    events_cloud.put(loser)
    good = stream_record(winner, loser, sequence_number="100")
    broken_image = {"Id": loser.id, "Data": "no version or timestamp"}
    broken = stream_record(winner, broken_image, sequence_number="200")
    harmless = copy.deepcopy(good)
    harmless["eventName"] = "INSERT"
    harmless["dynamodb"]["SequenceNumber"] = "300"
    # WHEN the batch is processed
    response = run({"Records": [good, broken, harmless]})
    # THEN only the broken record is reported for a retry, and the good one was repaired
    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert events_cloud.current().timestamp == winner.timestamp  # type: ignore[union-attr]


def test_another_principals_replicated_creation_is_undone_whatever_its_timestamp_and_told_as_a_warning(
    events_cloud: EventsCloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an id created here by its owner, and created concurrently in the other region by another
    # principal (a lesser ARN) with a later client timestamp, whose creation replication kept
    owners = item(version=1, region=REGION, timestamp=T0, key="key-owner", owner=OWNER)
    others = item(version=1, region=OTHER_REGION, timestamp=T0 + 500, key="key-other", owner=OTHER_PRINCIPAL)
    events_cloud.put(others)
    # WHEN the repair function gets the stream record
    response = run({"Records": [stream_record(owners, others, sequence_number="1")]})
    # THEN the owner's item is back, with a version above both: last writer wins does not cross owners
    assert response == {"batchItemFailures": []}
    assert events_cloud.current() == dataclasses.replace(owners, version=2)
    # AND it is logged as a warning naming both owners (the displaced write was answered 200), and counted
    [warning] = log_records(caplog, "ownership conflict repaired")
    assert warning.levelname == "WARNING"
    assert warning.winner["owner"] == OWNER and warning.loser["owner"] == OTHER_PRINCIPAL  # type: ignore[attr-defined]
    counted = emf_metrics(capsys.readouterr().out)
    assert counted.get("OwnershipConflictRepaired") == [1.0] and counted.get("ConflictRepaired") == [1.0]


def test_the_owners_replicated_item_is_kept_over_another_principals_later_write(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN another principal's creation here, replaced by the owner's (the greater ARN) from the other
    # region, written earlier by the client's clock
    others = item(version=1, region=REGION, timestamp=T0 + 500, key="key-other", owner=OTHER_PRINCIPAL)
    owners = item(version=1, region=OTHER_REGION, timestamp=T0, key="key-owner", owner=OWNER)
    events_cloud.put(owners)
    # WHEN the record is repaired, THEN the owner's item stays
    assert repair.repair(others, owners, table=events_cloud.table) is RepairOutcome.KEPT
    assert events_cloud.current() == owners


def test_a_restore_never_overwrites_a_version_that_differs_only_in_its_owner(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN a winner replaced by a loser of the same owner, and since then the item is a version equal to
    # the loser in every attribute the restore checks but the owner, of a principal that outranks both
    winner, loser = sample_images()
    greater = "arn:aws:sts::123456789012:assumed-role/zz-service"
    assert max(OWNER, greater) == greater
    lookalike = dataclasses.replace(loser, owner=greater)
    events_cloud.put(lookalike)
    # WHEN the record is repaired
    outcome = repair.repair(winner, loser, table=events_cloud.table)
    # THEN the restore's condition (the Owner included) does not take the lookalike for the loser, and
    # the lookalike, which wins, stays
    assert outcome is RepairOutcome.SUPERSEDED
    assert events_cloud.current() == lookalike
