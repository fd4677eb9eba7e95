"""SQS -> Lambda event source mappings with AWS's semantics, for the embedded emulator.

moto's own mapping is unlike AWS: it invokes the function inside send_message, ignores BatchSize and
never retries or redrives. localcloud therefore lets moto keep the mapping as a record (so the API and
Pulumi see it) but disables moto's delivery path (`disable_moto_sqs_triggers`), and this poller owns
delivery: long-poll, batch up to BatchSize within MaximumBatchingWindowInSeconds, invoke synchronously,
delete what succeeded (honouring ReportBatchItemFailures), and leave the rest to reappear after the
queue's visibility timeout. moto redrives on receive (a visible message whose receive count has
reached the RedrivePolicy's maxReceiveCount moves to the DLQ), which is what AWS does, so the poller's
next receive completes the redrive.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from localcloud.lambda_runtime import InvocationResult, LambdaRuntime

LOG = logging.getLogger(__name__)

MAX_MESSAGES_PER_RECEIVE = 10  # an SQS limit
_DELETE_BATCH_MAX = 10  # an SQS limit
_patched = threading.Lock()


def disable_moto_sqs_triggers() -> None:
    """Stop moto from invoking mapped functions inside send_message (idempotent, process-global).

    moto keeps a queue's mappings in `Queue.lambda_event_source_mappings` and walks it in add_message;
    a property that always reads as empty turns that path off while create/list/delete of mappings in
    moto's Lambda API keep working.
    """
    from moto.sqs.models import Queue  # noqa: PLC0415 - moto is slow to import

    with _patched:
        if isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property):
            return
        Queue.lambda_event_source_mappings = property(  # type: ignore[assignment]
            lambda self: {}, lambda self, value: None
        )


@dataclass(frozen=True)
class SqsMapping:
    uuid: str
    queue_arn: str
    function_arn: str
    region: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_batching_window_seconds: float
    max_concurrency: int

    @property
    def queue_name(self) -> str:
        return self.queue_arn.split(":")[5]

    @property
    def account_id(self) -> str:
        return self.queue_arn.split(":")[4]


class _MappingWorker:
    """The poller thread of one mapping plus the pool its batches are invoked on."""

    def __init__(self, mapping: SqsMapping, runtime: LambdaRuntime, wait_time_seconds: int) -> None:
        self.mapping = mapping
        self._runtime = runtime
        self._wait_time_seconds = wait_time_seconds
        self._sqs = runtime.client("sqs", mapping.region)
        self.queue_url: str = self._sqs.get_queue_url(
            QueueName=mapping.queue_name, QueueOwnerAWSAccountId=mapping.account_id
        )["QueueUrl"]
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(mapping.max_concurrency)
        self._pool = ThreadPoolExecutor(
            max_workers=mapping.max_concurrency, thread_name_prefix=f"sqs-esm-{mapping.uuid[:8]}"
        )
        self._lock = threading.Lock()
        self._batches_in_flight = 0
        self._thread = threading.Thread(
            target=self._poll, name=f"sqs-esm-poller-{mapping.uuid[:8]}", daemon=True
        )

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._batches_in_flight > 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._wait_time_seconds + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def queue_is_empty(self) -> bool:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(value) == 0 for value in attributes.values())

    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(max_messages, MAX_MESSAGES_PER_RECEIVE)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _poll(self) -> None:
        mapping = self.mapping
        while not self._stop.is_set():
            # Take a concurrency slot before receiving: a received message's visibility timeout runs.
            if not self._slots.acquire(timeout=0.5):
                continue
            handed_off = False
            try:
                batch = self._collect_batch()
                if batch:
                    # Received messages are invisible, so wait_idle sees them until this is counted.
                    with self._lock:
                        self._batches_in_flight += 1
                    self._pool.submit(self._deliver, batch)
                    handed_off = True
            except Exception:
                if not self._stop.is_set():
                    LOG.exception("polling %s for %s failed", mapping.queue_arn, mapping.function_arn)
                    self._stop.wait(0.5)
            finally:
                if not handed_off:
                    self._slots.release()

    def _collect_batch(self) -> list[dict[str, Any]]:
        mapping = self.mapping
        batch = self._receive(mapping.batch_size, self._wait_time_seconds)
        if not batch:
            return batch
        # MaximumBatchingWindowInSeconds: keep gathering until the batch is full or the window closes.
        window_ends = time.monotonic() + mapping.maximum_batching_window_seconds
        while len(batch) < mapping.batch_size and not self._stop.is_set():
            remaining_seconds = window_ends - time.monotonic()
            if remaining_seconds <= 0:
                break
            more = self._receive(mapping.batch_size - len(batch), 1 if remaining_seconds >= 1 else 0)
            if not more:
                self._stop.wait(min(0.05, remaining_seconds))
            batch.extend(more)
        return batch

    def _release(self) -> None:
        with self._lock:
            self._batches_in_flight -= 1
        self._slots.release()

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        try:
            event = {"Records": [lambda_sqs_record(message, mapping) for message in messages]}
            result = self._runtime.invoke(mapping.function_arn, mapping.region, event)
            to_delete = messages_to_delete(messages, result, mapping.report_batch_item_failures)
            for start in range(0, len(to_delete), _DELETE_BATCH_MAX):
                chunk = to_delete[start : start + _DELETE_BATCH_MAX]
                self._sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
        except Exception:
            LOG.exception("delivering a batch from %s to %s failed", mapping.queue_arn, mapping.function_arn)
        finally:
            self._release()


def lambda_sqs_record(message: dict[str, Any], mapping: SqsMapping) -> dict[str, Any]:
    """One record of the event Lambda builds for an SQS batch (the shape AWS documents)."""
    attributes = {
        name: value
        for name, value in message.get("Attributes", {}).items()
        if name
        in {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "AWSTraceHeader",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
        }
    }
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _record_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": mapping.region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _record_attribute(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        # Lambda carries binary attribute values base64-encoded in the JSON event.
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def messages_to_delete(
    messages: list[dict[str, Any]], result: InvocationResult, report_batch_item_failures: bool
) -> list[dict[str, Any]]:
    """Which messages of a delivered batch Lambda deletes, per AWS's partial batch response rules."""
    if result.failed:
        return []
    if not report_batch_item_failures or not isinstance(result.payload, dict):
        return list(messages)
    failures = result.payload.get("batchItemFailures")
    if not failures:
        return list(messages)
    batch_ids = {message["MessageId"] for message in messages}
    failed_ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        # AWS treats a malformed or unknown itemIdentifier as a failure of the whole batch.
        if not identifier or identifier not in batch_ids:
            return []
        failed_ids.add(identifier)
    return [message for message in messages if message["MessageId"] not in failed_ids]


class SqsEventSourcePoller:
    """Delivers SQS messages to Lambda for every mapping added, one poller thread per mapping."""

    def __init__(self, runtime: LambdaRuntime, *, wait_time_seconds: int = 1) -> None:
        self._runtime = runtime
        self._wait_time_seconds = wait_time_seconds
        self._workers: dict[str, _MappingWorker] = {}
        self._running = False
        self._lock = threading.Lock()

    def add_mapping(  # noqa: PLR0917 - the agreed signature; callers may pass positionally
        self,
        uuid: str,
        queue_arn: str,
        function_arn: str,
        region: str,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
        maximum_batching_window_seconds: float = 0,
        max_concurrency: int = 2,
    ) -> None:
        """Register a mapping (started at once if the poller is running). Re-adding a uuid is a no-op."""
        mapping = SqsMapping(
            uuid=uuid,
            queue_arn=queue_arn,
            function_arn=function_arn,
            region=region,
            batch_size=max(1, batch_size),
            report_batch_item_failures=report_batch_item_failures,
            maximum_batching_window_seconds=max(0.0, maximum_batching_window_seconds),
            max_concurrency=max(1, max_concurrency),
        )
        disable_moto_sqs_triggers()
        with self._lock:
            if uuid in self._workers:
                return
            worker = _MappingWorker(mapping, self._runtime, self._wait_time_seconds)
            self._workers[uuid] = worker
            if self._running:
                worker.start()

    def add_mappings_from_emulator(self, regions: Iterable[str]) -> list[str]:
        """Adopt every SQS mapping created through the Lambda API in these regions; returns their uuids."""
        added = []
        for region in regions:
            paginator = self._runtime.client("lambda", region).get_paginator("list_event_source_mappings")
            for page in paginator.paginate():
                for esm in page["EventSourceMappings"]:
                    if ":sqs:" not in esm.get("EventSourceArn", "") or esm.get("State") == "Disabled":
                        continue
                    self.add_mapping(
                        uuid=esm["UUID"],
                        queue_arn=esm["EventSourceArn"],
                        function_arn=esm["FunctionArn"],
                        region=region,
                        batch_size=esm.get("BatchSize") or 10,
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (esm.get("FunctionResponseTypes") or []),
                        maximum_batching_window_seconds=esm.get("MaximumBatchingWindowInSeconds") or 0,
                        max_concurrency=(esm.get("ScalingConfig") or {}).get("MaximumConcurrency") or 2,
                    )
                    added.append(esm["UUID"])
        return added

    @property
    def mappings(self) -> list[SqsMapping]:
        with self._lock:
            return [worker.mapping for worker in self._workers.values()]

    def start(self) -> None:
        disable_moto_sqs_triggers()
        with self._lock:
            if self._running:
                return
            self._running = True
            for worker in self._workers.values():
                worker.start()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            workers = list(self._workers.values())
            self._workers = {}
        for worker in workers:
            worker.stop()

    def is_idle(self) -> bool:
        with self._lock:
            workers = list(self._workers.values())
        if any(worker.busy for worker in workers) or self._runtime.busy:
            return False
        return all(worker.queue_is_empty() for worker in workers)

    def wait_idle(self, timeout: float = 30.0, poll_interval_seconds: float = 0.1) -> None:
        """Block until every mapped queue is empty (visible and in flight) and nothing is invoking.

        Raises TimeoutError naming the queues still holding messages.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_idle():
                return
            time.sleep(poll_interval_seconds)
        with self._lock:
            workers = list(self._workers.values())
        pending = [worker.mapping.queue_arn for worker in workers if not worker.queue_is_empty()]
        in_flight = self._runtime.busy or any(worker.busy for worker in workers)
        raise TimeoutError(
            f"SQS event source mappings not idle after {timeout} s; "
            f"queues with messages: {pending or 'none'}, invocations in flight: {in_flight}"
        )
