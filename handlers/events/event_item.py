"""One item of the global event table, and the POST /events request that proposes a new version of it.

Table item (attribute names are the table's contract with the component and the other region; the key
and the indexed attribute are declared in handlers/events/contract.py):
    Id (S, the key), Data (S), Version (N: this replica's optimistic-lock counter), LastUpdatedRegion (S),
    Timestamp (N: the client's epoch milliseconds), IdempotencyKey (S, GSI IdempotencyIndex),
    Owner (S: the principal that owns the id, handlers/events/ownership.py; absent on items written before
    owners were recorded)
Request document (the POST body and the workflow's `event`):
    {"id": "...", "data": "...", "timestamp": <client epoch ms>, "idempotencyKey": "..."}
POST /events also takes a TMF688 envelope, which handlers/events/tmf688.py maps to this document (its
Data is the envelope as canonical JSON): the workflow, the processor and the table see one shape.

`summary()` is what replies, workflow results and logs carry: every field but the data, which is only
counted. The data can be ~256 KB, and a result crosses Step Functions' state (256 KB), the Powertools
idempotency record (one 400 KB DynamoDB item, JSON with non-ASCII escaped) and a CloudWatch log event
(256 KB); event data also has no business in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.validation import SchemaValidationError
from boto3.dynamodb.conditions import Attr, ConditionBase

from handlers.events.contract import EVENTS_TABLE_KEY, IDEMPOTENCY_INDEX_KEY
from handlers.json_schema import CompiledSchema

MAX_ID_CHARS = 256
MAX_DATA_CHARS = 100_000
MAX_IDEMPOTENCY_KEY_CHARS = 255
# JavaScript's largest exact integer: clients in any language can send it, DynamoDB stores it exactly.
MAX_TIMESTAMP_MS = 2**53 - 1

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "data", "timestamp", "idempotencyKey"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
        "data": {"type": "string", "maxLength": MAX_DATA_CHARS},
        "timestamp": {"type": "integer", "minimum": 0, "maximum": MAX_TIMESTAMP_MS},
        "idempotencyKey": {"type": "string", "pattern": f"^[ -~]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}$"},
    },
}
EVENT_SCHEMA_CHECK = CompiledSchema(EVENT_SCHEMA)
EVENT_SHAPE = (
    f'{{"id": "<1-{MAX_ID_CHARS} characters>", "data": "<up to {MAX_DATA_CHARS} characters>", '
    '"timestamp": <client epoch milliseconds, an integer >= 0>, '
    f'"idempotencyKey": "<1-{MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters, e.g. a UUID>"}}'
)
OWNER_ATTRIBUTE = "Owner"
# Every item has these; Owner is optional (items from before owners were recorded have none).
ITEM_ATTRIBUTES = (
    EVENTS_TABLE_KEY,
    "Data",
    "Version",
    "LastUpdatedRegion",
    "Timestamp",
    IDEMPOTENCY_INDEX_KEY,
)


def owner_is(owner: str | None) -> ConditionBase:
    """A write condition: the item's Owner is `owner` (None: the item has no Owner, as items from before
    owners were recorded)."""
    if owner is None:
        return Attr(OWNER_ATTRIBUTE).not_exists()
    return Attr(OWNER_ATTRIBUTE).eq(owner)


class InvalidEventError(Exception):
    """An event document that does not match EVENT_SCHEMA; the message names the field and the shape."""


class InvalidItemError(ValueError):
    """A table item (or stream image) without the attributes every event item has."""


def _check_unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON escapes can smuggle in lone surrogates, which DynamoDB (UTF-8) cannot store.
        raise InvalidEventError(
            f"{what} is not valid Unicode text ({error.reason}); send {EVENT_SHAPE}"
        ) from error


@dataclass(frozen=True)
class IncomingEvent:
    """A validated request: a new value for item `id`, written at client time `timestamp` (epoch ms)."""

    id: str
    data: str
    timestamp: int
    idempotency_key: str

    def document(self) -> dict[str, Any]:
        """The request document in its canonical form (what the workflow gets and idempotency hashes)."""
        return {
            "id": self.id,
            "data": self.data,
            "timestamp": self.timestamp,
            "idempotencyKey": self.idempotency_key,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": self.timestamp,
            "idempotencyKey": self.idempotency_key,
            "dataBytes": len(self.data.encode("utf-8")),
        }


def parse_event(document: Any, *, what: str = "body") -> IncomingEvent:
    """The event in `document` (decoded JSON), or InvalidEventError naming the field (`what` names the
    document in messages: the API's "body", the workflow's "event")."""
    try:
        EVENT_SCHEMA_CHECK.validate(document)
    except SchemaValidationError as error:
        problem = str(error.validation_message or error)
        if problem.startswith("data"):
            problem = what + problem.removeprefix("data")
        raise InvalidEventError(f"{problem}; send {EVENT_SHAPE}") from error
    for field in ("id", "data", "idempotencyKey"):
        _check_unicode(document[field], f"{what}.{field}")
    return IncomingEvent(
        id=document["id"],
        data=document["data"],
        # JSON Schema counts 1.0 as an integer; DynamoDB and the resolver want the int.
        timestamp=int(document["timestamp"]),
        idempotency_key=document["idempotencyKey"],
    )


def _integer(item: Mapping[str, Any], name: str) -> int:
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise InvalidItemError(f"event item {item.get('Id')!r}: {name} is {value!r}, not an integer")
    return int(value)


def _string(item: Mapping[str, Any], name: str) -> str:
    value = item[name]
    if not isinstance(value, str):
        raise InvalidItemError(f"event item {item.get('Id')!r}: {name} is {value!r}, not a string")
    return value


@dataclass(frozen=True)
class EventItem:
    """One version of an event table item. `owner` None: an item from before owners were recorded."""

    id: str
    data: str
    version: int
    last_updated_region: str
    timestamp: int
    idempotency_key: str
    owner: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> EventItem:
        """From a deserialized item: a boto3 resource's (numbers as Decimal) or a stream image as
        Powertools' DynamoDBStreamEvent deserializes it."""
        missing = [name for name in ITEM_ATTRIBUTES if name not in item]
        if missing:
            raise InvalidItemError(
                f"event item {item.get(EVENTS_TABLE_KEY)!r} lacks {', '.join(missing)}; every item of the "
                f"event table has {', '.join(ITEM_ATTRIBUTES)} (is a stream image missing? the stream must "
                "send NEW_AND_OLD_IMAGES)"
            )
        return cls(
            id=_string(item, EVENTS_TABLE_KEY),
            data=_string(item, "Data"),
            version=_integer(item, "Version"),
            last_updated_region=_string(item, "LastUpdatedRegion"),
            timestamp=_integer(item, "Timestamp"),
            idempotency_key=_string(item, IDEMPOTENCY_INDEX_KEY),
            owner=_string(item, OWNER_ATTRIBUTE) if OWNER_ATTRIBUTE in item else None,
        )

    def to_item(self) -> dict[str, Any]:
        """The item for a boto3 resource Table (it serializes int as N). No owner, no Owner attribute:
        the processor's conditions tell an unowned item by attribute_not_exists(Owner)."""
        item: dict[str, Any] = {
            EVENTS_TABLE_KEY: self.id,
            "Data": self.data,
            "Version": self.version,
            "LastUpdatedRegion": self.last_updated_region,
            "Timestamp": self.timestamp,
            IDEMPOTENCY_INDEX_KEY: self.idempotency_key,
        }
        if self.owner is not None:
            item[OWNER_ATTRIBUTE] = self.owner
        return item

    def summary(self) -> dict[str, Any]:
        """JSON-able, for replies, results and logs: the data is counted, not carried (module doc)."""
        return {
            "id": self.id,
            "version": self.version,
            "lastUpdatedRegion": self.last_updated_region,
            "timestamp": self.timestamp,
            "idempotencyKey": self.idempotency_key,
            "owner": self.owner,
            "dataBytes": len(self.data.encode("utf-8")),
        }
