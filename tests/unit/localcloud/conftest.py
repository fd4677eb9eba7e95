"""Fixtures for localcloud's emulator tests: one real emulator per module and tiny deployed handlers."""

from __future__ import annotations

import functools
import io
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localcloud.core.emulator import Emulator
from localcloud.services.route53recoverycontrol import server as arc_server
from localcloud.services.route53recoverycontrol.models import ArcBackend
from localcloud.services.s3control import multi_region_access_points

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


# What an SQS event source mapping's poller needs of the function's role (Lambda reads as that role).
SQS_CONSUMER = {
    "Effect": "Allow",
    "Action": [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ],
    "Resource": f"arn:aws:sqs:{REGION}:123456789012:*",
}


@pytest.fixture(scope="module")
def role_arn(emulator: Emulator) -> str:
    """The role test functions share: it may consume this region's queues (for mappings) and nothing else."""
    return role_with(emulator, [SQS_CONSUMER])


def role_with(emulator: Emulator, statements: list[dict[str, Any]], trust: str = ASSUME_LAMBDA) -> str:
    """A new role (trusting Lambda unless told otherwise) whose one inline policy has these statements."""
    iam = emulator.client("iam", REGION)
    name = f"lambda-{uuid.uuid4().hex[:8]}"
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=document)
    return arn


@dataclass
class Deployed:
    name: str
    arn: str
    record_file: Path

    def records(self) -> list[Any]:
        """What the handler appended to its record file, one JSON value per invocation."""
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text().splitlines() if line]


def zip_source(source: str, module: str = "app") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
    return buffer.getvalue()


# Prepended to every test handler: `record(value)` appends one JSON line to RECORD_FILE.
RECORD_HELPER = """
import json as _json, os as _os
def record(value):
    with open(_os.environ["RECORD_FILE"], "a") as _f:
        _f.write(_json.dumps(value) + "\\n")
"""


@pytest.fixture
def deploy(emulator: Emulator, role_arn: str, tmp_path: Path) -> Callable[..., Deployed]:
    """Deploy a handler (`app.handler`) written inline; it can call record(...) to leave evidence."""

    def _deploy(
        source: str,
        *,
        timeout: int = 3,
        env: dict[str, str] | None = None,
        permissions: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Deployed:
        """permissions: the statements of the function's own role (IAM is enforced on its calls); without
        them it shares a role that may only consume queues."""
        name = f"fn-{uuid.uuid4().hex[:10]}"
        role = role_arn if permissions is None else role_with(emulator, permissions)
        record_file = tmp_path / f"{name}.jsonl"
        code = RECORD_HELPER + textwrap.dedent(source)
        response = emulator.client("lambda", REGION).create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_source(code)},
            Timeout=timeout,
            Environment={"Variables": {"RECORD_FILE": str(record_file), **(env or {})}},
            **extra,
        )
        return Deployed(name=name, arn=response["FunctionArn"], record_file=record_file)

    return _deploy


def wait_for(predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; fail the test with `what` if the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def create_table(emulator: Emulator) -> str:
    """A new on-demand table keyed by "pk" (a string) in REGION; its name."""
    name = f"table-{uuid.uuid4().hex[:8]}"
    emulator.client("dynamodb", REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"


def create_queue(emulator: Emulator, name: str, **attributes: str) -> tuple[str, str]:
    sqs = emulator.client("sqs", REGION)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(
    emulator: Emulator, queue_url: str, *, expected: int, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Receive (and delete) until `expected` messages arrived; fail on timeout."""
    sqs = emulator.client("sqs", REGION)
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        received.extend(messages)
    assert len(received) >= expected, f"only {len(received)} of {expected} messages arrived in {queue_url}"
    return received


@pytest.fixture(scope="module")
def moto_clients() -> Iterator[Callable[[str, str], Any]]:
    """A moto server with localcloud's own services for what moto lacks (Route 53 ARC, S3 Multi-Region
    Access Points) but none of its patches, and a (service, region) -> boto3 client factory for it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    arc_server.install(ArcBackend(f"http://{host}:{port}"))
    multi_region_access_points.install(multi_region_access_points.MultiRegionAccessPoints())

    # One client per service and region, as the emulator shares its own: the provisioner asks for one per
    # resource, and making each anew was a tenth of a stack's deployment here.
    @functools.cache
    def factory(service: str, region: str) -> Any:
        # boto3-stubs type boto3.client per literal service name; this one is a str
        new_client: Callable[..., Any] = boto3.client
        return new_client(
            service,
            region_name=region,
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    yield factory
    arc_server.uninstall()
    multi_region_access_points.uninstall()
    server.stop()
