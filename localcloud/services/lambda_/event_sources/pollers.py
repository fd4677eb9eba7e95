"""The one owner of Lambda's event source pollers: SQS queues and DynamoDB streams.

The emulator starts it with the Lambda runtime. DynamoDB stream mappings are found in the emulator on
their own; SQS mappings are handed in (`add`), since the program's are recorded rather than created in
moto (see mapping.py). `wait_idle` is the "everything delivered" barrier tests and demos wait on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from localcloud.services.lambda_.event_sources.dynamodb_streams import DynamoDbStreamPoller
from localcloud.services.lambda_.event_sources.mapping import EventSourceMapping
from localcloud.services.lambda_.event_sources.sqs import SqsEventSourcePoller
from localcloud.services.lambda_.runtime import LambdaRuntime


class EventSourcePollers:
    """Both pollers of one emulator, started and stopped together."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.sqs = SqsEventSourcePoller(runtime)
        self.dynamodb_streams = DynamoDbStreamPoller(runtime)

    def start(self) -> EventSourcePollers:
        self.sqs.start()
        self.dynamodb_streams.start()
        return self

    def stop(self) -> None:
        self.sqs.stop()
        self.dynamodb_streams.stop()

    def add(self, mappings: Iterable[EventSourceMapping]) -> None:
        """Run these SQS mappings (disabled ones are skipped, as Lambda skips them)."""
        for mapping in mappings:
            self.sqs.add_mapping(mapping)

    def wait_idle(self, timeout_seconds: float = 30.0) -> None:
        """Block until every mapped queue is empty and every stream mapping has delivered what was
        written so far; raises TimeoutError naming what is still pending."""
        deadline = time.monotonic() + timeout_seconds
        self.sqs.wait_idle(timeout_seconds)
        self.dynamodb_streams.wait_idle(max(0.0, deadline - time.monotonic()))
