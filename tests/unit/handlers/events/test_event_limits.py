"""POST /events' limits at their edges: one under, at, and one over each.

The plain event's fields (id 1-256, data up to 100,000 characters, key 1-255, timestamp 0 to 2^53-1), the
TMF688 envelope's fields and its stored size, the workflow input's 256 KiB, the DLQ copy's 200 KiB, the
clock skew an event may have (300 s ahead). (The conflict feed's bounds are test_feed.py's.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.events.api import rejected_document, workflow_input
from handlers.events.event_item import IncomingEvent, InvalidEventError, parse_event
from handlers.events.processor import PoisonEventError, process_event
from handlers.events.tmf688 import parse_tmf688
from handlers.http_request import RequestRejectedError

from .conftest import EVENT_ID, OWNER, PRINCIPAL, REGION, T0, EventsCloud, event_document, tmf688_document

EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)
WORKFLOW_INPUT_LIMIT_BYTES = 256 * 1024  # Step Functions' limit on an execution's input
DEAD_LETTER_BODY_LIMIT_BYTES = 200 * 1024  # the DLQ copy's body, as a JSON string (SQS takes 256 KiB)
SKEW_LIMIT_MS = 300_000  # MAX_CLOCK_SKEW_SECONDS (300) in the handlers' environment


# ---- the plain event ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("id", "i" * 255, None),
        ("id", "i" * 256, None),
        ("id", "i" * 257, "body.id must be shorter than or equal to 256 characters"),
        ("id", "i", None),
        ("id", "", "body.id must be longer than or equal to 1 characters"),
        ("data", "d" * 99_999, None),
        ("data", "d" * 100_000, None),
        ("data", "d" * 100_001, "body.data must be shorter than or equal to 100000 characters"),
        ("idempotencyKey", "k" * 254, None),
        ("idempotencyKey", "k" * 255, None),
        ("idempotencyKey", "k" * 256, "body.idempotencyKey must match pattern"),
        ("idempotencyKey", "k", None),
        ("idempotencyKey", "", "body.idempotencyKey must match pattern"),
        ("timestamp", 2**53 - 2, None),
        ("timestamp", 2**53 - 1, None),
        ("timestamp", 2**53, "body.timestamp must be smaller than or equal to 9007199254740991"),
        ("timestamp", 0, None),
        ("timestamp", -1, "body.timestamp must be bigger than or equal to 0"),
    ],
)
def test_a_plain_events_fields_are_taken_within_their_limits_and_refused_one_past(
    field: str, value: Any, refusal: str | None
) -> None:
    # GIVEN an event whose field is at, one inside, or one past an end of its range
    document = {**event_document(key="key-1"), field: value}
    # WHEN it is parsed THEN within the range the field is taken as sent; one past, refused naming it
    if refusal is None:
        assert parse_event(document).document()[field] == value
    else:
        with pytest.raises(InvalidEventError, match=rf"^{refusal}"):
            parse_event(document)


# ---- the TMF688 envelope ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("eventId", 256),
        ("eventType", 256),
        ("correlationId", 256),
        ("domain", 256),
        ("title", 1024),
        ("description", 10_000),
        ("priority", 64),
    ],
)
@EDGES
def test_an_envelopes_text_fields_are_taken_up_to_their_limit(
    field: str, limit: int, offset: int, accepted: bool
) -> None:
    # GIVEN an envelope whose field is one character under, at, or over its limit
    value = "v" * (limit + offset)
    # WHEN it is parsed THEN up to the limit the field is kept as sent; one more is refused naming it
    if accepted:
        envelope = parse_tmf688(tmf688_document(**{field: value}))
        assert json.loads(envelope.incoming().data)[field] == value
    else:
        with pytest.raises(
            InvalidEventError, match=rf"^body\.{field} must be shorter than or equal to {limit} characters"
        ):
            parse_tmf688(tmf688_document(**{field: value}))


@EDGES
def test_an_envelopes_occurrence_time_may_be_written_in_up_to_64_characters(
    offset: int, accepted: bool
) -> None:
    # GIVEN 2024-06-01T10:00:00Z written with a fraction of zeros 63, 64 or 65 characters long in all
    occurred = "2024-06-01T10:00:00." + "0" * (43 + offset) + "Z"
    assert len(occurred) == 64 + offset
    # WHEN it is parsed THEN up to 64 characters it is that instant; 65 are refused naming the field
    if accepted:
        assert parse_tmf688(tmf688_document(timeOccurred=occurred)).timestamp == T0
    else:
        with pytest.raises(
            InvalidEventError, match=r"^body\.timeOccurred must be shorter than or equal to 64"
        ):
            parse_tmf688(tmf688_document(timeOccurred=occurred))


@EDGES
def test_an_envelope_is_taken_up_to_100000_characters_as_the_item_stores_it(
    offset: int, accepted: bool
) -> None:
    # GIVEN an envelope whose stored form (its canonical JSON) is 99,999, 100,000 or 100,001 characters: the
    # padding that takes a one-character blob there is measured on the stored form itself
    base = len(parse_tmf688(tmf688_document(event={"blob": "b"})).incoming().data)
    blob = "b" * (100_000 + offset - base + 1)
    document = tmf688_document(event={"blob": blob})
    # WHEN it is parsed THEN up to 100,000 characters it is stored whole; one more is refused naming both
    if accepted:
        data = parse_tmf688(document).incoming().data
        assert len(data) == 100_000 + offset and json.loads(data)["event"] == {"blob": blob}
    else:
        with pytest.raises(
            InvalidEventError, match=r"^body is 100001 characters as the item stores it .*the limit is 100000"
        ):
            parse_tmf688(document)


# ---- what the API hands on -----------------------------------------------------------------------------


@EDGES
def test_the_workflow_input_may_be_up_to_256_kib(offset: int, accepted: bool) -> None:
    # GIVEN an event whose workflow input ({"event", "principal", "receivedAt"} as compact UTF-8 JSON) is
    # one byte under, at, or over 256 KiB, its data partly non-ASCII (counted in bytes, not escaped)
    received_at = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)

    def incoming(data: str) -> IncomingEvent:
        return IncomingEvent(id=EVENT_ID, data=data, timestamp=T0, idempotency_key="key-1")

    bare = len(workflow_input(incoming("é"), received_at, principal=PRINCIPAL).encode())
    data = "é" + "x" * (WORKFLOW_INPUT_LIMIT_BYTES + offset - bare)
    # WHEN the input is built THEN up to 256 KiB it is returned; one byte more is 413 naming its size
    if accepted:
        text = workflow_input(incoming(data), received_at, principal=PRINCIPAL)
        assert len(text.encode()) == WORKFLOW_INPUT_LIMIT_BYTES + offset
        assert json.loads(text)["event"]["data"] == data
    else:
        with pytest.raises(
            RequestRejectedError, match=r"^the request body is 262145 \(as the workflow's input\) bytes"
        ) as refused:
            workflow_input(incoming(data), received_at, principal=PRINCIPAL)
        assert refused.value.status_code == 413


@EDGES
def test_a_refused_bodys_dlq_copy_keeps_it_whole_up_to_200_kib_and_cuts_it_beyond(
    offset: int, accepted: bool
) -> None:
    # GIVEN a refused body whose JSON string (quotes and escapes counted: each tab is two bytes) is one
    # byte under, at, or over 200 KiB
    tabs = 1_000
    body = "\t" * tabs + "b" * (DEAD_LETTER_BODY_LIMIT_BYTES + offset - 2 - 2 * tabs)
    assert len(json.dumps(body).encode()) == DEAD_LETTER_BODY_LIMIT_BYTES + offset
    # WHEN its DLQ copy is made
    copy = rejected_document(
        RequestRejectedError(400, "invalid_json", "not JSON"),
        body=body,
        is_base64_encoded=False,
        principal=PRINCIPAL,
        reference="ref-1",
        received_at=datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
    )
    # THEN up to 200 KiB the body is kept whole; beyond, a prefix of it that fits, marked truncated
    assert copy["bodyBytes"] == len(body.encode())
    if accepted:
        assert (copy["body"], copy["bodyTruncated"]) == (body, False)
    else:
        assert copy["bodyTruncated"] is True and body.startswith(copy["body"])
        assert DEAD_LETTER_BODY_LIMIT_BYTES - 100 < len(json.dumps(copy["body"]).encode()) <= 200 * 1024


# ---- the processor's clock skew ------------------------------------------------------------------------


@EDGES
def test_an_event_may_be_up_to_300_seconds_ahead_of_the_regions_clock(
    events_cloud: EventsCloud, offset: int, accepted: bool
) -> None:
    # GIVEN this region's clock at T0 and an event stamped 299.999, 300 or 300.001 s ahead of it
    incoming = IncomingEvent(
        id=EVENT_ID, data="d", timestamp=T0 + SKEW_LIMIT_MS + offset, idempotency_key="k"
    )

    def process() -> dict[str, Any]:
        return process_event(
            incoming,
            owner=OWNER,
            table=events_cloud.table,
            region=REGION,
            now_ms=T0,
            max_skew_ms=SKEW_LIMIT_MS,
        )

    # WHEN it is processed THEN up to 300 s ahead it is applied; a millisecond more is poison, unwritten
    if accepted:
        assert process()["status"] == "applied"
    else:
        with pytest.raises(
            PoisonEventError, match=r"300001 ms ahead of eu-west-1's clock; the limit is 300000 ms"
        ):
            process()
        assert events_cloud.current() is None
