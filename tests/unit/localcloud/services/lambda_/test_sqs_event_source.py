"""SQS -> Lambda mappings deliver as AWS does: batches, partial failures, redrive, no double delivery."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import cast

import pytest

from localcloud.services.lambda_.event_sources.mapping import REPORT_BATCH_ITEM_FAILURES, EventSourceMapping
from localcloud.services.lambda_.event_sources.sqs import SqsEventSourcePoller, _MappingWorker
from localcloud.services.lambda_.runtime import LambdaRuntime
from tests.unit.localcloud.conftest import REGION, create_queue, drain, wait_for

# Records the bodies of each batch; returns batchItemFailures for bodies starting with "fail".
PARTIAL = """
def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    record(bodies)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                  for r in event["Records"] if r["body"].startswith("fail")]}
"""


def sqs_mapping(
    queue_arn,
    function_arn,
    *,
    batch_size=None,
    report_batch_item_failures=False,
    maximum_batching_window_seconds=0.0,
):
    return EventSourceMapping(
        uuid=str(uuid.uuid4()),
        source_arn=queue_arn,
        function_arn=function_arn,
        region=REGION,
        batch_size=batch_size,
        function_response_types=(REPORT_BATCH_ITEM_FAILURES,) if report_batch_item_failures else (),
        maximum_batching_window_seconds=maximum_batching_window_seconds,
    )


@pytest.fixture
def poller(emulator):
    running = SqsEventSourcePoller(emulator.lambda_runtime)
    running.start()
    yield running
    running.stop()


def queue_with_dlq(emulator, max_receive_count=2):
    suffix = uuid.uuid4().hex[:8]
    dlq_url, dlq_arn = create_queue(emulator, f"dlq-{suffix}")
    url, arn = create_queue(
        emulator,
        f"work-{suffix}",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
    )
    return url, arn, dlq_url


def send(emulator, url, *bodies):
    sqs = emulator.client("sqs", REGION)
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def test_batch_size_is_honoured_and_every_message_delivered_once(emulator, deploy, poller):
    fn = deploy(PARTIAL)
    url, arn = create_queue(emulator, f"work-{uuid.uuid4().hex[:8]}")
    bodies = [f"m{i}" for i in range(7)]
    send(emulator, url, *bodies)
    poller.add_mapping(sqs_mapping(arn, fn.arn, batch_size=3, maximum_batching_window_seconds=1))
    poller.wait_idle(timeout=20)
    batches = fn.records()
    assert all(1 <= len(batch) <= 3 for batch in batches)
    assert any(len(batch) == 3 for batch in batches)
    assert sorted(body for batch in batches for body in batch) == bodies


def test_event_records_have_the_shape_lambda_builds(emulator, deploy, poller):
    fn = deploy("""
        def handler(event, context):
            record(event["Records"])
    """)
    url, arn = create_queue(emulator, f"work-{uuid.uuid4().hex[:8]}")
    emulator.client("sqs", REGION).send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    poller.add_mapping(sqs_mapping(arn, fn.arn, batch_size=10))
    poller.wait_idle(timeout=20)
    [[rec]] = fn.records()
    assert rec["body"] == "hello"
    assert rec["eventSource"] == "aws:sqs"
    assert rec["eventSourceARN"] == arn
    assert rec["awsRegion"] == REGION
    assert rec["messageAttributes"]["kind"] == {
        "stringValue": "order",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert rec["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(rec["attributes"])
    assert rec["md5OfBody"] and rec["messageId"] and rec["receiptHandle"]


def test_partial_batch_failure_deletes_only_the_successes(emulator, deploy, poller):
    fn = deploy(PARTIAL)
    url, arn, dlq_url = queue_with_dlq(emulator, max_receive_count=2)
    send(emulator, url, "ok-1", "fail-1", "ok-2")
    poller.add_mapping(
        sqs_mapping(
            arn,
            fn.arn,
            batch_size=10,
            report_batch_item_failures=True,
            maximum_batching_window_seconds=0.5,
        )
    )
    poller.wait_idle(timeout=20)
    deliveries = Counter(body for batch in fn.records() for body in batch)
    # successes were deleted after one delivery; the failure was retried until maxReceiveCount
    assert deliveries == {"ok-1": 1, "ok-2": 1, "fail-1": 2}
    [dead] = drain(emulator, dlq_url, expected=1)
    assert dead["Body"] == "fail-1"


def test_batch_item_failures_are_ignored_without_report_batch_item_failures(emulator, deploy, poller):
    fn = deploy(PARTIAL)
    url, arn, _ = queue_with_dlq(emulator)
    send(emulator, url, "fail-1")
    poller.add_mapping(sqs_mapping(arn, fn.arn, batch_size=10))
    poller.wait_idle(timeout=20)
    assert fn.records() == [["fail-1"]]


def test_always_failing_message_ends_in_the_dlq_after_max_receive_count(emulator, deploy, poller):
    fn = deploy("""
        def handler(event, context):
            record([r["body"] for r in event["Records"]])
            raise ValueError("poison")
    """)
    url, arn, dlq_url = queue_with_dlq(emulator, max_receive_count=3)
    send(emulator, url, "poison")
    poller.add_mapping(sqs_mapping(arn, fn.arn, batch_size=10))
    poller.wait_idle(timeout=30)
    assert fn.records() == [["poison"]] * 3
    [dead] = drain(emulator, dlq_url, expected=1)
    assert dead["Body"] == "poison"


def test_mapping_created_in_moto_is_delivered_by_the_poller_only(emulator, deploy, poller):
    fn = deploy(PARTIAL)
    url, arn = create_queue(emulator, f"work-{uuid.uuid4().hex[:8]}")
    esm = emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn.arn, BatchSize=5
    )
    send(emulator, url, "a", "b", "c")
    # moto's own path would have invoked inside send_message, before it returned
    assert fn.records() == []
    assert poller.add_mappings_from_emulator([REGION]) == [esm["UUID"]]
    poller.wait_idle(timeout=20)
    assert sorted(body for batch in fn.records() for body in batch) == ["a", "b", "c"]


def test_wait_idle_times_out_while_messages_remain(emulator, deploy, poller):
    fn = deploy(
        """
        import time
        def handler(event, context):
            time.sleep(3)
    """,
        timeout=5,
    )
    url, arn = create_queue(emulator, f"work-{uuid.uuid4().hex[:8]}")
    send(emulator, url, "slow")
    poller.add_mapping(sqs_mapping(arn, fn.arn))
    with pytest.raises(TimeoutError, match="not idle"):
        poller.wait_idle(timeout=0.5)


COUNT_OF_STATE = {
    "delayed": "ApproximateNumberOfMessagesDelayed",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "visible": "ApproximateNumberOfMessages",
}


class _QueueWithOneMovingMessage:
    """An SQS client whose only message changes state after `moves_after` attribute evaluations.

    moto evaluates each queue attribute at its own instant, so a message can move between two counts of
    one call; every evaluation here is one tick of that clock.
    """

    def __init__(self, state_before: str, state_after: str, moves_after: int) -> None:
        self.states = (state_before, state_after)
        self.moves_after = moves_after
        self.evaluations = 0

    def get_queue_url(self, **_):
        return {"QueueUrl": "https://queue.example/work"}

    def get_queue_attributes(self, QueueUrl, AttributeNames):  # noqa: N803 - boto3's parameter names
        attributes = {}
        for name in AttributeNames:
            state = self.states[self.evaluations >= self.moves_after]
            attributes[name] = "1" if COUNT_OF_STATE[state] == name else "0"
            self.evaluations += 1
        return {"Attributes": attributes}


class _RuntimeWithClient:
    busy = False

    def __init__(self, client) -> None:
        self._client = client

    def client(self, service, region):
        return self._client

    def role_client(self, function_arn, region, service):
        return self._client


@pytest.mark.parametrize("moves_after", range(5))
@pytest.mark.parametrize(
    ("state_before", "state_after"),
    [
        ("in_flight", "visible"),  # its visibility timeout ends
        ("delayed", "visible"),  # its delay ends
        ("visible", "in_flight"),  # a poller receives it
    ],
)
def test_a_queue_whose_message_moves_while_being_counted_is_never_reported_empty(
    state_before, state_after, moves_after
):
    # GIVEN a queue holding one message that changes state somewhere during the count
    sqs = _QueueWithOneMovingMessage(state_before, state_after, moves_after)
    poller = SqsEventSourcePoller(cast(LambdaRuntime, _RuntimeWithClient(sqs)))
    poller.add_mapping(sqs_mapping("arn:aws:sqs:us-east-1:123456789012:work", "arn:aws:lambda:fn"))
    # WHEN wait_idle's emptiness check runs THEN it still sees the message
    assert not poller.is_idle()


def test_the_poller_reads_as_the_functions_role_so_a_role_without_receive_gets_nothing(
    emulator, deploy, poller
):
    # GIVEN a function whose role may not receive from its queue (no sqs:ReceiveMessage)
    fn = deploy(
        PARTIAL, permissions=[{"Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": "*"}]
    )
    url, arn = create_queue(emulator, f"work-{uuid.uuid4().hex[:8]}")
    send(emulator, url, "a")
    denials_before = len(emulator.iam.denials)
    # WHEN its mapping is polled
    poller.add_mapping(sqs_mapping(arn, fn.arn))

    def receive_denied():
        return [
            denial
            for denial in emulator.iam.denials[denials_before:]
            if denial.action == "sqs:ReceiveMessage" and denial.resource == arn
        ]

    # THEN Lambda's receive is denied as that role, and the message is never delivered
    [denial, *_] = wait_for(receive_denied, what="the poller's receive being denied")
    assert f"/{fn.name}" in denial.principal
    assert fn.records() == []


def test_stopping_asks_every_mappings_loop_to_stop_before_waiting_for_any(emulator, deploy, monkeypatch):
    # GIVEN a running poller with three mappings, each loop long-polling its empty queue
    fn = deploy(PARTIAL)
    poller = SqsEventSourcePoller(emulator.lambda_runtime)
    for _ in range(3):
        _, arn = create_queue(emulator, f"idle-{uuid.uuid4().hex[:8]}")
        poller.add_mapping(sqs_mapping(arn, fn.arn))
    poller.start()
    asked: set[int] = set()
    asked_when_waited: list[int] = []
    request_stop, stop = _MappingWorker.request_stop, _MappingWorker.stop

    def recording_request_stop(worker):
        asked.add(id(worker))
        request_stop(worker)

    def recording_stop(worker):
        asked_when_waited.append(len(asked))
        stop(worker)

    monkeypatch.setattr(_MappingWorker, "request_stop", recording_request_stop)
    monkeypatch.setattr(_MappingWorker, "stop", recording_stop)
    # WHEN the poller stops
    poller.stop()
    # THEN it waited for each loop only once all three were asked: their long polls end together
    assert asked_when_waited == [3, 3, 3]
