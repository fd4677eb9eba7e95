"""A build request moved back from the DLQ is built once: redrive keeps its build id, not its message id.

Of the program's SQS queues with a DLQ, the builds queue is the one whose DLQ is drained by redrive: it
has no consumer of its own (it is alarmed), so an operator fixes the cause and moves the messages back to
the builds queue (SQS DLQ redrive, StartMessageMoveTask). Redrive sends each message again with the same
body and message attributes under a new message id. The build worker uploads build-<buildId>.zip at most
once (a check, then a conditional write), and the build id comes from the `buildId` attribute POST /builds
sets, which redrive keeps; had it been the message id, a redriven request whose build an earlier attempt
uploaded would be built again, and every new object version starts another distribution.

moto 5.2.5 has no StartMessageMoveTask, so the redrive is done as SQS does it: received from the DLQ,
sent to the source queue with the same body and attributes, deleted from the DLQ. Deliveries go through
localcloud's SQS event source (lambda_sqs_record, messages_to_delete): records and deletions as Lambda's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.artifacts import build_worker
from handlers.artifacts.build_keys import build_key, sanitise_build_id
from handlers.artifacts.contract import BUILD_ID_ATTRIBUTE
from localcloud.services.lambda_.event_sources.mapping import EventSourceMapping
from localcloud.services.lambda_.event_sources.sqs import lambda_sqs_record, messages_to_delete
from localcloud.services.lambda_.runtime import InvocationResult

from ..conftest import FakeLambdaContext
from .conftest import GLOBAL_BUCKET, HOME_REGION, ArtifactCloud

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

COMMIT = "3f9a2c17e4b8d05a6c1e2f3b4a5d6e7f8a9b0c1d"
# POST /builds names the build after API Gateway's request id (tests/events/artifacts_sqs_build_request.json).
BUILD_ID = "Jq3kqh8sIAMEVqg="
BUILD_KEY = build_key(sanitise_build_id(BUILD_ID))
MAX_RECEIVE_COUNT = 2  # receives before SQS moves a message to the DLQ (the component's default is 3)

# A delivery that fails in S3 publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@dataclass
class BuildQueues:
    """The builds queue and its DLQ in moto, and what Lambda's SQS event source does with them."""

    sqs: Any
    url: str
    dlq_url: str
    mapping: EventSourceMapping

    def post_build(self) -> None:
        """The message POST /builds puts on the queue: the client's JSON and the buildId attribute."""
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps({"commit": COMMIT, "branch": "main"}),
            MessageAttributes={BUILD_ID_ATTRIBUTE: {"DataType": "String", "StringValue": BUILD_ID}},
        )

    def receive(self, url: str) -> list[dict[str, Any]]:
        return list(
            self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        )

    def deliver(self, *, times_out: bool = False) -> list[dict[str, Any]]:
        """Receive a batch, invoke the worker with it and delete what Lambda would delete; the batch's
        messages. A delivery that `times_out` has run the worker but deletes nothing, as when the function
        is cut off after its work and before Lambda saw its answer."""
        messages = self.receive(self.url)
        if not messages:
            return []
        event = {"Records": [lambda_sqs_record(message, self.mapping) for message in messages]}
        payload = build_worker.lambda_handler(event, FakeLambdaContext())
        result = InvocationResult(
            payload=payload,
            error_type="Sandbox.Timedout" if times_out else None,
            error_message="Task timed out" if times_out else None,
            logs="",
        )
        deleted = messages_to_delete(messages, result, report_batch_item_failures=True)
        for message in messages:
            if message in deleted:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            else:
                # Its visibility timeout runs out: SQS makes it receivable again.
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return messages

    def dead_letters(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def redrive(self) -> None:
        """Move every DLQ message back to the builds queue as SQS redrive does: same body and message
        attributes, a new message id."""
        while messages := self.receive(self.dlq_url):
            for message in messages:
                self.sqs.send_message(
                    QueueUrl=self.url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes", {}),
                )
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def queues(cloud: ArtifactCloud) -> BuildQueues:
    """The builds queue and its DLQ (redrive after MAX_RECEIVE_COUNT receives), in the cloud's moto."""
    sqs = boto3.client("sqs", region_name=HOME_REGION)
    dlq_url = sqs.create_queue(QueueName="regionflow-artifacts-builds-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    url = sqs.create_queue(
        QueueName="regionflow-artifacts-builds", Attributes={"RedrivePolicy": json.dumps(policy)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = EventSourceMapping(
        uuid="builds",
        source_arn=arn,
        function_arn=f"arn:aws:lambda:{HOME_REGION}:123456789012:function:regionflow-build-worker",
        region=HOME_REGION,
        function_response_types=("ReportBatchItemFailures",),
    )
    return BuildQueues(sqs=sqs, url=url, dlq_url=dlq_url, mapping=mapping)


class S3Unavailable:
    """The worker's S3 client during an outage: every call answers 503."""

    def __getattr__(self, name: str) -> Any:
        def unavailable(**kwargs: Any) -> Any:
            operation = "".join(part.title() for part in name.split("_"))
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "Service Unavailable"}}, operation
            )

        return unavailable


def build_versions(cloud: ArtifactCloud) -> list[dict[str, Any]]:
    return cloud.versions(GLOBAL_BUCKET, BUILD_KEY)


def dead_letter_a_build(queues: BuildQueues, monkeypatch: pytest.MonkeyPatch, *, uploaded_first: bool) -> str:
    """Post a build request and fail each of its deliveries until SQS moves it to the DLQ; its message id.
    `uploaded_first`: the first delivery uploads the build and is then cut off (nothing acknowledged)."""
    queues.post_build()
    deliveries = [queues.deliver(times_out=True)] if uploaded_first else []
    with monkeypatch.context() as outage:
        bucket = build_worker.dependencies().bucket
        unavailable = build_worker.BuildDependencies(s3=cast("S3Client", S3Unavailable()), bucket=bucket)
        outage.setattr(build_worker, "dependencies", lambda: unavailable)
        while len(deliveries) < MAX_RECEIVE_COUNT:
            deliveries.append(queues.deliver())
    [message_id] = {message["MessageId"] for batch in deliveries for message in batch}
    # The next receive finds the message past maxReceiveCount: SQS moves it to the DLQ.
    assert queues.deliver() == [] and queues.dead_letters() == 1
    return str(message_id)


@pytest.mark.parametrize("uploaded_first", [False, True], ids=["never-built", "built-but-not-acknowledged"])
def test_a_redriven_build_request_is_built_exactly_once(
    cloud: ArtifactCloud, queues: BuildQueues, monkeypatch: pytest.MonkeyPatch, uploaded_first: bool
) -> None:
    # GIVEN a build request whose deliveries all failed (S3 unavailable), so that it sits in the DLQ; in
    # one case its first delivery had uploaded the build before being cut off
    original_id = dead_letter_a_build(queues, monkeypatch, uploaded_first=uploaded_first)
    assert len(build_versions(cloud)) == (1 if uploaded_first else 0)
    # WHEN S3 is back and an operator redrives the DLQ, and the worker consumes the message
    queues.redrive()
    [redriven] = queues.deliver()
    # THEN it is the same request under a new message id, and exactly one version of its build exists
    assert redriven["MessageId"] != original_id
    assert redriven["MessageAttributes"][BUILD_ID_ATTRIBUTE]["StringValue"] == BUILD_ID
    assert len(build_versions(cloud)) == 1
    # AND it was acknowledged: nothing is left in either queue
    assert queues.receive(queues.url) == [] and queues.dead_letters() == 0
    # WHEN SQS delivers the redriven message once more (delivery is at least once)
    record = lambda_sqs_record(redriven, queues.mapping)
    assert build_worker.lambda_handler({"Records": [record]}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    # THEN still one version of the build: one distribution starts
    assert len(build_versions(cloud)) == 1
