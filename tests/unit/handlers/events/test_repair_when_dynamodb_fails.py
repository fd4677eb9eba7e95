"""The stream repair fails the record on a DynamoDB error it cannot judge, so the stream retries it.

handlers/events/repair.py writes the resolver's winner back on condition that the item still is the loser.
Only ConditionalCheckFailedException means "the item moved on" (the repair then reads the item and
decides again); any other error (throttling, a table being restored, an outage) says nothing about the
item. Taken as a lost condition, it would send the repair down the path of a write race that never
happened: an immediate re-read and re-write against a table that is refusing writes, and a RepairRaceError
blaming concurrent writers. So DynamoDB's own error is raised, the record is reported in
batchItemFailures, and the mapping delivers it again, with its backoff, until the table takes the write.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from botocore.exceptions import ClientError

from handlers.events import repair
from handlers.events.event_item import EventItem

from ..conftest import FakeLambdaContext
from .conftest import EventsCloud, load_event, stream_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


class PutThrottled:
    """The event table, throttling its next `times` PutItem calls (as DynamoDB does past its capacity)."""

    def __init__(self, table: Any, *, times: int) -> None:
        self._table = table
        self.times = times

    def put_item(self, **kwargs: Any) -> Any:
        if self.times > 0:
            self.times -= 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "The level of configured provisioned throughput was exceeded",
                    }
                },
                "PutItem",
            )
        return self._table.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def sample() -> tuple[EventItem, EventItem]:
    """The (old, new) versions of tests/events/events_stream_modify.json's record: the old one wins."""
    [record] = DynamoDBStreamEvent(load_event("events_stream_modify.json")).records
    assert record.dynamodb is not None
    return EventItem.from_item(record.dynamodb.old_image), EventItem.from_item(record.dynamodb.new_image)


def test_a_throttled_restore_raises_the_dynamodb_error_and_writes_nothing(events_cloud: EventsCloud) -> None:
    # GIVEN a replicated loser over the resolver's winner, and a table throttling the restore
    winner, loser = sample()
    events_cloud.put(loser)
    # WHEN the repair decides the replacement
    # THEN it raises DynamoDB's error, not an outcome: a throttle says nothing about the item
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        repair.repair(winner, loser, table=cast("Table", PutThrottled(events_cloud.table, times=1)))
    # AND the loser is still there, for the retry to replace
    assert events_cloud.current() == loser


def test_a_throttled_restore_fails_its_record_and_the_retry_restores_the_winner(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a replicated loser over the resolver's winner, and a table throttling the first restore only
    winner, loser = sample()
    events_cloud.put(loser)
    table = PutThrottled(events_cloud.table, times=1)
    monkeypatch.setattr(repair, "events_table", lambda: table)
    # (with a record that needs no write beside it: a batch whose every record fails raises instead)
    replaced = stream_record(winner, loser, sequence_number="100")
    inserted = copy.deepcopy(replaced) | {"eventName": "INSERT"}
    inserted["dynamodb"]["SequenceNumber"] = "200"
    batch = {"Records": [replaced, inserted]}
    # WHEN the repair function gets the batch
    response = repair.lambda_handler(batch, FakeLambdaContext())
    # THEN the replacement's record is reported failed, so the stream delivers it again
    assert response == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    assert events_cloud.current() == loser
    # WHEN the stream delivers it again
    assert repair.lambda_handler({"Records": [replaced]}, FakeLambdaContext()) == {"batchItemFailures": []}
    # THEN the winner is back, above both versions
    assert events_cloud.current() == dataclasses.replace(
        winner, version=max(winner.version, loser.version) + 1
    )
