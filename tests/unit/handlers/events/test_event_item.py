"""Event items as the table, its stream and the API see them; the request schema."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from handlers.events.event_item import (
    MAX_DATA_CHARS,
    EventItem,
    IncomingEvent,
    InvalidEventError,
    InvalidItemError,
    parse_event,
)

from .conftest import OTHER_PRINCIPAL, OTHER_REGION, OWNER, T0, event_document, item, stream_record


def test_an_item_survives_the_table_round_trip_with_decimal_numbers() -> None:
    # GIVEN a version as the boto3 resource reads it back (numbers as Decimal)
    version = item(version=3, region=OTHER_REGION, data="héllo ✓")
    stored = {**version.to_item(), "Version": Decimal(3), "Timestamp": Decimal(T0)}
    # WHEN it is read as an event item, THEN it is the same version, with int numbers
    read = EventItem.from_item(stored)
    assert read == version and type(read.version) is int and type(read.timestamp) is int


def test_a_stream_image_reads_as_the_version_it_records() -> None:
    # GIVEN a MODIFY record as the stream delivers it (DynamoDB JSON), read by Powertools
    old, new = item(version=1, key="key-1"), item(version=2, timestamp=T0 + 5, key="key-2")
    [record] = DynamoDBStreamEvent({"Records": [stream_record(old, new, sequence_number="1")]}).records
    # THEN both images read back as the versions that were written
    assert record.dynamodb is not None
    assert EventItem.from_item(record.dynamodb.old_image) == old
    assert EventItem.from_item(record.dynamodb.new_image) == new


def test_an_item_missing_attributes_is_refused_naming_them() -> None:
    with pytest.raises(InvalidItemError, match="'order-42' lacks Version, Timestamp"):
        EventItem.from_item({"Id": "order-42", "Data": "x", "LastUpdatedRegion": "r", "IdempotencyKey": "k"})
    with pytest.raises(InvalidItemError, match=re.escape("Version is Decimal('1.5'), not an integer")):
        EventItem.from_item({**item().to_item(), "Version": Decimal("1.5")})


def test_a_summary_counts_the_data_instead_of_carrying_it() -> None:
    # GIVEN a version with a large payload
    version = item(data="€" * 1000)
    # THEN its summary (what replies, results and logs carry) has every field but the data
    assert version.summary() == {
        "id": "order-42",
        "version": 1,
        "lastUpdatedRegion": "eu-west-1",
        "timestamp": T0,
        "idempotencyKey": "key-1",
        "owner": OWNER,
        "dataBytes": 3000,
    }


def test_an_item_records_its_owner_and_reads_it_back() -> None:
    # GIVEN a version written by a principal
    version = item(owner=OTHER_PRINCIPAL)
    # THEN the table item carries it as Owner, and it reads back
    assert version.to_item()["Owner"] == OTHER_PRINCIPAL
    assert EventItem.from_item(version.to_item()) == version


def test_an_item_from_before_owners_were_recorded_reads_as_unowned_and_writes_no_owner() -> None:
    # GIVEN an item as it was written before owners were recorded: no Owner attribute
    stored = {name: value for name, value in item().to_item().items() if name != "Owner"}
    # THEN it reads as unowned, and writes back without an Owner (attribute_not_exists finds it)
    read = EventItem.from_item(stored)
    assert read.owner is None and "Owner" not in read.to_item()
    # AND an Owner that is not a string is refused like any malformed attribute
    with pytest.raises(InvalidItemError, match="Owner is Decimal"):
        EventItem.from_item({**stored, "Owner": Decimal(7)})


def test_a_valid_request_parses_to_the_event_and_back_to_its_canonical_document() -> None:
    document = event_document(key="key-1")
    incoming = parse_event({**document, "timestamp": float(T0)})
    assert incoming == IncomingEvent(
        id="order-42", data='{"status": "packed"}', timestamp=T0, idempotency_key="key-1"
    )
    assert incoming.document() == document and type(incoming.document()["timestamp"]) is int


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"id": None}, "body must contain \\['id'\\]"),
        ({"id": ""}, "body.id must be longer than or equal to 1"),
        ({"data": "x" * (MAX_DATA_CHARS + 1)}, "body.data must be shorter than or equal to 100000"),
        ({"timestamp": -1}, "body.timestamp must be bigger than or equal to 0"),
        ({"timestamp": "1717236000000"}, "body.timestamp must be integer"),
        ({"timestamp": True}, "body.timestamp must be integer"),
        ({"idempotencyKey": "line\nbreak"}, "body.idempotencyKey must match pattern"),
        ({"idempotencyKey": "k" * 256}, "body.idempotencyKey must match pattern"),
        ({"extra": 1}, "body must not contain {'extra'} properties"),
        ({"data": "\ud800"}, "body.data is not valid Unicode text"),
    ],
)
def test_an_invalid_request_is_refused_naming_the_field(change: dict[str, object], named: str) -> None:
    document: dict[str, object] = {**event_document(), **change}
    document = {name: value for name, value in document.items() if value is not None}
    with pytest.raises(InvalidEventError, match=named) as refused:
        parse_event(document)
    # AND the message shows the shape to send
    assert '"idempotencyKey": "<1-255 printable ASCII characters' in str(refused.value)
