"""A WebSocket API on the loopback gateway, as API Gateway serves one: $connect authorized with IAM (SigV4 on
the upgrade request, execute-api:Connect), the $connect/$disconnect integrations invoked with the WebSocket
event, and the Management API (@connections) delivering to the live socket, with IAM enforced."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from localcloud.core.emulator import Emulator
from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.apigateway.websocket import MAX_MESSAGE_BYTES
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, wait_for
from tests.unit.localcloud.services.apigateway.recording_lambda import RecordingLambda
from tests.unit.localcloud.services.apigateway.test_iam_authorization import producer

STAGE = "live"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:feed-connections"
INVOKE_URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"


@dataclass
class Feed:
    gateway: HttpGateway
    api_id: str
    functions: RecordingLambda

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.gateway.port}/apis/{self.api_id}/{STAGE}"

    def arn(self, resource: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{STAGE}/{resource}"

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.functions.events if e["requestContext"]["eventType"] == event_type]

    def management(self, credentials: Credentials) -> Any:
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://127.0.0.1:{self.gateway.port}/apis/{self.api_id}/{STAGE}",
            region_name=REGION,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            aws_session_token=credentials.token,
        )


@pytest.fixture(scope="module")
def feed(emulator: Emulator) -> Iterator[Feed]:
    """A WebSocket API: $connect (AWS_IAM) and $disconnect to one function, stage `live`."""
    apigatewayv2 = emulator.client("apigatewayv2", REGION)
    api_id = str(
        apigatewayv2.create_api(
            Name="feed", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
        )["ApiId"]
    )
    integration = apigatewayv2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationMethod="POST", IntegrationUri=INVOKE_URI
    )["IntegrationId"]
    for route_key, authorization in (("$connect", "AWS_IAM"), ("$disconnect", "NONE")):
        apigatewayv2.create_route(
            ApiId=api_id,
            RouteKey=route_key,
            Target=f"integrations/{integration}",
            AuthorizationType=authorization,
        )
    apigatewayv2.create_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=True)
    functions = RecordingLambda({"statusCode": 200})
    with HttpGateway(invoke=functions, may_invoke=lambda *_: True, client_factory=emulator.client) as gateway:
        gateway.apis.websocket_apis[api_id] = HttpApiEndpoint(
            api_id=api_id,
            name="feed",
            region=REGION,
            account_id=ACCOUNT_ID,
            endpoint=f"ws://127.0.0.1:{gateway.port}/apis/{api_id}",
        )
        yield Feed(gateway, api_id, functions)


@pytest.fixture(scope="module")
def subscriber(emulator: Emulator, feed: Feed) -> Credentials:
    return producer(
        emulator,
        [{"Effect": "Allow", "Action": "execute-api:Connect", "Resource": feed.arn("$connect")}],
    )


@pytest.fixture(scope="module")
def publisher(emulator: Emulator, feed: Feed) -> Credentials:
    return producer(
        emulator,
        [
            {
                "Effect": "Allow",
                "Action": "execute-api:ManageConnections",
                "Resource": feed.arn("*/@connections/*"),
            }
        ],
    )


def signed_headers(url: str, credentials: Credentials) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url.replace("ws://", "http://", 1))
    SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    return dict(request.headers.items())


def subscribe(feed: Feed, credentials: Credentials) -> ClientConnection:
    return connect(feed.url, additional_headers=signed_headers(feed.url, credentials), open_timeout=10)


def connection_id_of(feed: Feed, before: int) -> str:
    """The id API Gateway gave the connection that opened after `before` connects."""
    connects = wait_for(lambda: feed.events("CONNECT")[before:], what="the $connect integration")
    return str(connects[0]["requestContext"]["connectionId"])


def test_an_unsigned_connect_is_refused_403_and_no_integration_runs(feed: Feed) -> None:
    # GIVEN a feed whose $connect is AWS_IAM
    before = len(feed.functions.events)
    # WHEN a client connects without a signature
    with pytest.raises(InvalidStatus) as refused:
        connect(feed.url, open_timeout=10)
    # THEN API Gateway's 403, and nothing connected or ran
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body) == {"message": "Forbidden"}
    assert len(feed.functions.events) == before
    assert feed.gateway.websockets.connections(feed.api_id) == []


def test_a_signer_without_execute_api_connect_is_refused_403_naming_the_action(
    emulator: Emulator, feed: Feed
) -> None:
    # GIVEN a principal that may invoke routes but not connect
    outsider = producer(emulator, [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}])
    # WHEN it signs the upgrade request
    with pytest.raises(InvalidStatus) as refused:
        subscribe(feed, outsider)
    # THEN 403, naming the action and the $connect route's ARN
    assert refused.value.response.status_code == 403
    message = json.loads(refused.value.response.body)["message"]
    assert f"execute-api:Connect on resource: {feed.arn('$connect')}" in message


def test_a_signed_connect_runs_connect_with_the_callers_identity_and_receives_posts(
    feed: Feed, subscriber: Credentials, publisher: Credentials
) -> None:
    # GIVEN a subscriber allowed execute-api:Connect, connected with a SigV4-signed upgrade
    before = len(feed.events("CONNECT"))
    with subscribe(feed, subscriber) as client:
        connection_id = connection_id_of(feed, before)
        # THEN $connect got the WebSocket event with the signer's identity
        context = feed.events("CONNECT")[before]["requestContext"]
        assert (context["routeKey"], context["stage"], context["apiId"]) == ("$connect", STAGE, feed.api_id)
        assert context["identity"]["userArn"].startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/")
        # WHEN a publisher allowed ManageConnections posts to the connection
        management = feed.management(publisher)
        management.post_to_connection(ConnectionId=connection_id, Data=b'{"type": "accepted"}')
        # THEN the subscriber receives exactly that message
        assert json.loads(client.recv(timeout=10)) == {"type": "accepted"}
        # AND GetConnection describes it
        described = management.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"


def test_a_presigned_connect_url_is_accepted(feed: Feed, subscriber: Credentials) -> None:
    # GIVEN an upgrade URL signed in its query string (what a browser, which cannot set headers, sends)
    request = AWSRequest(method="GET", url=feed.url.replace("ws://", "http://", 1))
    SigV4QueryAuth(subscriber, "execute-api", REGION, expires=60).add_auth(request)
    # WHEN a client connects to it, THEN the connection opens
    with connect(str(request.url).replace("http://", "ws://", 1), open_timeout=10):
        assert wait_for(lambda: feed.gateway.websockets.connections(feed.api_id), what="the connection")


def test_a_publisher_without_manage_connections_is_refused_and_nothing_is_sent(
    emulator: Emulator, feed: Feed, subscriber: Credentials
) -> None:
    # GIVEN a live subscriber and a principal that may only connect
    before = len(feed.events("CONNECT"))
    with subscribe(feed, subscriber) as client:
        connection_id = connection_id_of(feed, before)
        # WHEN that principal posts
        with pytest.raises(ClientError, match="execute-api:ManageConnections") as refused:
            feed.management(subscriber).post_to_connection(ConnectionId=connection_id, Data=b"x")
        # THEN 403 naming execute-api:ManageConnections, and the subscriber receives nothing
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "execute-api:ManageConnections" in str(refused.value)
        with pytest.raises(TimeoutError):
            client.recv(timeout=0.2)


def test_delete_connection_closes_the_socket_runs_disconnect_and_later_posts_are_gone(
    feed: Feed, subscriber: Credentials, publisher: Credentials
) -> None:
    # GIVEN a live subscriber
    before = len(feed.events("CONNECT"))
    management = feed.management(publisher)
    with subscribe(feed, subscriber) as client:
        connection_id = connection_id_of(feed, before)
        # WHEN the publisher deletes the connection
        management.delete_connection(ConnectionId=connection_id)
        # THEN the client sees the socket close
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=10)
    # AND $disconnect ran for that connection
    wait_for(
        lambda: [
            e for e in feed.events("DISCONNECT") if e["requestContext"]["connectionId"] == connection_id
        ],
        what="the $disconnect integration",
    )
    # AND posting to it now answers GoneException (410)
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"late")


def test_a_connection_is_manageable_as_soon_as_the_clients_connect_returns(
    feed: Feed, subscriber: Credentials, publisher: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a gateway thread that stalls right after it sends an upgrade's 101 (as a loaded machine may)
    sent_101 = threading.Event()
    release = threading.Event()
    send = socket.socket.sendall

    def stalling_after_101(sock: socket.socket, data: Any, *args: Any) -> None:
        upgrade = bytes(data).startswith(b"HTTP/1.1 101")
        if upgrade:
            sent_101.set()  # before the client can hear it
        send(sock, data, *args)
        if upgrade:
            release.wait(10)

    monkeypatch.setattr(socket.socket, "sendall", stalling_after_101)
    before = len(feed.events("CONNECT"))
    try:
        # WHEN a client's connect returns while that thread still stalls
        with subscribe(feed, subscriber) as client:
            connection_id = connection_id_of(feed, before)
            assert sent_101.is_set() and not release.is_set()
            # THEN the gateway already holds the connection, so management calls find it
            live = [found.connection_id for found in feed.gateway.websockets.connections(feed.api_id)]
            assert connection_id in live
            release.set()
            # AND once the thread goes on, a post reaches the subscriber
            feed.management(publisher).post_to_connection(ConnectionId=connection_id, Data=b"first")
            assert client.recv(timeout=10) == "first"
    finally:
        release.set()


def test_a_client_that_closes_is_disconnected_and_forgotten(
    feed: Feed, subscriber: Credentials, publisher: Credentials
) -> None:
    # GIVEN a subscriber that connects, then closes its socket
    before = len(feed.events("CONNECT"))
    with subscribe(feed, subscriber):
        connection_id = connection_id_of(feed, before)
    # THEN $disconnect runs with the close code, and the connection is gone
    disconnects = wait_for(
        lambda: [
            e for e in feed.events("DISCONNECT") if e["requestContext"]["connectionId"] == connection_id
        ],
        what="the $disconnect integration",
    )
    assert disconnects[0]["requestContext"]["disconnectStatusCode"] == 1000
    with pytest.raises(feed.management(publisher).exceptions.GoneException):
        feed.management(publisher).get_connection(ConnectionId=connection_id)


def test_a_post_over_128_kb_is_refused_413(
    feed: Feed, subscriber: Credentials, publisher: Credentials
) -> None:
    before = len(feed.events("CONNECT"))
    with subscribe(feed, subscriber):
        connection_id = connection_id_of(feed, before)
        # WHEN one byte more than API Gateway's message limit is posted
        with pytest.raises(ClientError, match=r"\(PayloadTooLargeException\)") as refused:
            feed.management(publisher).post_to_connection(
                ConnectionId=connection_id, Data=b"x" * (MAX_MESSAGE_BYTES + 1)
            )
        # THEN PayloadTooLargeException (413)
        assert refused.value.response["Error"]["Code"] == "PayloadTooLargeException"


def test_a_connect_refused_by_the_integration_opens_nothing(feed: Feed, subscriber: Credentials) -> None:
    # GIVEN a $connect function that answers 403
    feed.functions.reply = {"statusCode": 403}
    try:
        # WHEN a permitted subscriber connects, THEN the upgrade is refused with that status
        with pytest.raises(InvalidStatus) as refused:
            subscribe(feed, subscriber)
        assert refused.value.response.status_code == 403
    finally:
        feed.functions.reply = {"statusCode": 200}
    assert feed.gateway.websockets.connections(feed.api_id) == []


def test_a_client_message_no_route_takes_is_answered_forbidden(feed: Feed, subscriber: Credentials) -> None:
    # GIVEN a feed with only $connect and $disconnect
    before = len(feed.events("CONNECT"))
    with subscribe(feed, subscriber) as client:
        connection_id = connection_id_of(feed, before)
        # WHEN the client sends a message
        client.send(json.dumps({"action": "subscribe"}))
        # THEN API Gateway's answer for an unrouted message comes back, and no function ran for it
        answer = json.loads(client.recv(timeout=10))
        assert (answer["message"], answer["connectionId"]) == ("Forbidden", connection_id)
        assert feed.events("MESSAGE") == []
