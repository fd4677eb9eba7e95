"""SQS -> Lambda event source mappings with AWS's semantics, for the embedded emulator.

moto's own mapping is unlike AWS: it invokes the function inside send_message, ignores BatchSize and
never retries or redrives. Its delivery path is turned off (`patches.disable_sqs_triggers`) and this
poller owns delivery: long-poll, batch up to BatchSize within MaximumBatchingWindowInSeconds, invoke
synchronously, delete what succeeded (honouring ReportBatchItemFailures), and leave the rest to reappear
after the queue's visibility timeout. moto redrives on receive (a visible message whose receive count has
reached the RedrivePolicy's maxReceiveCount moves to the DLQ), which is what AWS does, so the poller's
next receive completes the redrive.

The poller runs the mappings it is given: the provisioner's record (mapping.SqsMappingRecord, since the
program's SQS mappings are not created in moto), or those created through the Lambda API
(`add_mappings_from_emulator`).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localcloud.core.loop import BackgroundLoop, stop_all
from localcloud.services.lambda_ import patches
from localcloud.services.lambda_.event_sources.mapping import EventSourceMapping
from localcloud.services.lambda_.runtime import InvocationResult, LambdaRuntime

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_RECEIVE = 10  # an SQS limit
_DELETE_BATCH_MAX = 10  # an SQS limit
DEFAULT_BATCH_SIZE = 10  # Lambda's default for SQS
# Batches of one mapping invoked at once when the mapping sets no ScalingConfig.MaximumConcurrency.
DEFAULT_MAXIMUM_CONCURRENCY = 2
_SLOT_WAIT_SECONDS = 0.5
_ERROR_PAUSE_SECONDS = 0.5


class _MappingWorker(BackgroundLoop):
    """The polling loop of one mapping plus the pool its batches are invoked on."""

    def __init__(self, mapping: EventSourceMapping, runtime: LambdaRuntime, wait_time_seconds: int) -> None:
        super().__init__(
            name=f"sqs-esm-poller-{mapping.uuid[:8]}",
            retry_seconds=_ERROR_PAUSE_SECONDS,
            join_timeout_seconds=wait_time_seconds + 5,
        )
        self.mapping = mapping
        self.batch_size = max(1, mapping.batch_size or DEFAULT_BATCH_SIZE)
        self.maximum_batching_window_seconds = max(0.0, mapping.maximum_batching_window_seconds)
        self.maximum_concurrency = max(1, mapping.maximum_concurrency or DEFAULT_MAXIMUM_CONCURRENCY)
        self._runtime = runtime
        self._wait_time_seconds = wait_time_seconds
        # The poller reads and deletes as the function's execution role, as Lambda's does; localcloud's own
        # bookkeeping (the queue's URL, wait_idle's counts) is the control plane's.
        self._sqs = runtime.client("sqs", mapping.region)
        self._consumer = runtime.role_client(mapping.function_arn, mapping.region, "sqs")
        self.queue_url: str = self._sqs.get_queue_url(
            QueueName=mapping.source_name, QueueOwnerAWSAccountId=mapping.source_account
        )["QueueUrl"]
        self._slots = threading.BoundedSemaphore(self.maximum_concurrency)
        self._pool = ThreadPoolExecutor(
            max_workers=self.maximum_concurrency, thread_name_prefix=f"sqs-esm-{mapping.uuid[:8]}"
        )
        self._lock = threading.Lock()
        self._batches_in_flight = 0

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._batches_in_flight > 0

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def queue_is_empty(self) -> bool:
        """True when the queue holds no message in any state.

        Each count is taken at its own instant, and a message moves between them: by time (delayed or
        in flight -> visible) and by a receive (visible -> in flight). So the counts are read in an order
        no move can slip through: delayed and in flight first (time only moves those to visible), then
        visible, then in flight again (catches a message received since the first read).
        """
        for names in (
            ["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible"],
            ["ApproximateNumberOfMessages"],
            ["ApproximateNumberOfMessagesNotVisible"],
        ):
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
            if any(int(value) for value in attributes["Attributes"].values()):
                return False
        return True

    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._consumer.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(max_messages, MAX_MESSAGES_PER_RECEIVE)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def run_once(self) -> float:
        """Receive one batch (once a concurrency slot is free) and hand it to the pool."""
        mapping = self.mapping
        # Take a concurrency slot before receiving: a received message's visibility timeout runs.
        if not self._slots.acquire(timeout=_SLOT_WAIT_SECONDS):
            return 0
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
            if not self.stopping:
                logger.exception("polling %s for %s failed", mapping.source_arn, mapping.function_arn)
                self.pause(_ERROR_PAUSE_SECONDS)
        finally:
            if not handed_off:
                self._slots.release()
        return 0

    def _collect_batch(self) -> list[dict[str, Any]]:
        batch = self._receive(self.batch_size, self._wait_time_seconds)
        if not batch:
            return batch
        # MaximumBatchingWindowInSeconds: keep gathering until the batch is full or the window closes.
        window_ends = time.monotonic() + self.maximum_batching_window_seconds
        while len(batch) < self.batch_size and not self.stopping:
            remaining_seconds = window_ends - time.monotonic()
            if remaining_seconds <= 0:
                break
            more = self._receive(self.batch_size - len(batch), 1 if remaining_seconds >= 1 else 0)
            if not more:
                self.pause(min(0.05, remaining_seconds))
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
                self._consumer.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
        except Exception:
            logger.exception(
                "delivering a batch from %s to %s failed", mapping.source_arn, mapping.function_arn
            )
        finally:
            self._release()


def lambda_sqs_record(message: dict[str, Any], mapping: EventSourceMapping) -> dict[str, Any]:
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
        "eventSourceARN": mapping.source_arn,
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
    """Delivers SQS messages to Lambda for every mapping added, one polling loop per mapping."""

    def __init__(self, runtime: LambdaRuntime, *, wait_time_seconds: int = 1) -> None:
        self._runtime = runtime
        self._wait_time_seconds = wait_time_seconds
        self._workers: dict[str, _MappingWorker] = {}
        self._running = False
        self._lock = threading.Lock()

    def add_mapping(self, mapping: EventSourceMapping) -> None:
        """Run an enabled SQS mapping (at once if the poller is running). Re-adding a uuid is a no-op."""
        if not mapping.is_sqs:
            raise ValueError(f"{mapping.source_arn} is not an SQS queue")
        if not mapping.enabled:
            return
        patches.disable_sqs_triggers()
        with self._lock:
            if mapping.uuid in self._workers:
                return
            worker = _MappingWorker(mapping, self._runtime, self._wait_time_seconds)
            self._workers[mapping.uuid] = worker
            if self._running:
                worker.start()

    def add_mappings_from_emulator(self, regions: Iterable[str]) -> list[str]:
        """Adopt every enabled SQS mapping created through the Lambda API in these regions; their uuids."""
        added = []
        for region in regions:
            paginator = self._runtime.client("lambda", region).get_paginator("list_event_source_mappings")
            for page in paginator.paginate():
                for configuration in page["EventSourceMappings"]:
                    mapping = EventSourceMapping.from_api(configuration, region)
                    if mapping.is_sqs and mapping.enabled:
                        self.add_mapping(mapping)
                        added.append(mapping.uuid)
        return added

    @property
    def mappings(self) -> list[EventSourceMapping]:
        with self._lock:
            return [worker.mapping for worker in self._workers.values()]

    def start(self) -> None:
        patches.disable_sqs_triggers()
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
        # Each may be inside a long poll: one after another, the demo's stop waited 9 s for them.
        stop_all(workers)

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
        pending = [worker.mapping.source_arn for worker in workers if not worker.queue_is_empty()]
        in_flight = self._runtime.busy or any(worker.busy for worker in workers)
        raise TimeoutError(
            f"SQS event source mappings not idle after {timeout} s; "
            f"queues with messages: {pending or 'none'}, invocations in flight: {in_flight}"
        )
