"""Fixtures for the active-active event handlers: this region's side of the system in moto.

The parent conftest (tests/unit/handlers/conftest.py) has set the fake AWS environment before any
handler module is imported. moto has no StartSyncExecution and no global table replication, so the API
tests drive a stand-in workflow (ProcessorWorkflow: the processor task run in-process, failures reported
as Step Functions reports them) or a canned one, and the other region's writes are put straight into
this region's table, as replication would.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from moto import mock_aws

from handlers.events import api, processor, repair
from handlers.events.event_item import EventItem
from samples import dynamodb_tables as tables

from ..conftest import FakeLambdaContext, load_event

REGION = "eu-west-1"
OTHER_REGION = "us-east-1"
ACCOUNT = "123456789012"
EVENTS_TABLE = "regionflow-events"
IDEMPOTENCY_TABLE = "regionflow-events-idempotency"
DLQ_NAME = "regionflow-events-dlq"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:regionflow-events-{REGION}"
MAX_CLOCK_SKEW_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024
# The sample event's item and client time (2024-06-01T10:00:00Z), as in tests/events/events_*.json.
EVENT_ID = "order-42"
T0 = 1717236000000
# The sample caller (an assumed role's session, as a Lambda or ECS producer signs) and the owner it writes
# as; another principal of the same account, an IAM user (its ARN is its owner).
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/order-service/producer-1"
OWNER = "arn:aws:sts::123456789012:assumed-role/order-service"
OTHER_PRINCIPAL = "arn:aws:iam::123456789012:user/other-producer"
HANDLER_MODULES: tuple[Any, ...] = (api, processor, repair)
# Kept before any test swaps api.dependencies for a stand-in (use_stepfunctions).
_CACHED_FACTORIES = (processor.dependencies, api.dependencies, repair.events_table)

_serializer = TypeSerializer()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _clear_cached_state() -> None:
    for factory in _CACHED_FACTORIES:
        factory.cache_clear()
    # Powertools Metrics instances share one metric set: drop what earlier tests' direct calls added.
    for module in HANDLER_MODULES:
        module.metrics.clear_metrics()


def event_document(
    *,
    id: str = EVENT_ID,
    data: str = '{"status": "packed"}',
    timestamp: int = T0,
    key: str | None = None,
) -> dict[str, Any]:
    """A POST /events body (and the workflow's `event`); a fresh idempotency key unless given."""
    return {"id": id, "data": data, "timestamp": timestamp, "idempotencyKey": key or str(uuid.uuid4())}


def tmf688_document(**change: Any) -> dict[str, Any]:
    """A valid TMF688 body (order-42 packed at T0, 2024-06-01T10:00:00Z); a None value drops the field."""
    document: dict[str, Any] = {
        "eventId": EVENT_ID,
        "eventTime": "2024-06-01T10:00:00.120Z",
        "eventType": "ProductOrderStateChangeEvent",
        "correlationId": "corr-1",
        "domain": "Commercial",
        "title": "Order 42 packed",
        "description": "The warehouse packed order 42",
        "priority": "Normal",
        "timeOccurred": "2024-06-01T10:00:00Z",
        "event": {"productOrder": {"id": "42", "state": "packed"}},
        **change,
    }
    return {name: value for name, value in document.items() if value is not None}


def rfc3339(milliseconds: int, offset: str) -> str:
    """The instant `milliseconds` (epoch ms) as an RFC 3339 date-time in `offset` ("Z" or +/-hh:mm)."""
    minutes = (
        0 if offset.upper() == "Z" else int(offset[0] + "1") * (int(offset[1:3]) * 60 + int(offset[4:6]))
    )
    moment = (EPOCH + timedelta(milliseconds=milliseconds)).astimezone(timezone(timedelta(minutes=minutes)))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{offset}"


def processor_input(document: dict[str, Any] | None = None, *, principal: str = PRINCIPAL) -> dict[str, Any]:
    """The workflow's input to the processor, built on tests/events/events_processor_input.json."""
    event = copy.deepcopy(load_event("events_processor_input.json"))
    if document is not None:
        event["event"] = document
    event["principal"] = principal
    return event


def item(
    *,
    data: str = '{"status": "packed"}',
    version: int = 1,
    region: str = REGION,
    timestamp: int = T0,
    key: str = "key-1",
    id: str = EVENT_ID,
    owner: str | None = OWNER,
) -> EventItem:
    return EventItem(
        id=id,
        data=data,
        version=version,
        last_updated_region=region,
        timestamp=timestamp,
        idempotency_key=key,
        owner=owner,
    )


def stream_record(
    old: EventItem | dict[str, Any], new: EventItem | dict[str, Any], *, sequence_number: str
) -> dict[str, Any]:
    """A MODIFY stream record replacing old with new (NEW_AND_OLD_IMAGES), built on
    tests/events/events_stream_modify.json; dicts are taken as raw item attributes."""
    record = copy.deepcopy(load_event("events_stream_modify.json")["Records"][0])

    def image(version: EventItem | dict[str, Any]) -> dict[str, Any]:
        attributes = version.to_item() if isinstance(version, EventItem) else version
        return {name: _serializer.serialize(value) for name, value in attributes.items()}

    record["dynamodb"]["OldImage"] = image(old)
    record["dynamodb"]["NewImage"] = image(new)
    record["dynamodb"]["Keys"] = {"Id": image(new)["Id"]}
    record["dynamodb"]["SequenceNumber"] = sequence_number
    return record


def emf_metrics(stdout: str) -> dict[str, list[float]]:
    """Metric name -> values, from the CloudWatch embedded-metric documents Powertools printed."""
    found: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


def log_records(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    """The log records whose message starts with `message` (Powertools' extra keys are attributes)."""
    return [record for record in caplog.records if record.getMessage().startswith(message)]


@dataclass
class EventsCloud:
    """This region's event table, idempotency table and DLQ in moto, with helpers to arrange and inspect."""

    dynamodb: Any  # resource
    sqs: Any
    dlq_url: str
    region: str = REGION

    @property
    def table(self) -> Any:
        return self.dynamodb.Table(EVENTS_TABLE)

    def put(self, version: EventItem) -> None:
        """Write a version straight into the table (a replicated or an earlier write)."""
        self.table.put_item(Item=version.to_item())

    def current(self, id: str = EVENT_ID) -> EventItem | None:
        found = self.table.get_item(Key={"Id": id}, ConsistentRead=True).get("Item")
        return EventItem.from_item(found) if found else None

    def items(self) -> list[dict[str, Any]]:
        return list(self.table.scan(ConsistentRead=True)["Items"])

    def idempotency_records(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.Table(IDEMPOTENCY_TABLE).scan(ConsistentRead=True)["Items"])

    def dlq_messages(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """(body, {attribute: value}) of every DLQ message, removed from the queue."""
        messages: list[tuple[dict[str, Any], dict[str, str]]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                attributes = {
                    name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()
                }
                messages.append((json.loads(message["Body"]), attributes))
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def events_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsCloud]:
    """The event table (real key schema, GSI, stream), the idempotency table, the DLQ, and the
    environment the ActiveActiveEvents component gives the functions in REGION."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        dynamodb.meta.client.create_table(**tables.events_table(EVENTS_TABLE))
        dynamodb.create_table(**tables.events_idempotency_table(IDEMPOTENCY_TABLE))
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
        env = {
            # Lambda sets both.
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "EVENTS_TABLE": EVENTS_TABLE,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "IDEMPOTENCY_TTL_SECONDS": "86400",
            "MAX_CLOCK_SKEW_SECONDS": str(MAX_CLOCK_SKEW_SECONDS),
            "STATE_MACHINE_ARN": STATE_MACHINE_ARN,
            "DLQ_URL": dlq_url,
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _clear_cached_state()
        yield EventsCloud(dynamodb=dynamodb, sqs=sqs, dlq_url=dlq_url)
        _clear_cached_state()


def execution_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:express:regionflow-events-{REGION}:{name}:{uuid.uuid4()}"


@dataclass
class ProcessorWorkflow:
    """A Step Functions client whose StartSyncExecution runs the processor task once, in-process, and
    answers as the EXPRESS workflow does: SUCCEEDED with the task's result as output, or FAILED with the
    task's error type as `error` and the Lambda error document as `cause`. (No retries and no DLQ: those
    are the workflow definition's, tested with it.)"""

    calls: list[dict[str, str]] = field(default_factory=list)

    def start_sync_execution(self, **request: str) -> dict[str, Any]:
        self.calls.append(request)
        answer = {
            "executionArn": execution_arn(request["name"]),
            "stateMachineArn": request["stateMachineArn"],
        }
        try:
            result = processor.lambda_handler(json.loads(request["input"]), FakeLambdaContext())
        except Exception as error:
            cause = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            return {**answer, "status": "FAILED", "error": type(error).__name__, "cause": json.dumps(cause)}
        return {**answer, "status": "SUCCEEDED", "output": json.dumps(result)}

    def only_input(self) -> dict[str, Any]:
        [call] = self.calls
        return dict(json.loads(call["input"]))


@dataclass
class CannedStepFunctions:
    """A Step Functions client whose StartSyncExecution raises `error` or answers `answer`."""

    answer: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    calls: list[dict[str, str]] = field(default_factory=list)

    def start_sync_execution(self, **request: str) -> dict[str, Any]:
        self.calls.append(request)
        if self.error is not None:
            raise self.error
        return {
            "executionArn": execution_arn(request["name"]),
            "stateMachineArn": request["stateMachineArn"],
            **self.answer,
        }


def events_post(
    body: dict[str, Any] | str, *, base64_encoded: bool = False, principal: str | None = PRINCIPAL
) -> dict[str, Any]:
    """POST /events as API Gateway v2 delivers it from the AWS_IAM route, signed by `principal`, built on
    tests/events/events_post.json; principal None: no authorizer block (an unauthenticated route)."""
    event = copy.deepcopy(load_event("events_post.json"))
    if principal is None:
        del event["requestContext"]["authorizer"]
    else:
        event["requestContext"]["authorizer"]["iam"]["userArn"] = principal
    text = json.dumps(body) if isinstance(body, dict) else body
    event["body"] = base64.b64encode(text.encode("utf-8")).decode("ascii") if base64_encoded else text
    event["isBase64Encoded"] = base64_encoded
    event["headers"]["content-length"] = str(len(text.encode("utf-8")))
    return event


def use_stepfunctions(monkeypatch: pytest.MonkeyPatch, stepfunctions: Any) -> None:
    """Point the API at a stand-in Step Functions client (moto has no StartSyncExecution)."""
    deps = api.dependencies()
    monkeypatch.setattr(
        api,
        "dependencies",
        lambda: api.ApiDependencies(stepfunctions=stepfunctions, sqs=deps.sqs, settings=deps.settings),
    )


def post(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) of the events API's reply."""
    response = api.lambda_handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}
