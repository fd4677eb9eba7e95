"""DynamoDB stream -> Lambda event source mappings with AWS's semantics, for the embedded emulator.

moto invokes a stream's mapped functions inside the write that made the record and ignores the mapping's
FilterCriteria, BatchSize, retries, BisectBatchOnFunctionError and on-failure destination
(dynamodb_patches.py turns that path off and keeps the records). Here each enabled mapping has a thread
that reads its shard in order, like Lambda's stream poller:

- records that match none of the FilterCriteria patterns are dropped (and never invoke the function);
- the rest go in batches of up to BatchSize (gathered for up to MaximumBatchingWindowInSeconds);
- a batch that fails (function error, or ReportBatchItemFailures naming a record) is retried from the
  first failed record, split in two first on a function error when BisectBatchOnFunctionError is on, up
  to MaximumRetryAttempts (-1 or unset: until it succeeds); the records still failing then go, as a
  batch description, to the DestinationConfig.OnFailure SQS queue or SNS topic, and the shard moves on.

Writes never wait for the function: delivery is asynchronous, as on AWS. MaximumRecordAgeInSeconds,
ParallelizationFactor and tumbling windows are not modelled (one batch in flight per mapping).
The mappings are read from moto's Lambda backends, so any created through the API are served.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud import dynamodb_patches
from localcloud.lambda_runtime import InvocationResult, LambdaRuntime

LOG = logging.getLogger(__name__)

# How often a waiting mapping thread looks again without being woken (a mapping disabled or deleted).
RECHECK_SECONDS = 0.5
# Retries of a failing batch wait this, doubling, up to MAX_RETRY_DELAY_SECONDS (Lambda backs off too).
FIRST_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS = 0.05, 1.0


def _is_dynamodb_stream(arn: str) -> bool:
    return arn.startswith("arn:aws:dynamodb:") and "/stream/" in arn


def _moto_table(stream_arn: str) -> Any:
    """The moto Table whose current stream `stream_arn` is; None when the table or that stream is gone."""
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - moto is slow to import

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    table_name, _, label = resource.removeprefix("table/").partition("/stream/")
    table = dynamodb_backends[account][region].tables.get(table_name)
    if table is None or table.latest_stream_label != label:
        return None
    return table


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


class _MappingWorker:
    """Delivers one mapping's records, in shard order, one batch at a time."""

    def __init__(self, esm: Any, region: str, runtime: LambdaRuntime) -> None:
        self.esm, self.region, self._runtime = esm, region, runtime
        self.uuid: str = esm.uuid
        shard = self._shard()
        trim_horizon = (esm.starting_position or "TRIM_HORIZON") != "LATEST"
        # LATEST: from the records written after the mapping was created (see _remember_start).
        start = getattr(esm, "localcloud_start_index", None)
        if trim_horizon or shard is None:
            self.position = 0
        else:
            self.position = start if start is not None else len(shard.items)
        self._stop = threading.Event()
        self._in_flight = False
        self._thread = threading.Thread(target=self._run, name=f"ddb-stream-esm-{self.uuid[:8]}", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with dynamodb_patches.stream_appended:
            dynamodb_patches.stream_appended.notify_all()
        self._thread.join(timeout=10)

    @property
    def busy(self) -> bool:
        """A batch in flight, or records this mapping has not looked at yet."""
        if self._in_flight:
            return True
        shard = self._shard()
        return bool(self.esm.enabled) and shard is not None and self.position < len(shard.items)

    # -- the shard ---------------------------------------------------------------------------------

    def _shard(self) -> Any:
        table = _moto_table(self.esm.event_source_arn)
        return table.stream_shard if table is not None else None

    def _next_batch(self) -> list[_Entry]:
        shard = self._shard()
        if shard is None or not self.esm.enabled:
            return []
        batch_size = int(self.esm.batch_size or 100)
        window_ends = time.monotonic() + float(self.esm.max_batch_window or 0)
        batch: list[_Entry] = []
        while True:
            items = shard.items
            while self.position < len(items) and len(batch) < batch_size:
                entry = _Entry(self._lambda_record(items[self.position].to_json()))
                self.position += 1
                if self._matches(entry.record):
                    batch.append(entry)
            if not batch or len(batch) >= batch_size or time.monotonic() >= window_ends:
                return batch
            self._stop.wait(min(0.05, max(0.0, window_ends - time.monotonic())))

    def _lambda_record(self, stored: dict[str, Any]) -> dict[str, Any]:
        dynamodb = dict(stored["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            aware = created if created.tzinfo else created.replace(tzinfo=UTC)
            dynamodb["ApproximateCreationDateTime"] = int(aware.timestamp())
        return {
            "eventID": stored["eventID"],
            "eventName": stored["eventName"],
            "eventVersion": stored["eventVersion"],
            "eventSource": stored["eventSource"],
            "awsRegion": self.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.esm.event_source_arn,
        }

    def _matches(self, record: dict[str, Any]) -> bool:
        filters = (self.esm.filter_criteria or {}).get("Filters") or []
        if not filters:
            return True
        return any(_pattern(f.get("Pattern")).matches_event(record) for f in filters)

    # -- delivery ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            with dynamodb_patches.stream_appended:
                seen = dynamodb_patches.appended
            self._in_flight = True  # before the position moves, so `busy` never sees a gap
            try:
                batch = self._next_batch()
                if batch:
                    self._deliver(batch)
                    continue
            except Exception:
                LOG.exception("delivering %s to %s failed", self.esm.event_source_arn, self.esm.function_arn)
                self._stop.wait(RECHECK_SECONDS)
            finally:
                self._in_flight = False
            self._wait_for_records(after=seen)

    def _wait_for_records(self, after: int) -> None:
        """Sleep until a stream record is appended anywhere after the count `after`, or a while passes."""
        with dynamodb_patches.stream_appended:
            dynamodb_patches.stream_appended.wait_for(
                lambda: dynamodb_patches.appended != after or self._stop.is_set(), timeout=RECHECK_SECONDS
            )

    def _deliver(self, batch: list[_Entry]) -> None:
        """Invoke until every record succeeded or was given up; retries keep the shard's order."""
        max_retries = self.esm.max_retry_attempts
        limited = max_retries is not None and int(max_retries) >= 0
        pending: deque[tuple[list[_Entry], int]] = deque([(batch, 0)])  # (records, retries so far)
        while pending and not self._stop.is_set():
            records, retries = pending.popleft()
            event = {"Records": [entry.record for entry in records]}
            result = self._runtime.invoke(self.esm.function_arn, self.region, event)
            sequence_numbers = [entry.sequence_number for entry in records]
            failed = first_failure(sequence_numbers, result, self._reports_item_failures)
            if failed is None:
                continue
            remaining = records[failed:]
            if limited and retries >= int(max_retries):
                self._give_up(remaining, result, invocations=retries + 1)
                continue
            self._stop.wait(min(FIRST_RETRY_DELAY_SECONDS * 2**retries, MAX_RETRY_DELAY_SECONDS))
            if result.failed and self.esm.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                pending.appendleft((remaining[half:], retries + 1))
                pending.appendleft((remaining[:half], retries + 1))
            else:
                pending.appendleft((remaining, retries + 1))

    @property
    def _reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in (self.esm.function_response_types or [])

    def _give_up(self, records: Sequence[_Entry], result: InvocationResult, *, invocations: int) -> None:
        destination = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not destination:
            LOG.warning(
                "%s: %d stream record(s) dropped after %d invocations (no on-failure destination)",
                self.esm.function_arn,
                len(records),
                invocations,
            )
            return
        body = json.dumps(self._failure_record(records, result, invocations))
        self._runtime.send_to_target(destination, body)

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
                "functionArn": self.esm.function_arn,
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
                "streamArn": self.esm.event_source_arn,
            },
        }

    def _shard_id(self) -> str:
        shard = self._shard()
        return str(shard.id) if shard is not None else ""


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


class DynamoDbStreamPoller:
    """Runs every enabled DynamoDB-stream mapping in the emulator, each on its own thread."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self._runtime = runtime
        self._workers: dict[str, _MappingWorker] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DynamoDbStreamPoller:
        dynamodb_patches.apply()
        _remember_start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ddb-stream-esm-discovery", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()

    def refresh(self) -> None:
        """Start a worker for each new stream mapping; stop those of mappings deleted."""
        from moto.awslambda.models import lambda_backends  # noqa: PLC0415 - moto is slow to import

        current: dict[str, tuple[Any, str]] = {}
        for account_backends in list(lambda_backends.values()):
            for region, backend in list(account_backends.items()):
                for esm in list(backend._event_source_mappings.values()):  # moto's registry
                    if _is_dynamodb_stream(esm.event_source_arn):
                        current[esm.uuid] = (esm, region)
        with self._lock:
            gone = [self._workers.pop(key) for key in list(self._workers) if key not in current]
            for key, (esm, region) in current.items():
                if key not in self._workers and not self._stop.is_set():
                    worker = self._workers[key] = _MappingWorker(esm, region, self._runtime)
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

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:
                LOG.exception("reading the stream mappings failed")
            self._stop.wait(RECHECK_SECONDS)


_start_patched = threading.Lock()


def _remember_start() -> None:
    """Record, on each stream mapping as it is created, where LATEST starts: the shard's length then
    (the discovery thread may only see the mapping after the next writes). Idempotent."""
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415 - moto is slow to import

    with _start_patched:
        original = LambdaBackend.create_event_source_mapping
        if getattr(original, "localcloud_patched", False):
            return

        def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
            esm: Any = original(self, spec)
            if _is_dynamodb_stream(esm.event_source_arn):
                table = _moto_table(esm.event_source_arn)
                shard = table.stream_shard if table is not None else None
                esm.localcloud_start_index = len(shard.items) if shard is not None else 0
            return esm

        create_event_source_mapping.localcloud_patched = True  # type: ignore[attr-defined]
        LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
