"""DynamoDB stream -> Lambda event source mappings with AWS's semantics, for the embedded emulator.

moto invokes a stream's mapped functions inside the write that made the record and ignores the mapping's
FilterCriteria, BatchSize, retries, BisectBatchOnFunctionError and on-failure destination (the DynamoDB
service's patches, which the emulator applies, turn that path off and keep the records). Here each
enabled mapping has a loop that reads its shard in order, like Lambda's stream poller:

- records that match none of the FilterCriteria patterns are dropped (and never invoke the function);
- the rest go in batches of up to BatchSize (gathered for up to MaximumBatchingWindowInSeconds);
- a batch that fails (function error, or ReportBatchItemFailures naming a record) is retried from the
  first failed record, split in two first on a function error when BisectBatchOnFunctionError is on, up
  to MaximumRetryAttempts (-1 or unset: until it succeeds); the records still failing then go, as a
  batch description, to the DestinationConfig.OnFailure SQS queue or SNS topic, and the shard moves on.

Writes never wait for the function: delivery is asynchronous, as on AWS. MaximumRecordAgeInSeconds,
ParallelizationFactor and tumbling windows are not modelled (one batch in flight per mapping).

The mappings are the emulator's own: whoever created them (the program or any client), they are listed
from moto's Lambda backends in every account and region, in the Lambda API's shape (moto's
`get_configuration()`, what ListEventSourceMappings answers), and re-read on every refresh, so an update
or a deletion takes effect within RECHECK_SECONDS.

The records are read through the DynamoDB Streams API as the function's execution role, as Lambda's
poller reads them (DescribeStream, GetShardIterator, GetRecords): the role needs those actions on the
stream's ARN, and a role without them delivers nothing, its denials recorded with the emulator's IAM
decisions (the mapping keeps trying, as Lambda does). localcloud's own bookkeeping stays in process: the
DynamoDB service's stream interface (localcloud/services/dynamodb/streams.py) wakes the loops when a
mapped stream grows and tells whether a mapping has read everything.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from base64 import b64encode
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from localcloud.core.loop import BackgroundLoop, stop_all
from localcloud.services.dynamodb import streams
from localcloud.services.iam.role_sessions import RoleNotAssumableError
from localcloud.services.lambda_ import patches
from localcloud.services.lambda_.event_sources.mapping import EventSourceMapping
from localcloud.services.lambda_.runtime import InvocationResult, LambdaRuntime

logger = logging.getLogger(__name__)

# How often a waiting mapping loop looks again without being woken (a mapping disabled or deleted), and
# how often the mappings are listed again.
RECHECK_SECONDS = 0.5
# Retries of a failing batch wait this, doubling, up to MAX_RETRY_DELAY_SECONDS (Lambda backs off too).
FIRST_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS = 0.05, 1.0
DEFAULT_BATCH_SIZE = 100  # Lambda's default for DynamoDB streams
# Lambda polls a stream's shard "at a base rate of 4 times per second" (AWS Lambda developer guide,
# DynamoDB streams): a mapping reads its shard at most this often, unless the last page was full. Reading
# at every append instead made one GetRecords call per write under the events benchmark.
POLL_INTERVAL_SECONDS = 0.25


@functools.lru_cache(maxsize=64)
def _pattern(raw: str | None) -> Any:
    """A FilterCriteria pattern, parsed once: Lambda's event filtering uses EventBridge's pattern syntax
    against the record as delivered."""
    from moto.events.models import EventPattern  # noqa: PLC0415 - moto is slow to import

    return EventPattern.load(raw)


@dataclass(frozen=True)
class _Entry:
    """One record of the shard, as Lambda delivers it."""

    record: dict[str, Any]

    @property
    def sequence_number(self) -> str:
        return str(self.record["dynamodb"]["SequenceNumber"])


class _MappingWorker(BackgroundLoop):
    """Delivers one mapping's records, in shard order, one batch at a time."""

    def __init__(self, mapping: EventSourceMapping, runtime: LambdaRuntime) -> None:
        super().__init__(name=f"ddb-stream-esm-{mapping.uuid[:8]}", retry_seconds=RECHECK_SECONDS)
        self.mapping = mapping  # replaced by the poller's refresh when the mapping changes
        self._runtime = runtime
        shard = self._shard()
        trim_horizon = (mapping.starting_position or "TRIM_HORIZON") != "LATEST"
        # LATEST: from the records written after the mapping was created (see patches.py).
        start = patches.latest_start_position(mapping.uuid)
        if trim_horizon or shard is None:
            self.position = 0
        else:
            self.position = start if start is not None else len(shard.items)
        self._in_flight = False
        # Built at the first read: a role Lambda cannot assume is the mapping's problem, not the poller's.
        self._reader: Any = None
        self._iterator: str | None = None
        self._last_problem = ""
        self._next_read = 0.0  # time.monotonic() before which the shard is not read (unless a full page)

    # -- lifecycle ---------------------------------------------------------------------------------

    def before_start(self) -> None:
        streams.MAPPED_APPENDS.add(self.wake)

    def stop(self) -> None:
        streams.MAPPED_APPENDS.remove(self.wake)
        super().stop()

    @property
    def busy(self) -> bool:
        """A batch in flight, or records this mapping has not looked at yet."""
        if self._in_flight:
            return True
        shard = self._shard()
        return self.mapping.enabled and shard is not None and self.position < len(shard.items)

    # -- the shard ---------------------------------------------------------------------------------

    def _shard(self) -> Any:
        return streams.stream_shard(self.mapping.source_arn)

    def _next_batch(self) -> list[_Entry]:
        mapping = self.mapping
        shard = self._shard()
        if shard is None or not mapping.enabled:
            return []
        batch_size = mapping.batch_size or DEFAULT_BATCH_SIZE
        window_ends = time.monotonic() + mapping.maximum_batching_window_seconds
        batch: list[_Entry] = []
        while True:
            room = min(batch_size - len(batch), streams.GET_RECORDS_LIMIT)
            try:
                records = self._read(shard, room)
            except Exception:
                if batch:  # what was read is delivered; the next pass meets the error again
                    return batch
                raise
            for stored in records:
                entry = _Entry(self._lambda_record(stored))
                if self._matches(entry.record):
                    batch.append(entry)
            if len(batch) >= batch_size:
                return batch
            if len(records) == room:  # a full page: the shard may hold more right now
                continue
            if not batch or time.monotonic() >= window_ends:
                return batch
            self.pause(min(0.05, max(0.0, window_ends - time.monotonic())))

    def _read(self, shard: Any, limit: int) -> list[dict[str, Any]]:
        """The shard's next records after `position`, read as the function's execution role."""
        if self.position >= len(shard.items):
            return []  # nothing new (in process): no GetRecords call that could only come back empty
        mapping = self.mapping
        region = mapping.source_arn.split(":")[3]
        if self._reader is None:
            self._reader = self._runtime.role_client(mapping.function_arn, region, "dynamodbstreams")
        wait = self._next_read - time.monotonic()
        if wait > 0:
            self.pause(wait)
        if self._iterator is None:
            description = self._reader.describe_stream(StreamArn=mapping.source_arn)["StreamDescription"]
            found = description["Shards"][0]
            first = int(found["SequenceNumberRange"]["StartingSequenceNumber"])
            self._iterator = self._reader.get_shard_iterator(
                StreamArn=mapping.source_arn,
                ShardId=found["ShardId"],
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(first + self.position),
            )["ShardIterator"]
        page = self._reader.get_records(ShardIterator=self._iterator, Limit=limit)
        self._iterator = page.get("NextShardIterator")
        records: list[dict[str, Any]] = page.get("Records", [])
        self.position += len(records)
        full = len(records) == limit
        self._next_read = 0.0 if full else time.monotonic() + POLL_INTERVAL_SECONDS
        return records

    def _lambda_record(self, stored: dict[str, Any]) -> dict[str, Any]:
        # The API's answer as boto3 parsed it; Lambda's event carries binary values base64-encoded.
        dynamodb = _with_binary_encoded(dict(stored["dynamodb"]))
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            aware = created if created.tzinfo else created.replace(tzinfo=UTC)
            dynamodb["ApproximateCreationDateTime"] = int(aware.timestamp())
        return {
            "eventID": stored["eventID"],
            "eventName": stored["eventName"],
            "eventVersion": stored["eventVersion"],
            "eventSource": stored["eventSource"],
            "awsRegion": self.mapping.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.mapping.source_arn,
        }

    def _matches(self, record: dict[str, Any]) -> bool:
        patterns = self.mapping.filter_patterns
        if not patterns:
            return True
        return any(_pattern(pattern).matches_event(record) for pattern in patterns)

    # -- delivery ----------------------------------------------------------------------------------

    def run_once(self) -> float:
        """Deliver the next batch; 0 (look again at once) after a batch, else wait to be woken."""
        self._in_flight = True  # before the position moves, so `busy` never sees a gap
        try:
            batch = self._next_batch()
            if batch:
                self._deliver(batch)
                return 0
        except (ClientError, RoleNotAssumableError) as refused:
            self._cannot_read(refused)
        except Exception:
            logger.exception("delivering %s to %s failed", self.mapping.source_arn, self.mapping.function_arn)
            self.pause(RECHECK_SECONDS)
        finally:
            self._in_flight = False
        return RECHECK_SECONDS

    def _cannot_read(self, refused: Exception) -> None:
        """The role may not read the stream (or Lambda may not assume it): nothing is delivered and the
        mapping tries again, as Lambda's does; said once per distinct problem, not on every pass."""
        problem = str(refused)
        if problem != self._last_problem:
            self._last_problem = problem
            logger.warning(
                "%s cannot read %s as its execution role: %s",
                self.mapping.function_arn,
                self.mapping.source_arn,
                problem,
            )
        self.pause(RECHECK_SECONDS)

    def _deliver(self, batch: list[_Entry]) -> None:
        """Invoke until every record succeeded or was given up; retries keep the shard's order."""
        mapping = self.mapping
        max_retries = mapping.maximum_retry_attempts
        limited = max_retries is not None and max_retries >= 0
        pending: deque[tuple[list[_Entry], int]] = deque([(batch, 0)])  # (records, retries so far)
        while pending and not self.stopping:
            records, retries = pending.popleft()
            event = {"Records": [entry.record for entry in records]}
            result = self._runtime.invoke(mapping.function_arn, mapping.region, event)
            sequence_numbers = [entry.sequence_number for entry in records]
            failed = first_failure(sequence_numbers, result, mapping.report_batch_item_failures)
            if failed is None:
                continue
            remaining = records[failed:]
            if limited and retries >= (max_retries or 0):
                self._give_up(remaining, result, invocations=retries + 1)
                continue
            self.pause(min(FIRST_RETRY_DELAY_SECONDS * 2**retries, MAX_RETRY_DELAY_SECONDS))
            if result.failed and mapping.bisect_batch_on_function_error and len(remaining) > 1:
                half = len(remaining) // 2
                pending.appendleft((remaining[half:], retries + 1))
                pending.appendleft((remaining[:half], retries + 1))
            else:
                pending.appendleft((remaining, retries + 1))

    def _give_up(self, records: Sequence[_Entry], result: InvocationResult, *, invocations: int) -> None:
        destination = self.mapping.on_failure_destination
        if not destination:
            logger.warning(
                "%s: %d stream record(s) dropped after %d invocations (no on-failure destination)",
                self.mapping.function_arn,
                len(records),
                invocations,
            )
            return
        body = json.dumps(self._failure_record(records, result, invocations))
        self._runtime.send_to_target(self.mapping.function_arn, self.mapping.region, destination, body)

    def _failure_record(
        self, records: Sequence[_Entry], result: InvocationResult, invocations: int
    ) -> dict[str, Any]:
        """The invocation record Lambda sends to a stream mapping's on-failure destination: where the
        failed records are in the stream, not the records themselves."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.failed:
            response["functionError"] = "Unhandled"
        first, last = records[0].record["dynamodb"], records[-1].record["dynamodb"]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.mapping.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso_datetime(datetime.now(UTC)),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_id(),
                "startSequenceNumber": records[0].sequence_number,
                "endSequenceNumber": records[-1].sequence_number,
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }

    def _shard_id(self) -> str:
        shard = self._shard()
        return str(shard.id) if shard is not None else ""


def _with_binary_encoded(value: Any) -> Any:
    """A record's attribute values with every binary value (B, BS, nested in M and L) base64 text."""
    if isinstance(value, bytes | bytearray):
        return b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _with_binary_encoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_binary_encoded(item) for item in value]
    return value


def _iso(epoch_seconds: Any) -> str:
    if not isinstance(epoch_seconds, int | float):
        return ""
    return _iso_datetime(datetime.fromtimestamp(epoch_seconds, UTC))


def _iso_datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def first_failure(
    sequence_numbers: Sequence[str], result: InvocationResult, reports_item_failures: bool
) -> int | None:
    """The position in the batch (its records' sequence numbers, in order) from which it must be
    retried; None when it succeeded.

    A function error fails the whole batch. With ReportBatchItemFailures, the batch is checkpointed
    before the lowest sequence number the function names; a name that is not in the batch (or is empty)
    fails the whole batch, as on AWS.
    """
    if result.failed:
        return 0
    if not reports_item_failures or not isinstance(result.payload, dict):
        return None
    failures = result.payload.get("batchItemFailures") or []
    if not failures:
        return None
    positions = {number: index for index, number in enumerate(sequence_numbers)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or str(identifier) not in positions:
            return 0
        found.append(positions[str(identifier)])
    return min(found)


def stream_mappings() -> dict[str, EventSourceMapping]:
    """Every DynamoDB stream mapping in the emulator, by uuid, in the Lambda API's shape."""
    from moto.awslambda.models import lambda_backends  # noqa: PLC0415 - moto is slow to import

    found: dict[str, EventSourceMapping] = {}
    for account_backends in list(lambda_backends.values()):
        for region, backend in list(account_backends.items()):
            for esm in list(backend._event_source_mappings.values()):  # moto's registry of them
                if streams.is_dynamodb_stream(esm.event_source_arn):
                    found[esm.uuid] = EventSourceMapping.from_api(esm.get_configuration(), region)
    return found


class DynamoDbStreamPoller(BackgroundLoop):
    """Runs every enabled DynamoDB-stream mapping in the emulator, each on its own loop; this loop
    refreshes the list of mappings."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        super().__init__(
            name="ddb-stream-esm-discovery", retry_seconds=RECHECK_SECONDS, join_timeout_seconds=5
        )
        self._runtime = runtime
        self._workers: dict[str, _MappingWorker] = {}
        self._lock = threading.Lock()

    def before_start(self) -> None:
        patches.remember_latest_start_positions()

    def run_once(self) -> float:
        self.refresh()
        return RECHECK_SECONDS

    def stop(self) -> None:
        super().stop()
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        stop_all(workers)

    def refresh(self) -> None:
        """Start a worker for each new stream mapping, update those changed, stop those deleted."""
        current = stream_mappings()
        with self._lock:
            gone = [self._workers.pop(key) for key in list(self._workers) if key not in current]
            for key, mapping in current.items():
                worker = self._workers.get(key)
                if worker is not None:
                    worker.mapping = mapping
                elif not self.stopping:
                    worker = self._workers[key] = _MappingWorker(mapping, self._runtime)
                    worker.start()
        for worker in gone:
            worker.stop()

    def is_idle(self) -> bool:
        self.refresh()
        with self._lock:
            return not any(worker.busy for worker in self._workers.values())

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every mapping has delivered (or given up) every record written so far."""
        deadline = time.monotonic() + timeout
        while not self.is_idle():
            if time.monotonic() > deadline:
                raise TimeoutError(f"DynamoDB stream mappings still delivering after {timeout} s")
            time.sleep(0.05)
