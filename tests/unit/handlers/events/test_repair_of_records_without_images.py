"""Stream records without both images: removals and inserts pass, a MODIFY without them fails loudly.

handlers/events/repair.py decides a replacement from the record's old and new images. An INSERT or REMOVE
replaces no version, so it has nothing to repair whatever images it carries (a REMOVE has only its old
image; a KEYS_ONLY stream sends none): it is acknowledged as `kept` and nothing is written (the mapping's
filter normally keeps such records away; the handler does not rely on it). A MODIFY without both images
cannot be judged at all: the stream is not sending NEW_AND_OLD_IMAGES, a configuration error. Passing it
as kept would leave every conflict unrepaired without a sign, so the record fails with an error naming
the fix, and only that record of its batch.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from handlers.events import repair
from handlers.events.event_item import InvalidItemError
from handlers.events.repair import RepairOutcome

from ..conftest import FakeLambdaContext
from .conftest import EventsCloud, item, load_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def sample_record(
    *, event_name: str, view: str, drop: tuple[str, ...], sequence_number: str
) -> dict[str, Any]:
    """tests/events/events_stream_modify.json's record as another event, or from a stream with another
    view type, without the images in `drop`."""
    record = copy.deepcopy(load_event("events_stream_modify.json")["Records"][0])
    record["eventName"] = event_name
    record["dynamodb"]["StreamViewType"] = view
    record["dynamodb"]["SequenceNumber"] = sequence_number
    for image in drop:
        del record["dynamodb"][image]
    return record


@pytest.mark.parametrize(
    ("event_name", "view", "drop"),
    [
        ("REMOVE", "NEW_AND_OLD_IMAGES", ("NewImage",)),
        ("REMOVE", "KEYS_ONLY", ("NewImage", "OldImage")),
        ("INSERT", "NEW_AND_OLD_IMAGES", ("OldImage",)),
        ("INSERT", "KEYS_ONLY", ("NewImage", "OldImage")),
    ],
    ids=["remove", "remove-keys-only", "insert", "insert-keys-only"],
)
def test_an_insert_or_removal_is_acknowledged_and_nothing_written(
    events_cloud: EventsCloud, event_name: str, view: str, drop: tuple[str, ...]
) -> None:
    # GIVEN an item in the table, and a stream record of an insert or a removal without both images
    current = item(version=5)
    events_cloud.put(current)
    record = sample_record(event_name=event_name, view=view, drop=drop, sequence_number="100")
    # WHEN the repair function gets it
    response = repair.lambda_handler({"Records": [record]}, FakeLambdaContext())
    # THEN it is acknowledged, and the table is as it was
    assert response == {"batchItemFailures": []}
    assert events_cloud.current() == current


@pytest.mark.parametrize(
    ("view", "drop"),
    [("KEYS_ONLY", ("NewImage", "OldImage")), ("NEW_IMAGE", ("OldImage",)), ("OLD_IMAGE", ("NewImage",))],
)
def test_a_modify_without_both_images_fails_naming_the_stream_view_it_needs(
    events_cloud: EventsCloud, view: str, drop: tuple[str, ...]
) -> None:
    # GIVEN a MODIFY record from a stream that does not send both images
    record = sample_record(event_name="MODIFY", view=view, drop=drop, sequence_number="100")
    [parsed] = DynamoDBStreamEvent({"Records": [record]}).records
    # WHEN the repair decides it
    # THEN it refuses, naming the record and the stream setting that would let it decide
    with pytest.raises(InvalidItemError, match=r"has no old or new image; .* must send NEW_AND_OLD_IMAGES"):
        repair.record_handler(parsed)


def test_only_the_modify_without_images_fails_in_its_batch(events_cloud: EventsCloud) -> None:
    # GIVEN a batch: a MODIFY from a KEYS_ONLY stream, and a removal
    blind = sample_record(
        event_name="MODIFY", view="KEYS_ONLY", drop=("NewImage", "OldImage"), sequence_number="100"
    )
    removal = sample_record(
        event_name="REMOVE", view="KEYS_ONLY", drop=("NewImage", "OldImage"), sequence_number="200"
    )
    # WHEN the repair function gets it
    response = repair.lambda_handler({"Records": [blind, removal]}, FakeLambdaContext())
    # THEN the MODIFY alone is reported, so it goes to the mapping's retries and on-failure destination
    assert response == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    # AND the removal is no reason to write anything
    assert events_cloud.items() == []


def test_a_removal_is_decided_kept(events_cloud: EventsCloud) -> None:
    # GIVEN a REMOVE record (old image only)
    record = sample_record(
        event_name="REMOVE", view="NEW_AND_OLD_IMAGES", drop=("NewImage",), sequence_number="1"
    )
    [parsed] = DynamoDBStreamEvent({"Records": [record]}).records
    # WHEN the repair decides it, THEN it is kept: a removal replaced no version
    assert repair.record_handler(parsed) is RepairOutcome.KEPT
