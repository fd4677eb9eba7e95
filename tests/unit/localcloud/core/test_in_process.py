"""The emulator's own clients are answered in-process, exactly as over HTTP: IAM, errors, bodies, headers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from botocore.httpsession import URLLib3Session

from localcloud.core import in_process
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, emulator_client
from localcloud.core.emulator import Emulator
from localcloud.services.iam.role_sessions import RoleSessions
from tests.unit.localcloud.conftest import REGION, role_with

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def http_client(emulator: Emulator, service: str) -> Any:
    """A client of the same endpoint built without localcloud's factory: it always goes over HTTP."""
    new_client: Callable[..., Any] = boto3.client  # boto3-stubs type it per literal service name
    return new_client(
        service,
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )


def sqs_client(endpoint: str) -> Any:
    """An SQS client of `endpoint` that tries once (the failure cases must not wait on retries)."""
    return boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        config=NO_RETRIES,
    )


@pytest.fixture
def no_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request that reaches botocore's HTTP session fails the test."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a request went over HTTP")

    monkeypatch.setattr(URLLib3Session, "send", refuse)


def test_the_emulators_own_client_is_answered_without_http(emulator: Emulator, no_http: None) -> None:
    # GIVEN the emulator's client for SQS, and HTTP made to fail
    sqs = emulator_client(emulator.endpoint_url, "sqs", REGION)
    name = f"q-{uuid.uuid4().hex[:8]}"
    # WHEN it creates a queue and sends to it
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    # THEN both were answered, and the message is there
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    assert [message["Body"] for message in received] == ["hello"]


def test_an_object_reads_back_the_same_in_process_and_over_http(emulator: Emulator) -> None:
    # GIVEN a bucket, and an object of 3 MB put in-process with metadata whose names hold '_' and '-'
    s3 = emulator_client(emulator.endpoint_url, "s3", REGION)
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    body = bytes(range(256)) * (3 * 4096)
    s3.put_object(
        Bucket=bucket, Key="dir/a b+c.bin", Body=body, Metadata={"my_key": "under", "plain-key": "dash"}
    )
    # WHEN it is read in-process and over HTTP
    inside = s3.get_object(Bucket=bucket, Key="dir/a b+c.bin")
    outside = http_client(emulator, "s3").get_object(Bucket=bucket, Key="dir/a b+c.bin")
    # THEN both give the same bytes, length and metadata, the underscored name kept as sent
    assert inside["Body"].read() == body == outside["Body"].read()
    assert inside["ContentLength"] == len(body) == outside["ContentLength"]
    assert inside["Metadata"] == {"my_key": "under", "plain-key": "dash"} == outside["Metadata"]


def test_an_error_is_the_same_service_error_in_process_as_over_http(emulator: Emulator) -> None:
    # GIVEN a bucket without the key asked for
    s3 = emulator_client(emulator.endpoint_url, "s3", REGION)
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # WHEN it is read in-process and over HTTP
    errors = []
    for client in (s3, http_client(emulator, "s3")):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            client.get_object(Bucket=bucket, Key="missing")
        errors.append(error.value.response)
    # THEN both are NoSuchKey with status 404
    assert [(e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) for e in errors] == [
        ("NoSuchKey", 404),
        ("NoSuchKey", 404),
    ]


def test_iam_decides_a_role_sessions_in_process_call(emulator: Emulator, no_http: None) -> None:
    # GIVEN a role allowed to list queues only, and an in-process client signing as its session
    role = role_with(emulator, [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}])
    session = RoleSessions(emulator.client).credentials(role, "lambda.amazonaws.com", "in-process")
    sqs = emulator_client(emulator.endpoint_url, "sqs", REGION, session)
    # WHEN it lists queues, then creates one
    sqs.list_queues()
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")
    # THEN the list is allowed and the create is denied naming the action, as over HTTP
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    assert "sqs:CreateQueue" in denied.value.response["Error"]["Message"]


def test_a_client_of_another_endpoint_goes_over_http(emulator: Emulator) -> None:
    # GIVEN a client attached for a port nothing serves in this process (the emulator serves another)
    client = in_process.attach(sqs_client("http://127.0.0.1:9"), "http://127.0.0.1:9")
    # WHEN it calls THEN it tried the socket (the connection is refused)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        client.list_queues()


def test_a_withdrawn_endpoints_clients_no_longer_reach_its_app() -> None:
    # GIVEN a client attached while an app served its endpoint, an app that answers every request
    def answering_app(environ: object, start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<ListQueuesResponse><ListQueuesResult/></ListQueuesResponse>"]

    endpoint = "http://127.0.0.1:9"
    in_process.serve(endpoint, answering_app)
    try:
        client = in_process.attach(sqs_client(endpoint), endpoint)
        client.list_queues()
    finally:
        # WHEN the endpoint is withdrawn (its emulator stopped)
        in_process.withdraw(endpoint)
    # THEN the client's next call goes to the socket, where nothing listens, not to the app
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        client.list_queues()


def test_an_app_error_is_a_500_and_is_logged_as_the_server_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN an endpoint served in-process by an app that raises
    def broken_app(environ: object, start_response: Callable[..., object]) -> list[bytes]:
        raise RuntimeError("the app broke")

    endpoint = "http://127.0.0.1:1"
    in_process.serve(endpoint, broken_app)
    try:
        client = in_process.attach(sqs_client(endpoint), endpoint)
        # WHEN a request reaches it
        with (
            caplog.at_level(logging.ERROR, logger="werkzeug"),
            pytest.raises(botocore.exceptions.ClientError) as error,
        ):
            client.list_queues()
    finally:
        in_process.withdraw(endpoint)
    # THEN the caller gets a 500, and the traceback is logged on werkzeug's logger
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "RuntimeError: the app broke" in caplog.text
