"""The event processor: idempotent on the event's key, versioned conditional writes, stale writes reported."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.events import processor
from handlers.events.event_item import IncomingEvent, InvalidEventError
from handlers.events.processor import (
    EventOwnedByAnotherPrincipalError,
    IdempotencyKeyReusedError,
    PoisonEventError,
    WriteConflictError,
    process_event,
)

from ..conftest import FakeLambdaContext
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
    emf_metrics,
    event_document,
    item,
    log_records,
    processor_input,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# A replayed or refused event publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

SAMPLE_KEY = "6f1c2d9e-4b7a-4c1e-9a51-3d2f8e0b7c64"  # tests/events/events_processor_input.json


def run(event: dict[str, Any]) -> dict[str, Any]:
    return processor.lambda_handler(event, FakeLambdaContext())


class CountingTable:
    """The event table, counting the calls made to it."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.calls: list[str] = []

    def get_item(self, **kwargs: Any) -> Any:
        self.calls.append("get_item")
        return self.table.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self.calls.append("put_item")
        return self.table.put_item(**kwargs)


class RacingTable(CountingTable):
    """The event table, where another write lands between the processor's read and its put."""

    def __init__(self, table: Any, interloper: Callable[[], None]) -> None:
        super().__init__(table)
        self.interloper = interloper

    def put_item(self, **kwargs: Any) -> Any:
        self.interloper()
        return super().put_item(**kwargs)


def now_ms() -> int:
    return int(time.time() * 1000)


def dependencies_with(table: Any) -> processor.ProcessorDependencies:
    """The processor's dependencies (context registered, as its handler does) over another table."""
    deps = processor.dependencies()
    deps.idempotency_config.register_lambda_context(cast(LambdaContext, FakeLambdaContext()))
    return dataclasses.replace(deps, table=table)


def test_an_event_for_a_new_item_is_written_as_version_1_of_this_region(events_cloud: EventsCloud) -> None:
    # GIVEN the workflow's input (tests/events/events_processor_input.json) for an item not in the table
    # WHEN the processor runs
    result = run(processor_input())
    # THEN the item is written as version 1, last updated here, with the client's timestamp and key
    written = events_cloud.current()
    assert written == item(version=1, region=REGION, timestamp=T0, key=SAMPLE_KEY)
    # AND the result reports it applied, with nothing before it
    assert result == {"status": "applied", "item": written.summary(), "previous": None, "replayed": False}


def test_a_newer_write_replaces_the_item_and_bumps_its_version(events_cloud: EventsCloud) -> None:
    # GIVEN version 4 of the item, last written by the other region
    events_cloud.put(item(version=4, region=OTHER_REGION, timestamp=T0, data="packed"))
    # WHEN an event with a later client timestamp arrives here
    result = run(processor_input(event_document(timestamp=T0 + 1, data="shipped", key="key-new")))
    # THEN it replaces the item as version 5 of this region
    written = events_cloud.current()
    assert written == item(version=5, region=REGION, timestamp=T0 + 1, data="shipped", key="key-new")
    # AND the result names the write and the version it replaced
    assert result["status"] == "applied" and result["item"] == written.summary()
    assert result["previous"]["version"] == 4 and result["previous"]["lastUpdatedRegion"] == OTHER_REGION


def test_an_older_write_is_reported_stale_counted_and_logged_and_the_item_is_unchanged(
    events_cloud: EventsCloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an item written by the other region at a later client time
    current = item(version=2, region=OTHER_REGION, timestamp=T0 + 500, data="shipped", key="key-winner")
    events_cloud.put(current)
    # WHEN an older event arrives here
    result = run(processor_input(event_document(timestamp=T0, data="packed", key="key-late")))
    # THEN nothing is written
    assert events_cloud.current() == current
    # AND the result reports the rejected write and the write that beats it, and why
    assert result["status"] == "stale" and result["replayed"] is False
    assert result["item"] == {"id": EVENT_ID, "timestamp": T0, "idempotencyKey": "key-late", "dataBytes": 6}
    assert result["current"] == current.summary()
    assert f"timestamp {T0 + 500}, region {OTHER_REGION}" in result["reason"]
    # AND it is counted and logged as a warning naming both writes
    assert emf_metrics(capsys.readouterr().out).get("StaleWriteRejected") == [1.0]
    [warning] = log_records(caplog, "stale write rejected")
    assert warning.levelname == "WARNING"
    assert warning.rejected["idempotencyKey"] == "key-late"  # type: ignore[attr-defined]
    assert warning.current["idempotencyKey"] == "key-winner"  # type: ignore[attr-defined]


def test_a_tie_on_client_time_goes_to_the_greater_region_so_this_regions_write_is_stale(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN the other region (us-east-1 > eu-west-1) wrote the item in the same client millisecond
    current = item(version=1, region=OTHER_REGION, timestamp=T0, key="key-a", data="us")
    events_cloud.put(current)
    # WHEN this region gets a different write with the same timestamp
    result = run(processor_input(event_document(timestamp=T0, key="key-z", data="eu")))
    # THEN it loses the tie: reported stale, nothing written
    assert result["status"] == "stale" and events_cloud.current() == current


def test_a_repeated_idempotency_key_returns_the_first_result_and_writes_once(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN an event that was applied
    event = processor_input()
    first = run(event)
    # WHEN the same event comes again (a client or workflow retry), with the table watched
    watched = CountingTable(events_cloud.table)
    repeat = processor.handle(event, deps=dependencies_with(watched), now_ms=now_ms())
    # THEN the first result is returned, marked replayed
    assert repeat == {**first, "replayed": True}
    # AND the table is neither read nor written, and the item is still version 1
    assert watched.calls == []
    current = events_cloud.current()
    assert current is not None and current.version == 1
    # AND one idempotency record holds the key
    assert len(events_cloud.idempotency_records()) == 1


def test_a_repeated_stale_write_is_answered_stale_again_without_reading_the_table(
    events_cloud: EventsCloud,
) -> None:
    events_cloud.put(item(version=1, region=OTHER_REGION, timestamp=T0 + 1))
    event = processor_input(event_document(timestamp=T0))
    first = run(event)
    assert run(event) == {**first, "replayed": True} and first["status"] == "stale"


def test_an_idempotency_key_reused_for_a_different_event_is_refused(events_cloud: EventsCloud) -> None:
    # GIVEN an event applied with key K
    run(processor_input(event_document(data="packed", key="key-K")))
    before = events_cloud.current()
    # WHEN another event (other data) comes with the same key
    # THEN it is refused with the error name the workflow and API map
    with pytest.raises(IdempotencyKeyReusedError, match="'key-K' was already used for a different event"):
        run(processor_input(event_document(data="shipped", timestamp=T0 + 1, key="key-K")))
    # AND nothing is written
    assert events_cloud.current() == before


def test_an_event_from_a_clock_too_far_ahead_is_poison_and_writes_nothing(events_cloud: EventsCloud) -> None:
    # GIVEN a client clock ahead by more than MAX_CLOCK_SKEW_SECONDS
    ahead = now_ms() + (MAX_CLOCK_SKEW_SECONDS + 60) * 1000
    event = processor_input(event_document(timestamp=ahead, key="key-skewed"))
    # WHEN it is processed, THEN it is poison (it would win every conflict), naming the skew and limit
    with pytest.raises(PoisonEventError, match=r"ms ahead of eu-west-1's clock; the limit is 300000 ms"):
        run(event)
    # AND nothing is written, and its key is free again for the corrected event
    assert events_cloud.items() == []
    assert events_cloud.idempotency_records() == []


def test_an_event_just_inside_the_clock_skew_limit_is_applied(events_cloud: EventsCloud) -> None:
    ahead = now_ms() + (MAX_CLOCK_SKEW_SECONDS - 60) * 1000
    assert run(processor_input(event_document(timestamp=ahead)))["status"] == "applied"


def test_a_local_write_between_read_and_put_is_a_write_conflict_and_nothing_is_overwritten(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN version 1, and a concurrent write in this region that lands as version 2 after our read
    events_cloud.put(item(version=1, timestamp=T0))
    concurrent = item(version=2, timestamp=T0 + 7, key="key-concurrent")
    # a test double: implements only the calls the code under test makes
    table = cast("Table", RacingTable(events_cloud.table, lambda: events_cloud.put(concurrent)))
    incoming = IncomingEvent(id=EVENT_ID, data="late", timestamp=T0 + 5, idempotency_key="key-mine")
    # WHEN the processor decided against version 1 and puts
    # THEN the optimistic lock refuses: a WriteConflictError for the workflow to retry
    with pytest.raises(WriteConflictError, match="changed from version 1 in this region"):
        process_event(incoming, owner=OWNER, table=table, region=REGION, now_ms=now_ms(), max_skew_ms=300_000)
    # AND the concurrent write stands
    assert events_cloud.current() == concurrent


def test_a_concurrent_first_write_is_a_write_conflict_too(events_cloud: EventsCloud) -> None:
    concurrent = item(version=1, timestamp=T0 + 7, key="key-concurrent")
    table = cast("Table", RacingTable(events_cloud.table, lambda: events_cloud.put(concurrent)))
    incoming = IncomingEvent(id=EVENT_ID, data="mine", timestamp=T0, idempotency_key="key-mine")
    with pytest.raises(WriteConflictError, match="was created in this region"):
        process_event(incoming, owner=OWNER, table=table, region=REGION, now_ms=now_ms(), max_skew_ms=300_000)
    assert events_cloud.current() == concurrent


def test_after_a_write_conflict_the_workflows_retry_decides_again_and_applies(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN a first attempt that lost the optimistic-lock race to a concurrent (older) write
    events_cloud.put(item(version=1, timestamp=T0))
    event = processor_input(event_document(timestamp=T0 + 9, key="key-mine"))
    racing = RacingTable(events_cloud.table, lambda: events_cloud.put(item(version=2, timestamp=T0 + 3)))
    with pytest.raises(WriteConflictError):
        processor.handle(event, deps=dependencies_with(racing), now_ms=now_ms())
    # WHEN the workflow retries the task
    result = run(event)
    # THEN the key was released: the retry re-reads version 2, wins, and writes version 3
    assert result["status"] == "applied" and result["replayed"] is False
    assert result["previous"]["version"] == 2
    assert events_cloud.current() == item(version=3, timestamp=T0 + 9, key="key-mine")


def test_an_event_the_other_region_already_applied_is_answered_applied_without_a_write(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN the other region applied this very event (the repeat got here before its idempotency record)
    there = item(version=3, region=OTHER_REGION, timestamp=T0, key="key-both", data="packed")
    events_cloud.put(there)
    # WHEN it is processed here
    result = run(processor_input(event_document(timestamp=T0, key="key-both", data="packed")))
    # THEN it is reported applied (it is the current write), and nothing is written
    assert result == {
        "status": "applied",
        "item": there.summary(),
        "previous": None,
        "alreadyApplied": True,
        "replayed": False,
    }
    assert events_cloud.current() == there


def test_a_workflow_input_without_an_event_is_refused(events_cloud: EventsCloud) -> None:
    with pytest.raises(InvalidEventError, match=re.escape('expects {"event"')):
        run({"receivedAt": "2024-06-01T10:00:00.120+00:00"})
    with pytest.raises(InvalidEventError, match=re.escape("event must contain ['idempotencyKey']")):
        run(processor_input({"id": EVENT_ID, "data": "x", "timestamp": T0}))
    assert events_cloud.items() == []


@pytest.mark.parametrize("principal", [None, "", 42], ids=["missing", "empty", "not-a-string"])
def test_a_workflow_input_without_a_principal_is_refused_and_writes_nothing(
    events_cloud: EventsCloud, principal: object
) -> None:
    # GIVEN the workflow's input without the caller's principal (e.g. a DLQ message from before owners
    # were recorded, redriven as it was)
    event = processor_input()
    if principal is None:
        del event["principal"]
    else:
        event["principal"] = principal
    # WHEN it is processed, THEN it is refused naming what is missing, and nothing is written
    with pytest.raises(InvalidEventError, match="not the caller's ARN; the API puts the caller's in"):
        run(event)
    assert events_cloud.items() == [] and events_cloud.idempotency_records() == []


def test_applied_events_are_counted(events_cloud: EventsCloud, capsys: pytest.CaptureFixture[str]) -> None:
    run(processor_input())
    assert emf_metrics(capsys.readouterr().out).get("EventApplied") == [1.0]


def test_the_caller_writes_as_its_owner_and_a_new_item_records_it(events_cloud: EventsCloud) -> None:
    # GIVEN the workflow's input from an assumed role's session (tests/events/events_processor_input.json)
    assert processor_input()["principal"] == PRINCIPAL
    # WHEN it creates an item
    result = run(processor_input())
    # THEN the item's owner is the role, not the session (the session name changes with the credentials)
    assert events_cloud.current().owner == OWNER  # type: ignore[union-attr]
    assert result["item"]["owner"] == OWNER


def test_a_write_to_an_id_another_principal_created_is_refused_counted_and_writes_nothing(
    events_cloud: EventsCloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an item created by another principal
    theirs = item(version=3, timestamp=T0, data="theirs", key="key-theirs", owner=OTHER_PRINCIPAL)
    events_cloud.put(theirs)
    # WHEN this principal writes the id with a later client timestamp (which last writer wins would take)
    event = processor_input(event_document(timestamp=T0 + 1_000, data="mine", key="key-mine"))
    # THEN it is refused, naming the id, the rule and who this request writes as, but not the owner or
    # the table
    with pytest.raises(EventOwnedByAnotherPrincipalError) as refused:
        run(event)
    message = str(refused.value)
    assert f"event {EVENT_ID!r} was created by another principal" in message and OWNER in message
    assert OTHER_PRINCIPAL not in message and EVENTS_TABLE not in message
    # AND nothing is written, and the key is released (a failure keeps no idempotency record)
    assert events_cloud.current() == theirs and events_cloud.idempotency_records() == []
    # AND it is counted and logged as a warning naming both principals
    assert emf_metrics(capsys.readouterr().out).get("ForeignWriteRefused") == [1.0]
    [warning] = log_records(caplog, "write refused: the event id belongs to another principal")
    assert warning.writer == OWNER  # type: ignore[attr-defined]
    assert warning.current["owner"] == OTHER_PRINCIPAL  # type: ignore[attr-defined]


def test_another_principals_creation_landing_between_read_and_put_fails_the_conditional_write(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN this principal's item at version 1, and another principal's version 1 of the same id (its
    # concurrent creation in the other region, replicated in) landing after our read: the same Version,
    # so only the Owner in the condition tells them apart
    events_cloud.put(item(version=1, timestamp=T0))
    replicated = item(version=1, timestamp=T0 + 3, key="key-theirs", owner=OTHER_PRINCIPAL)
    event = processor_input(event_document(timestamp=T0 + 9, key="key-mine"))
    racing = RacingTable(events_cloud.table, lambda: events_cloud.put(replicated))
    # WHEN the processor puts its decision
    # THEN the conditional write itself refuses: a write conflict for the workflow to retry
    with pytest.raises(WriteConflictError, match="changed from version 1"):
        processor.handle(event, deps=dependencies_with(racing), now_ms=now_ms())
    assert events_cloud.current() == replicated
    # AND the workflow's retry re-reads, finds another principal's item, and refuses
    with pytest.raises(EventOwnedByAnotherPrincipalError):
        run(event)
    assert events_cloud.current() == replicated


def test_the_same_idempotency_key_from_two_principals_is_two_requests_and_from_one_a_replay(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN an event applied with key K
    mine = run(processor_input(event_document(id="order-1", key="key-K")))
    # WHEN another principal sends another event with the same key K
    theirs = run(processor_input(event_document(id="order-2", key="key-K"), principal=OTHER_PRINCIPAL))
    # THEN it is applied, not refused as a reused key nor answered with the first result
    assert theirs["status"] == "applied" and theirs["replayed"] is False
    assert theirs["item"]["id"] == "order-2" and theirs["item"]["owner"] == OTHER_PRINCIPAL
    assert len(events_cloud.idempotency_records()) == 2
    # AND the first principal's repeat of K, from a renewed session of its role, is its own replay
    renewed = PRINCIPAL.replace("/producer-1", "/producer-2")
    repeat = run(processor_input(event_document(id="order-1", key="key-K"), principal=renewed))
    assert repeat == {**mine, "replayed": True}


def test_another_principal_sending_an_applied_event_again_is_refused_not_replayed(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN an applied event
    document = event_document(key="key-K")
    run(processor_input(document))
    # WHEN another principal sends the very same event (a guessed or leaked key)
    # THEN it gets no copy of the first result: the id is another principal's
    with pytest.raises(EventOwnedByAnotherPrincipalError):
        run(processor_input(document, principal=OTHER_PRINCIPAL))


def test_an_item_from_before_owners_were_recorded_is_claimed_by_the_first_later_write(
    events_cloud: EventsCloud,
) -> None:
    # GIVEN an item without an owner (written before owners were recorded)
    events_cloud.put(item(version=2, timestamp=T0, owner=None))
    # WHEN an older write comes, THEN it is stale and claims nothing
    stale = run(processor_input(event_document(timestamp=T0 - 1, key="key-older")))
    assert stale["status"] == "stale" and events_cloud.current().owner is None  # type: ignore[union-attr]
    # WHEN a later write comes, THEN it is applied and the item is its principal's
    claimed = run(processor_input(event_document(timestamp=T0 + 1, data="claimed", key="key-claim")))
    assert claimed["status"] == "applied" and claimed["previous"]["owner"] is None
    assert events_cloud.current() == item(version=3, timestamp=T0 + 1, data="claimed", key="key-claim")
    # AND from then on another principal's write is refused
    with pytest.raises(EventOwnedByAnotherPrincipalError):
        run(processor_input(event_document(timestamp=T0 + 2), principal=OTHER_PRINCIPAL))


def test_a_claim_racing_another_principals_claim_is_a_write_conflict(events_cloud: EventsCloud) -> None:
    # GIVEN an unowned item, claimed by another principal (same Version) after our read
    events_cloud.put(item(version=1, timestamp=T0, owner=None))
    claimed = item(version=1, timestamp=T0, owner=OTHER_PRINCIPAL)
    table = cast("Table", RacingTable(events_cloud.table, lambda: events_cloud.put(claimed)))
    incoming = IncomingEvent(id=EVENT_ID, data="mine", timestamp=T0 + 5, idempotency_key="key-mine")
    # WHEN this principal's claim is put, THEN the condition (still no Owner) refuses it
    with pytest.raises(WriteConflictError):
        process_event(incoming, owner=OWNER, table=table, region=REGION, now_ms=now_ms(), max_skew_ms=300_000)
    assert events_cloud.current() == claimed
