"""Workflow task: apply one event to this region's replica of the global event table, once per key.

Env: ProcessorSettings (handlers/events/contract.py), and AWS_REGION (set by Lambda: the region written
into LastUpdatedRegion).
Event: {"event": {"id", "data", "timestamp", "idempotencyKey"}, "principal": <the caller's ARN, as the
gateway vouched for it>, "receivedAt": ISO-8601}. The caller writes as owner_of(principal)
(handlers/events/ownership.py): an id is written only when new, unowned, or owned by that owner.
Result (the workflow's output, which the API answers):
    {"status": "applied", "item": <summary>, "previous": <summary> | None, "replayed": bool}
        plus "alreadyApplied": true when the current item already is this write (applied in the other
        region before its idempotency record arrived): nothing is written.
    {"status": "stale", "item": <the rejected event's summary>, "current": <the winner's summary>,
     "reason": "...", "replayed": bool}: the current item wins under the ConflictResolver; nothing is
        written. A stale write is an answer, not an error: retrying it cannot change the outcome.
Summaries are EventItem/IncomingEvent.summary() (no data). Raises (the workflow retries or dead-letters):
    PoisonEventError: the timestamp is more than MAX_CLOCK_SKEW_SECONDS ahead of this region's clock
    WriteConflictError: another write to the item landed between our read and our conditional put
    EventOwnedByAnotherPrincipalError: the id belongs to another principal
    IdempotencyKeyReusedError: the key was used before (by this owner) for a different event
    InvalidEventError: the workflow input is not {"event": {...}, "principal": "..."}
    Powertools' IdempotencyAlreadyInProgressError: the same key is being processed right now

Idempotency (Powertools, DynamoDB persistence): keyed on the owner and the idempotency key (the same key
from two principals is two requests; from one, in any session, a replay), with key prefix
"events-processor" in both regions: the idempotency table is global too, so a repeat sent to the other
region is recognised once the record has replicated. A repeat returns the first result with
"replayed": true and writes nothing; a failure (any raise) releases the key so a retry runs again.

Live feed (handlers/conflict_feed/publisher.py): each result is also posted to the region's feed
subscribers, as accepted, duplicate (replayed or already applied) or stale, after it is decided; the feed
never fails nor holds up the event beyond its budget.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import ClientError

from handlers.conflict_feed.publisher import NO_FEED, Feed, feed_from_environment, processor_message
from handlers.environment import runtime_region
from handlers.events.conflict import same_write, writes_later
from handlers.events.contract import (
    EVENTS_TABLE_KEY,
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_TABLE_KEY,
    EventOwnedByAnotherPrincipalError,
    IdempotencyKeyReusedError,
    PoisonEventError,
    ProcessorSettings,
    WriteConflictError,
)
from handlers.events.event_item import EventItem, IncomingEvent, InvalidEventError, owner_is, parse_event
from handlers.events.ownership import owner_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STATUS_APPLIED = "applied"
STATUS_STALE = "stale"
# The same in both regions and across function renames: records replicate and outlive a deployment.
IDEMPOTENCY_KEY_PREFIX = "events-processor"

logger = Logger(service="events-processor")
tracer = Tracer(service="events-processor")
metrics = Metrics(namespace="regionflow", service="events-processor")


@dataclass(frozen=True)
class ProcessorDependencies:
    table: Table  # the events table's replica in this region
    settings: ProcessorSettings
    region: str  # the region this function runs in: written into LastUpdatedRegion
    idempotency_config: IdempotencyConfig
    # process_event_once behind Powertools idempotency (DynamoDB persistence layer).
    process_once: Callable[..., dict[str, Any]]
    feed: Feed = NO_FEED  # the region's live conflict feed, told every result


def _put(table: Table, item: EventItem, condition: ConditionBase, *, seen: EventItem | None) -> None:
    try:
        table.put_item(Item=item.to_item(), ConditionExpression=condition)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        what = "was created" if seen is None else f"changed from version {seen.version}"
        raise WriteConflictError(
            f"event item {item.id!r} {what} in this region between our read and our write; the workflow "
            "retries, re-reading the item and deciding again"
        ) from error
    metrics.add_metric(name="EventApplied", unit=MetricUnit.Count, value=1)


def _refuse_foreign_write(incoming: IncomingEvent, owner: str, current: EventItem) -> NoReturn:
    logger.warning(
        "write refused: the event id belongs to another principal",
        extra={"rejected": incoming.summary(), "writer": owner, "current": current.summary()},
    )
    metrics.add_metric(name="ForeignWriteRefused", unit=MetricUnit.Count, value=1)
    # The client learns that the id is taken, never by whom: another principal's ARN names its account
    # and role.
    raise EventOwnedByAnotherPrincipalError(
        f"event {incoming.id!r} was created by another principal, and only the principal that created an "
        f"event id may write it (this request writes as {owner}); send the event under an id your "
        "principal created, or a new one"
    )


def _stale_reason(incoming: IncomingEvent, region: str, current: EventItem) -> str:
    return (
        f"event {incoming.id!r} (timestamp {incoming.timestamp}, region {region}, idempotency key "
        f"{incoming.idempotency_key!r}) loses to the current write (timestamp {current.timestamp}, region "
        f"{current.last_updated_region}, idempotency key {current.idempotency_key!r}): the later client "
        "timestamp wins, ties go to the greater region name, then idempotency key"
    )


@tracer.capture_method
def process_event(
    incoming: IncomingEvent, *, owner: str, table: Table, region: str, now_ms: int, max_skew_ms: int
) -> dict[str, Any]:
    """Decide and (maybe) write one event, written by `owner` (owner_of the caller), against the item in
    `table`; see the module doc for results."""
    skew_ms = incoming.timestamp - now_ms
    if skew_ms > max_skew_ms:
        raise PoisonEventError(
            f"event {incoming.id!r} has timestamp {incoming.timestamp}, {skew_ms} ms ahead of {region}'s "
            f"clock; the limit is {max_skew_ms} ms (MAX_CLOCK_SKEW_SECONDS), because a client clock ahead "
            "would win every conflict: fix the client's clock and send the event again"
        )
    found = table.get_item(Key={EVENTS_TABLE_KEY: incoming.id}, ConsistentRead=True).get("Item")
    current = EventItem.from_item(found) if found else None
    if current is not None and current.owner not in (None, owner):
        _refuse_foreign_write(incoming, owner, current)
    candidate = EventItem(
        id=incoming.id,
        data=incoming.data,
        version=current.version + 1 if current else 1,
        last_updated_region=region,
        timestamp=incoming.timestamp,
        idempotency_key=incoming.idempotency_key,
        owner=owner,
    )
    if current is None:
        _put(table, candidate, Attr(EVENTS_TABLE_KEY).not_exists(), seen=None)
        return {"status": STATUS_APPLIED, "item": candidate.summary(), "previous": None, "replayed": False}
    if same_write(candidate, current):
        return {
            "status": STATUS_APPLIED,
            "item": current.summary(),
            "previous": None,
            "alreadyApplied": True,
            "replayed": False,
        }
    # Owners aside: the owner is the caller's, or the caller claims an item from before owners.
    if writes_later(candidate, current):
        # Optimistic lock: only over the version and the owner we decided against, so that an owner
        # change racing our read (another principal's creation replicated in) fails the write too.
        condition = Attr("Version").eq(current.version) & owner_is(current.owner)
        _put(table, candidate, condition, seen=current)
        return {
            "status": STATUS_APPLIED,
            "item": candidate.summary(),
            "previous": current.summary(),
            "replayed": False,
        }
    reason = _stale_reason(incoming, region, current)
    logger.warning(
        "stale write rejected",
        extra={"rejected": incoming.summary(), "current": current.summary(), "region": region},
    )
    metrics.add_metric(name="StaleWriteRejected", unit=MetricUnit.Count, value=1)
    return {
        "status": STATUS_STALE,
        "item": incoming.summary(),
        "current": current.summary(),
        "reason": reason,
        "replayed": False,
    }


def process_event_once(
    *,
    event: Mapping[str, Any],
    incoming: IncomingEvent,
    owner: str,
    table: Table,
    region: str,
    now_ms: int,
    max_skew_ms: int,
) -> dict[str, Any]:
    """process_event; `event` (the canonical request document and its owner) is what Powertools keys
    and validates."""
    return process_event(
        incoming, owner=owner, table=table, region=region, now_ms=now_ms, max_skew_ms=max_skew_ms
    )


def mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools response hook: a result answered from the idempotency store says so."""
    if isinstance(response, dict):
        return {**response, "replayed": True}
    return response


def idempotency_config(ttl_seconds: int) -> IdempotencyConfig:
    return IdempotencyConfig(
        # Scoped per owner: another principal's key is another request, never answered with this result.
        event_key_jmespath="[owner, idempotencyKey]",
        # The same key for another event is a client bug: refused, never answered with the first result.
        payload_validation_jmespath="[id, data, timestamp]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
        hash_function="sha256",
        response_hook=mark_replayed,
    )


@functools.cache
def dependencies() -> ProcessorDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = ProcessorSettings.from_environment(os.environ)
    config = idempotency_config(settings.idempotency_ttl_seconds)
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table,
        key_attr=IDEMPOTENCY_TABLE_KEY,
        expiry_attr=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
        boto3_client=boto3.client("dynamodb"),
    )
    return ProcessorDependencies(
        table=boto3.resource("dynamodb").Table(settings.events_table),
        settings=settings,
        region=runtime_region(os.environ),
        idempotency_config=config,
        process_once=idempotent_function(
            process_event_once,
            data_keyword_argument="event",
            persistence_store=persistence,
            config=config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        ),
        feed=feed_from_environment(os.environ),
    )


def handle(event: Mapping[str, Any], *, deps: ProcessorDependencies, now_ms: int) -> dict[str, Any]:
    """The workflow task's work: parse, apply once, report; see the module doc."""
    principal = event.get("principal") if isinstance(event, Mapping) else None
    if not isinstance(event, Mapping) or not isinstance(event.get("event"), Mapping):
        raise InvalidEventError(
            'the event processor expects {"event": {"id", "data", "timestamp", "idempotencyKey"}, '
            '"principal": "<the caller\'s ARN>", "receivedAt": "..."} (the POST /events workflow input)'
        )
    if not isinstance(principal, str) or not principal:
        # No owner, no write: an event dead-lettered before owners were recorded has none.
        raise InvalidEventError(
            f"the workflow input's principal is {principal!r}, not the caller's ARN; the API puts the "
            "caller's in, and an event redriven from the DLQ needs the principal it was sent by"
        )
    incoming = parse_event(event["event"], what="event")
    owner = owner_of(principal)
    try:
        result = deps.process_once(
            event={"owner": owner, **incoming.document()},
            incoming=incoming,
            owner=owner,
            table=deps.table,
            region=deps.region,
            now_ms=now_ms,
            max_skew_ms=deps.settings.max_clock_skew_seconds * 1000,
        )
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReusedError(
            f"idempotency key {incoming.idempotency_key!r} was already used for a different event (id, "
            "data or timestamp) by this principal; send a new event with a new key"
        ) from error
    logger.info(
        f"event {result['status']}" + (" (replayed)" if result.get("replayed") else ""),
        extra={
            "event": incoming.summary(),
            "owner": owner,
            "receivedAt": event.get("receivedAt"),
            "result": result,
        },
    )
    message = processor_message(result, region=deps.region, at_ms=now_ms)
    if message is not None:
        deps.feed.publish(message)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    deps.idempotency_config.register_lambda_context(context)
    return handle(event, deps=deps, now_ms=int(time.time() * 1000))
