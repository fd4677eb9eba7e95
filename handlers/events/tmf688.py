"""POST /events' second shape: a TM Forum TMF688 (Event Management API) Event, mapped to an IncomingEvent.

The envelope (TMF688's Event resource, the fields of TM Forum's BaseEvent, docs/event-schema.md):
    {"eventId", "eventType", "event": {...}} required, and optionally "eventTime", "timeOccurred",
    "correlationId", "domain", "title", "description", "priority"
TMF688's own schema spells the occurrence time "timeOcurred"; either spelling is taken (not both), and
the item records it as "timeOccurred".

It becomes an event of today's model (handlers/events/event_item.py), so that it is stored, replicated,
resolved, versioned and deduplicated exactly as a plain event with the same meaning is:
    id              <- eventId: the item the event writes (its versions conflict and resolve by id)
    timestamp       <- timeOccurred, else eventTime (RFC 3339, to epoch milliseconds): last writer wins
                       on when the event occurred, the client's clock as for the plain shape
    data            <- the envelope itself, every field as sent (the occurrence time under one spelling),
                       as canonical JSON (sorted keys, no spaces, UTF-8): the item, its replicas and every
                       reader see the descriptive fields and the event body; two posts of one envelope
                       store the same Data whatever their key order or spacing
    idempotencyKey  <- derived from (eventId, timestamp): TMF688 has no idempotency key, and an
                       envelope's identity is its event at its time. The same envelope sent again is a
                       replay (the first result, no second write); the same eventId and time with other
                       content is a key reused for a different event (422); a later time is a new write
A plain event {"id": eventId, "data": <that Data>, "timestamp": <those ms>, "idempotencyKey": <that key>}
means the same thing and is the same write: the workflow and the processor only ever see the plain shape
(`IncomingEvent.document()`), so nothing downstream tells the two apart.

Why the envelope travels in Data rather than in attributes of its own: the processor, the resolver and
the repair function order, compare and restore versions by (Owner, Timestamp, LastUpdatedRegion,
IdempotencyKey, Data); fields outside those would be lost or ignored by each of them, and a version that
differs only there would be neither a conflict nor the same write.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aws_lambda_powertools.utilities.validation import SchemaValidationError

from handlers.events.event_item import (
    EVENT_SCHEMA,
    EVENT_SHAPE,
    MAX_DATA_CHARS,
    MAX_ID_CHARS,
    IncomingEvent,
    InvalidEventError,
    parse_event,
)
from handlers.json_schema import CompiledSchema

MAX_EVENT_TYPE_CHARS = 256
MAX_CORRELATION_ID_CHARS = 256
MAX_DOMAIN_CHARS = 256
MAX_TITLE_CHARS = 1024
MAX_DESCRIPTION_CHARS = 10_000
MAX_PRIORITY_CHARS = 64
# An RFC 3339 date-time is 20 characters, 35 with a nanosecond fraction and an offset.
MAX_DATE_TIME_CHARS = 64
# The stored spelling of the occurrence time, and TMF688's own (its schema's typo, which producers send).
TIME_OCCURRED = "timeOccurred"
TIME_OCURRED_TMF_SPELLING = "timeOcurred"
IDEMPOTENCY_KEY_PREFIX = "tmf688-"

_DATE_TIME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_DATE_TIME_CHARS}
TMF688_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["eventId", "eventType", "event"],
    "additionalProperties": False,
    "properties": {
        "eventId": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
        "eventType": {"type": "string", "minLength": 1, "maxLength": MAX_EVENT_TYPE_CHARS},
        "event": {"type": "object"},
        "eventTime": _DATE_TIME,
        TIME_OCCURRED: _DATE_TIME,
        TIME_OCURRED_TMF_SPELLING: _DATE_TIME,
        "correlationId": {"type": "string", "maxLength": MAX_CORRELATION_ID_CHARS},
        "domain": {"type": "string", "maxLength": MAX_DOMAIN_CHARS},
        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
        "priority": {"type": "string", "maxLength": MAX_PRIORITY_CHARS},
    },
}
TMF688_SCHEMA_CHECK = CompiledSchema(TMF688_SCHEMA)
TMF688_FIELDS = frozenset(TMF688_SCHEMA["properties"])
PLAIN_FIELDS = frozenset(EVENT_SCHEMA["properties"])
# The descriptive (optional, string) fields, in the order the docs list them.
DESCRIPTIVE_FIELDS = (
    "eventTime",
    TIME_OCCURRED,
    "correlationId",
    "domain",
    "title",
    "description",
    "priority",
)
TMF688_SHAPE = (
    f'{{"eventId": "<1-{MAX_ID_CHARS} characters>", "eventType": "<1-{MAX_EVENT_TYPE_CHARS} characters>", '
    '"event": {<the event body, a JSON object>}, "timeOccurred" and/or "eventTime": "<RFC 3339 date-time, '
    'e.g. 2024-06-01T10:00:00.250Z>", optional "correlationId", "domain", "title", "description", '
    '"priority" (strings)} (docs/event-schema.md)'
)
ACCEPTED_SHAPES = f"{EVENT_SHAPE}, or a TMF688 event {TMF688_SHAPE}"

# RFC 3339 section 5.6: full-date "T" full-time, the offset "Z" or +/-hh:mm ("T" and "Z" in either case).
_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<offset_hours>\d{2}):(?P<offset_minutes>\d{2}))",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_tmf688(document: Any) -> bool:
    """Whether a POST body is meant as a TMF688 envelope: an object with one of its fields and none of the
    plain shape's (a body with both is refused by parse_posted_event, naming them)."""
    return (
        isinstance(document, Mapping)
        and bool(TMF688_FIELDS & document.keys())
        and not PLAIN_FIELDS & document.keys()
    )


def _refuse(problem: str) -> InvalidEventError:
    return InvalidEventError(f"{problem}; send a TMF688 event {TMF688_SHAPE}")


def epoch_milliseconds(text: str, *, field: str) -> int:
    """An RFC 3339 date-time as epoch milliseconds (a finer fraction truncated); InvalidEventError naming
    `field` when it is not one, or is before the epoch. A leap second (:60) counts as the next second's
    start, as POSIX time counts it."""
    matched = _RFC3339.fullmatch(text)
    if matched is None:
        raise _refuse(
            f"{field} is {text!r}, not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.fraction] then Z or "
            "+hh:mm/-hh:mm, e.g. 2024-06-01T10:00:00.250Z)"
        )
    parts = {name: int(value) for name, value in matched.groupdict().items() if value and value.isdigit()}
    fraction = (matched["fraction"] or "").ljust(6, "0")[:6]
    leap_second = parts["second"] == 60
    try:
        offset = timedelta(0)
        if matched["sign"]:
            if parts["offset_hours"] > 23 or parts["offset_minutes"] > 59:
                raise ValueError(f"offset {matched['offset']} is out of range")
            offset = timedelta(hours=parts["offset_hours"], minutes=parts["offset_minutes"])
            offset = -offset if matched["sign"] == "-" else offset
        moment = datetime(
            parts["year"],
            parts["month"],
            parts["day"],
            parts["hour"],
            parts["minute"],
            59 if leap_second else parts["second"],
            int(fraction),
            tzinfo=timezone(offset),
        )
    except ValueError as error:
        raise _refuse(f"{field} is {text!r}, not a date-time that exists ({error})") from error
    milliseconds = (moment - _EPOCH) // timedelta(milliseconds=1) + (1000 if leap_second else 0)
    # The latest RFC 3339 date-time (9999-12-31T23:59:60.999-23:59) is far below MAX_TIMESTAMP_MS.
    if milliseconds < 0:
        raise _refuse(
            f"{field} is {text!r}, before 1970-01-01T00:00:00Z: a client time is at or after the epoch"
        )
    return milliseconds


def _check_unicode(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON escapes can smuggle in lone surrogates, which DynamoDB (UTF-8) cannot store.
        raise _refuse(f"{field} is not valid Unicode text ({error.reason})") from error


def canonical_json(document: Any) -> str:
    """One text per JSON value: sorted keys, no spaces, UTF-8 characters (not escapes)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def idempotency_key(event_id: str, timestamp: int) -> str:
    """The key of the write of event `event_id` at `timestamp`: printable ASCII, whatever the id holds."""
    identity = canonical_json([event_id, timestamp]).encode("utf-8")
    return IDEMPOTENCY_KEY_PREFIX + hashlib.sha256(identity).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Tmf688Event:
    """A validated TMF688 envelope (the occurrence time under the stored spelling, `timeOccurred`)."""

    event_id: str
    event_type: str
    event: dict[str, Any]
    timestamp: int  # epoch ms of timeOccurred, else of eventTime
    descriptive: dict[str, str]  # the optional fields present, by their JSON names

    def resource(self) -> dict[str, Any]:
        """The envelope as the item stores it (module doc)."""
        return {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "event": self.event,
            **self.descriptive,
        }

    def incoming(self) -> IncomingEvent:
        """The event of today's model this envelope means (module doc)."""
        return IncomingEvent(
            id=self.event_id,
            data=canonical_json(self.resource()),
            timestamp=self.timestamp,
            idempotency_key=idempotency_key(self.event_id, self.timestamp),
        )

    def summary(self) -> dict[str, Any]:
        """For logs: every field but the event body (as IncomingEvent.summary() leaves out the data)."""
        return {"eventId": self.event_id, "eventType": self.event_type, **self.descriptive}


def parse_tmf688(document: Any, *, what: str = "body") -> Tmf688Event:
    """The envelope in `document` (decoded JSON), or InvalidEventError naming the field (`what` names the
    document in messages)."""
    try:
        TMF688_SCHEMA_CHECK.validate(document)
    except SchemaValidationError as error:
        problem = str(error.validation_message or error)
        if problem.startswith("data"):
            problem = what + problem.removeprefix("data")
        raise _refuse(problem) from error
    if TIME_OCCURRED in document and TIME_OCURRED_TMF_SPELLING in document:
        raise _refuse(
            f"{what} has both {TIME_OCCURRED} and {TIME_OCURRED_TMF_SPELLING} (TMF688's spelling of the same "
            "field): send one of them"
        )
    fields = dict(document)
    # Messages name a field as the sender spelled it.
    sent_as = {name: name for name in fields}
    if TIME_OCURRED_TMF_SPELLING in fields:
        fields[TIME_OCCURRED] = fields.pop(TIME_OCURRED_TMF_SPELLING)
        sent_as[TIME_OCCURRED] = TIME_OCURRED_TMF_SPELLING
    for name in ("eventId", "eventType", *DESCRIPTIVE_FIELDS):
        if name in fields:
            _check_unicode(fields[name], f"{what}.{sent_as[name]}")
    times = {
        name: epoch_milliseconds(fields[name], field=f"{what}.{sent_as[name]}")
        for name in ("eventTime", TIME_OCCURRED)
        if name in fields
    }
    if not times:
        raise _refuse(
            f"{what} has neither {TIME_OCCURRED} nor eventTime: one is required, the client's time of the "
            "event, on which the last writer wins"
        )
    envelope = Tmf688Event(
        event_id=fields["eventId"],
        event_type=fields["eventType"],
        event=fields["event"],
        timestamp=times[TIME_OCCURRED] if TIME_OCCURRED in times else times["eventTime"],
        descriptive={name: fields[name] for name in DESCRIPTIVE_FIELDS if name in fields},
    )
    try:
        data = envelope.incoming().data
        data.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _refuse(f"{what}.event is not valid Unicode text ({error.reason})") from error
    if len(data) > MAX_DATA_CHARS:
        raise _refuse(
            f"{what} is {len(data)} characters as the item stores it (canonical JSON of the envelope and its "
            f"event); the limit is {MAX_DATA_CHARS}: send a smaller {what}.event"
        )
    return envelope


def parse_posted_event(document: Any, *, what: str = "body") -> tuple[IncomingEvent, Tmf688Event | None]:
    """The event a POST /events body holds, in either shape, and its envelope when it is a TMF688 one;
    InvalidEventError naming the field."""
    keys = document.keys() if isinstance(document, Mapping) else set()
    if PLAIN_FIELDS & keys and TMF688_FIELDS & keys:
        raise InvalidEventError(
            f"{what} mixes the plain shape's fields ({', '.join(sorted(PLAIN_FIELDS & keys))}) with "
            f"TMF688's ({', '.join(sorted(TMF688_FIELDS & keys))}); send {ACCEPTED_SHAPES}"
        )
    if is_tmf688(document):
        envelope = parse_tmf688(document, what=what)
        return envelope.incoming(), envelope
    try:
        return parse_event(document, what=what), None
    except InvalidEventError as error:
        if PLAIN_FIELDS & keys:
            raise
        # Neither shape's fields: the sender may mean either.
        raise InvalidEventError(f"{error} (or a TMF688 event {TMF688_SHAPE})") from error


def stored_envelope(data: str) -> dict[str, Any] | None:
    """The TMF688 envelope an item's Data holds (what a reader of the table or a replica sees), or None
    when the Data is not one (a plain event's)."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not is_tmf688(document):
        return None
    try:
        return parse_tmf688(document).resource()
    except InvalidEventError:
        return None
