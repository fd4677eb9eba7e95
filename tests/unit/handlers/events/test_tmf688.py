"""TMF688 envelopes: validated field by field, mapped to the event a plain body with the same meaning is."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.events.event_item import MAX_DATA_CHARS, InvalidEventError, parse_event
from handlers.events.tmf688 import (
    MAX_TITLE_CHARS,
    canonical_json,
    epoch_milliseconds,
    idempotency_key,
    parse_posted_event,
    parse_tmf688,
    stored_envelope,
)

from .conftest import EVENT_ID, T0, rfc3339, tmf688_document

DOCS = Path(__file__).resolve().parents[4] / "docs" / "event-schema.md"
JSON_BLOCK = re.compile(r"^```json\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def test_an_envelope_is_the_event_of_its_id_at_its_occurrence_time_carrying_every_field() -> None:
    # GIVEN a TMF688 envelope with every field
    document = tmf688_document()
    # WHEN it is parsed as a POST body
    incoming, parsed = parse_posted_event(document)
    # THEN it writes item eventId, at the client time it occurred (epoch ms), under a key derived from both
    assert parsed is not None
    assert (incoming.id, incoming.timestamp) == (EVENT_ID, T0)
    assert incoming.idempotency_key == idempotency_key(EVENT_ID, T0)
    assert re.fullmatch(r"tmf688-[0-9a-f]{64}", incoming.idempotency_key)
    # AND its data is the whole envelope, as canonical JSON: every descriptive field and the event body
    assert json.loads(incoming.data) == document
    assert incoming.data == canonical_json(document)
    # AND a reader of the item gets the envelope back
    assert stored_envelope(incoming.data) == document


def test_an_envelope_and_the_plain_event_it_maps_to_are_one_event_downstream() -> None:
    # GIVEN an envelope, and the plain document the workflow gets for it
    incoming, _ = parse_posted_event(tmf688_document())
    plain = incoming.document()
    # THEN the processor reads that document back as the very same event, and so does the API
    assert parse_event(plain, what="event") == incoming
    assert parse_posted_event(plain) == (incoming, None)
    # AND a plain event's data is no envelope
    assert stored_envelope('{"status": "packed"}') is None and stored_envelope("packed") is None


def test_the_occurrence_time_is_time_occurred_else_event_time() -> None:
    # GIVEN envelopes with both times, only timeOccurred, only eventTime
    both = parse_tmf688(tmf688_document())
    occurred_only = parse_tmf688(tmf688_document(eventTime=None))
    event_time_only = parse_tmf688(tmf688_document(timeOccurred=None))
    # THEN timeOccurred decides when present, eventTime otherwise
    assert both.timestamp == occurred_only.timestamp == T0
    assert event_time_only.timestamp == T0 + 120


def test_tmf688s_own_spelling_time_ocurred_is_taken_and_stored_as_time_occurred() -> None:
    # GIVEN the spelling of TMF688's schema (one r)
    tmf_spelling = tmf688_document(timeOccurred=None, timeOcurred="2024-06-01T10:00:00Z")
    # THEN it is the same event as with the stored spelling
    assert parse_posted_event(tmf_spelling)[0] == parse_posted_event(tmf688_document())[0]
    # AND both spellings at once are refused, naming them
    with pytest.raises(InvalidEventError, match="has both timeOccurred and timeOcurred"):
        parse_tmf688(tmf688_document(timeOcurred="2024-06-01T10:00:00Z"))
    # AND a bad time is named as it was spelled
    with pytest.raises(InvalidEventError, match=r"^body\.timeOcurred is 'noon', not an RFC 3339 date-time"):
        parse_tmf688(tmf688_document(timeOccurred=None, timeOcurred="noon"))


def test_only_the_core_fields_and_one_time_are_required() -> None:
    # GIVEN an envelope of eventId, eventType, the event and one time
    minimal = {
        "eventId": "e-1",
        "eventType": "AlarmCreateEvent",
        "event": {},
        "eventTime": "2024-06-01T10:00:00Z",
    }
    # THEN it is taken, with no descriptive field but its time
    parsed = parse_tmf688(minimal)
    assert parsed.descriptive == {"eventTime": "2024-06-01T10:00:00Z"}
    assert json.loads(parsed.incoming().data) == minimal


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"eventType": None}, r"body must contain \['eventType'\] properties"),
        ({"event": None}, r"body must contain \['event'\] properties"),
        ({"eventId": ""}, "body.eventId must be longer than or equal to 1"),
        ({"eventId": 42}, "body.eventId must be string"),
        ({"eventId": "x" * 257}, "body.eventId must be shorter than or equal to 256"),
        ({"eventType": ""}, "body.eventType must be longer than or equal to 1"),
        ({"event": ["packed"]}, "body.event must be object"),
        ({"event": "packed"}, "body.event must be object"),
        ({"priority": 1}, "body.priority must be string"),
        ({"title": "t" * (MAX_TITLE_CHARS + 1)}, "body.title must be shorter than or equal to 1024"),
        ({"@type": "Event"}, "body must not contain {'@type'} properties"),
        ({"timeOccurred": None, "eventTime": None}, "body has neither timeOccurred nor eventTime"),
        (
            {"timeOccurred": "2024-06-01 10:00:00Z"},
            "body.timeOccurred is '2024-06-01 10:00:00Z', not an RFC 3339",
        ),
        (
            {"timeOccurred": "2024-06-01T10:00:00"},
            "body.timeOccurred is '2024-06-01T10:00:00', not an RFC 3339",
        ),
        ({"timeOccurred": "1717236000000"}, "body.timeOccurred is '1717236000000', not an RFC 3339"),
        ({"timeOccurred": 1717236000000}, "body.timeOccurred must be string"),
        (
            {"eventTime": "2024-02-30T10:00:00Z"},
            "body.eventTime is '2024-02-30T10:00:00Z', not a date-time that",
        ),
        (
            {"eventTime": "2024-06-01T24:00:00Z"},
            "body.eventTime is '2024-06-01T24:00:00Z', not a date-time that",
        ),
        ({"eventTime": "2024-06-01T10:00:00+24:00"}, "body.eventTime .*\\(offset \\+24:00 is out of range"),
        (
            {"timeOccurred": "1969-12-31T23:59:59Z"},
            "body.timeOccurred is '1969-12-31T23:59:59Z', before 1970",
        ),
        ({"title": "\ud800"}, "body.title is not valid Unicode text"),
        ({"event": {"note": "\udfff"}}, "body.event is not valid Unicode text"),
        (
            {"event": {"blob": "x" * MAX_DATA_CHARS}},
            f"the limit is {MAX_DATA_CHARS}: send a smaller body.event",
        ),
    ],
)
def test_an_invalid_envelope_is_refused_naming_the_field(change: dict[str, Any], named: str) -> None:
    # GIVEN an envelope with one thing wrong, WHEN it is posted
    with pytest.raises(InvalidEventError, match=named) as refused:
        parse_posted_event(tmf688_document(**change))
    # THEN the refusal names it and shows the envelope to send
    assert str(refused.value).endswith("(docs/event-schema.md)")
    assert '"eventType": "<1-256 characters>"' in str(refused.value)


def test_a_body_mixing_both_shapes_is_refused_naming_the_fields_of_each() -> None:
    with pytest.raises(
        InvalidEventError, match=r"body mixes the plain shape's fields \(data, id\) with TMF688's"
    ):
        parse_posted_event({**tmf688_document(), "id": EVENT_ID, "data": "packed"})


def test_a_body_of_neither_shape_is_shown_both() -> None:
    with pytest.raises(InvalidEventError, match="body must contain") as refused:
        parse_posted_event({"status": "packed"})
    assert '"idempotencyKey": "<1-255' in str(refused.value) and "or a TMF688 event {" in str(refused.value)


def test_a_plain_body_is_refused_as_before_naming_its_field() -> None:
    with pytest.raises(
        InvalidEventError, match=r"^body must contain \['timestamp'\] properties; send \{"
    ) as refused:
        parse_posted_event({"id": EVENT_ID, "data": "x", "idempotencyKey": "key-1"})
    assert "TMF688" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2024-06-01T10:00:00Z", T0),
        ("2024-06-01t10:00:00z", T0),
        ("2024-06-01T12:30:00+02:30", T0),
        ("2024-06-01T05:00:00-05:00", T0),
        ("2024-06-01T10:00:00-00:00", T0),
        ("2024-06-01T10:00:00.1Z", T0 + 100),
        ("2024-06-01T10:00:00.123999999Z", T0 + 123),
        # A leap second counts as the next second's start, as POSIX time does.
        ("2016-12-31T23:59:60.500Z", 1483228800500),
        ("2024-02-29T00:00:00Z", 1709164800000),
    ],
)
def test_rfc3339_date_times_are_read_as_epoch_milliseconds(text: str, milliseconds: int) -> None:
    assert epoch_milliseconds(text, field="body.timeOccurred") == milliseconds


def test_the_schema_docs_examples_are_what_the_api_takes_and_stores() -> None:
    # GIVEN docs/event-schema.md's JSON blocks (a plain body, an envelope, the envelope's item, a refusal)
    # and the body its shell example sends
    text = DOCS.read_text(encoding="utf-8")
    plain, tmf688, stored, refusal = (json.loads(block["body"]) for block in JSON_BLOCK.finditer(text))
    [sent] = re.findall(r"<<'EOF'\n(.*?)^EOF$", text, re.MULTILINE | re.DOTALL)
    # THEN the plain body is taken as a plain event, the envelopes as envelopes
    assert parse_posted_event(plain)[1] is None
    incoming, parsed = parse_posted_event(tmf688)
    assert parsed is not None and parse_posted_event(json.loads(sent))[1] is not None
    # AND the item shown is the one the envelope writes
    assert (stored["Id"], stored["Data"], stored["Timestamp"]) == (
        incoming.id,
        incoming.data,
        incoming.timestamp,
    )
    # AND the refusal shown is the one its mistake gets
    with pytest.raises(InvalidEventError) as refused:
        parse_posted_event({**tmf688, "timeOccurred": "2024-06-01 10:00:00Z"})
    assert str(refused.value).startswith(refusal["message"].removesuffix("{...} (docs/event-schema.md)"))


# ---- properties over any envelope ---------------------------------------------------------------------

OFFSETS = st.sampled_from(["Z", "z", "+00:00", "-00:00", "+02:00", "-05:30", "+14:00"])
# Any Unicode text but lone surrogates (refused: DynamoDB stores UTF-8).
UNICODE = st.characters(exclude_categories=["Cs"])
TEXT = st.text(UNICODE, max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "eventId": draw(st.text(UNICODE, min_size=1, max_size=20)),
        "eventType": draw(st.sampled_from(["AlarmCreateEvent", "ProductOrderStateChangeEvent"])),
        "event": draw(st.dictionaries(TEXT, JSON_VALUES, max_size=3)),
    }
    times = draw(st.sampled_from([("timeOccurred",), ("eventTime",), ("timeOccurred", "eventTime")]))
    for name in times:
        document[name] = rfc3339(draw(st.integers(min_value=0, max_value=4_102_444_800_000)), draw(OFFSETS))
    for name in ("correlationId", "domain", "title", "description", "priority"):
        if draw(st.booleans()):
            document[name] = draw(TEXT)
    return document


@PROPERTY_SETTINGS
@given(document=envelopes())
def test_any_valid_envelope_is_stored_as_itself_and_read_back(document: dict[str, Any]) -> None:
    # GIVEN any valid envelope, WHEN it is parsed
    incoming, parsed = parse_posted_event(document)
    # THEN the item's data holds exactly the envelope, the reader gets it back, and the workflow's plain
    # document parses to the same event
    assert parsed is not None and json.loads(incoming.data) == document
    assert stored_envelope(incoming.data) == document
    assert parse_event(incoming.document()) == incoming
    # AND its key is printable ASCII, as the plain shape's must be
    assert re.fullmatch(r"[ -~]{1,255}", incoming.idempotency_key)


@PROPERTY_SETTINGS
@given(document=envelopes(), seed=st.randoms(use_true_random=False))
def test_one_envelope_in_any_key_order_or_spacing_is_one_write(
    document: dict[str, Any], seed: random.Random
) -> None:
    # GIVEN the same envelope as two senders serialize it: fields in another order, other spacing
    names = list(document)
    seed.shuffle(names)
    reordered = json.loads(json.dumps({name: document[name] for name in names}, indent=2))
    # THEN both are the same event: same data, same key, so a repeat is a replay, not a conflict
    assert parse_posted_event(reordered)[0] == parse_posted_event(document)[0]


@PROPERTY_SETTINGS
@given(
    milliseconds=st.integers(min_value=0, max_value=4_102_444_800_000),
    offsets=st.tuples(OFFSETS, OFFSETS),
)
def test_one_instant_in_any_offset_is_one_client_timestamp(
    milliseconds: int, offsets: tuple[str, str]
) -> None:
    # GIVEN one instant written in two time zones
    here, there = (rfc3339(milliseconds, offset) for offset in offsets)
    # THEN both are the same client timestamp, the one last writer wins compares
    assert epoch_milliseconds(here, field="f") == epoch_milliseconds(there, field="f") == milliseconds
    assert (
        parse_tmf688({"eventId": "e", "eventType": "t", "event": {}, "timeOccurred": here}).timestamp
        == milliseconds
    )


@PROPERTY_SETTINGS
@given(document=envelopes(), later_by_ms=st.integers(min_value=1, max_value=10**6))
def test_a_later_occurrence_of_an_event_is_a_new_write_and_the_same_time_the_same_key(
    document: dict[str, Any], later_by_ms: int
) -> None:
    # GIVEN an envelope, and the same eventId occurring later with other content
    first = parse_tmf688(document).incoming()
    later_time = rfc3339(first.timestamp + later_by_ms, "Z")
    later = parse_tmf688({**document, "timeOccurred": later_time, "event": {"changed": True}}).incoming()
    # THEN the later one is a new write (another key) of the same item, at a later client timestamp
    assert later.id == first.id and later.timestamp > first.timestamp
    assert later.idempotency_key != first.idempotency_key
    # AND other content at the same time keeps the key: a key reused for another event, refused as such
    same_time = parse_tmf688({**document, "event": {"changed": True}}).incoming()
    assert same_time.idempotency_key == first.idempotency_key
