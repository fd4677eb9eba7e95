"""HttpGateway: payload 2.0 events and responses as API Gateway v2 / function URLs produce them.

HTTP APIs' routes and function URLs come from the emulator (here a plain moto server), created through its
API as any client would create them; the gateway's record only says where an HTTP API is served."""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.apigateway.http import match_route
from localcloud.services.apigateway.http_api import map_lambda_result

REGION = "us-east-1"
ACCOUNT = "123456789012"
UPLOAD_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:upload"
STATUS_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:status"
FAILING_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:failing"


@dataclass
class Result:
    payload: Any
    error_type: str | None = None


@dataclass
class FakeLambda:
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    responses: dict[str, Result] = field(default_factory=dict)

    def __call__(self, function_arn: str, region: str, event: dict[str, Any]) -> Result:
        self.events.append((function_arn, region, event))
        return self.responses.get(function_arn, Result({"statusCode": 201, "body": "ok"}))

    @property
    def last_event(self) -> dict[str, Any]:
        return self.events[-1][2]


@dataclass
class FakePolicies:
    """The functions' resource policies as the gateway asks about them: everything allowed unless refused."""

    asked: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    refused: set[tuple[str, str]] = field(default_factory=set)  # (function ARN, action)

    def __call__(
        self,
        function_arn: str,
        region: str,
        principal: str,
        action: str,
        source_arn: str | None,
        context: dict,
    ) -> bool:
        self.asked.append((function_arn, principal, action, source_arn))
        return (function_arn, action) not in self.refused


@pytest.fixture(scope="module")
def policies() -> FakePolicies:
    return FakePolicies()


@pytest.fixture(scope="module")
def queue_url(moto_clients: Callable[[str, str], Any]) -> str:
    return str(moto_clients("sqs", REGION).create_queue(QueueName="gateway-ingest")["QueueUrl"])


@pytest.fixture(scope="module")
def fake_lambda() -> FakeLambda:
    return FakeLambda()


@pytest.fixture(scope="module")
def upload_function_url(moto_clients: Callable[[str, str], Any]) -> str:
    """The function `upload` with a function URL, created through the Lambda API (never invoked: the
    gateway's invoke is the fake)."""
    role = moto_clients("iam", REGION).create_role(
        RoleName="upload-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    aws_lambda = moto_clients("lambda", REGION)
    aws_lambda.create_function(
        FunctionName="upload",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
    )
    return str(aws_lambda.create_function_url_config(FunctionName="upload", AuthType="NONE")["FunctionArn"])


@pytest.fixture(scope="module")
def http_api_id(moto_clients: Callable[[str, str], Any], queue_url: str) -> str:
    """An HTTP API created through the API Gateway v2 API: its routes are what the gateway serves."""
    apigatewayv2 = moto_clients("apigatewayv2", REGION)
    api_id = str(apigatewayv2.create_api(Name="api", ProtocolType="HTTP")["ApiId"])

    def lambda_proxy(function_arn: str) -> str:
        return str(
            apigatewayv2.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
                PayloadFormatVersion="2.0",
            )["IntegrationId"]
        )

    upload, status, failing = lambda_proxy(UPLOAD_ARN), lambda_proxy(STATUS_ARN), lambda_proxy(FAILING_ARN)
    sqs = apigatewayv2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationSubtype="SQS-SendMessage",
        CredentialsArn=f"arn:aws:iam::{ACCOUNT}:role/apigw-sqs",
        RequestParameters={"QueueUrl": queue_url, "MessageBody": "$request.body"},
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    routes = {
        "POST /upload": upload,
        "GET /uploads/{id}": status,
        "GET /uploads/latest": upload,
        "GET /files/{proxy+}": status,
        "POST /fail": failing,
        "POST /events": sqs,
    }
    for route_key, integration_id in routes.items():
        apigatewayv2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration_id}")
    apigatewayv2.create_stage(ApiId=api_id, StageName="$default")
    return api_id


@pytest.fixture(scope="module")
def gateway(
    fake_lambda: FakeLambda,
    policies: FakePolicies,
    moto_clients: Callable[[str, str], Any],
    http_api_id: str,
    upload_function_url: str,
) -> Iterator[HttpGateway]:
    assert upload_function_url == UPLOAD_ARN
    with HttpGateway(invoke=fake_lambda, may_invoke=policies, client_factory=moto_clients) as running:
        # Where the API is served from is all the provisioner records.
        running.apis.http_apis[http_api_id] = HttpApiEndpoint(
            api_id=http_api_id,
            name="api",
            region=REGION,
            account_id=ACCOUNT,
            endpoint=f"{running.base_url}/apis/{http_api_id}",
        )
        yield running


def request(
    gateway: HttpGateway,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_gateways_answers_are_not_held_for_the_clients_delayed_ack(gateway: HttpGateway) -> None:
    # GIVEN a connection accepted by the gateway's request handler (its client gone at once)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server_end, address = listener.accept()
        client.close()
        # WHEN the handler serves it
        gateway._server.RequestHandlerClass(server_end, address, gateway._server)
        # THEN Nagle's algorithm is off on the server's end: a response's body (its second write) leaves
        # at once instead of waiting for the client's delayed acknowledgement of the headers
        with server_end:
            assert server_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_binary_post_arrives_base64_with_the_aws_event_fields(
    gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str
) -> None:
    payload = bytes(range(256))
    status, headers, body = request(
        gateway,
        "POST",
        f"/apis/{http_api_id}/upload?a=1&b=2&a=3",
        payload,
        {
            "Content-Type": "application/octet-stream",
            "X-Trace": "t1",
            "Cookie": "s=1; theme=dark",
            "User-Agent": "ua/1",
        },
    )
    assert (status, body) == (201, b"ok")
    assert headers["apigw-requestid"]
    function_arn, region, event = fake_lambda.events[-1]
    assert (function_arn, region) == (UPLOAD_ARN, REGION)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /upload"
    assert event["rawPath"] == "/upload"
    assert event["rawQueryString"] == "a=1&b=2&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["cookies"] == ["s=1", "theme=dark"]
    assert event["headers"]["x-trace"] == "t1"
    assert "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    assert "pathParameters" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/upload",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua/1",
    }
    assert (context["stage"], context["apiId"], context["accountId"], context["routeKey"]) == (
        "$default",
        http_api_id,
        ACCOUNT,
        "POST /upload",
    )
    assert context["requestId"] == headers["apigw-requestid"]
    assert isinstance(context["timeEpoch"], int)


def test_textual_body_is_passed_as_text(
    gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str
) -> None:
    request(
        gateway,
        "POST",
        f"/apis/{http_api_id}/upload",
        b"<a>1</a>",
        {"Content-Type": "application/xml; charset=utf-8"},
    )
    event = fake_lambda.last_event
    assert (event["body"], event["isBase64Encoded"]) == ("<a>1</a>", False)


def test_path_parameters_and_route_priority(
    gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str
) -> None:
    request(gateway, "GET", f"/apis/{http_api_id}/uploads/u%2042")
    assert fake_lambda.last_event["routeKey"] == "GET /uploads/{id}"
    assert fake_lambda.last_event["pathParameters"] == {"id": "u 42"}
    request(gateway, "GET", f"/apis/{http_api_id}/uploads/latest")  # exact beats {id}
    assert fake_lambda.last_event["routeKey"] == "GET /uploads/latest"
    request(gateway, "GET", f"/apis/{http_api_id}/files/a/b/c.json")
    assert fake_lambda.last_event["pathParameters"] == {"proxy": "a/b/c.json"}


def test_route_matching_order() -> None:
    keys = ["GET /pets/{id}", "GET /pets/dog", "ANY /pets/{proxy+}", "GET /{proxy+}", "$default"]
    assert match_route(keys, "GET", "/pets/dog") == ("GET /pets/dog", {})
    assert match_route(keys, "GET", "/pets/cat") == ("GET /pets/{id}", {"id": "cat"})
    assert match_route(keys, "GET", "/pets/cat/toys") == ("GET /{proxy+}", {"proxy": "pets/cat/toys"})
    assert match_route(keys, "DELETE", "/pets/cat") == ("ANY /pets/{proxy+}", {"proxy": "cat"})
    assert match_route(keys, "POST", "/other") == ("$default", {})
    assert match_route(["GET /a"], "POST", "/a") is None


def test_not_found_cases(gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str) -> None:
    before = len(fake_lambda.events)
    for method, path in (
        ("GET", f"/apis/{http_api_id}/nowhere"),
        ("DELETE", f"/apis/{http_api_id}/upload"),  # path exists with another method: HTTP APIs answer 404
        ("GET", "/apis/unknown/upload"),
        ("GET", "/lambda-url/us-east-1/unknown/"),
        ("GET", "/"),
    ):
        status, headers, body = request(gateway, method, path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, path)
        assert headers["content-type"] == "application/json"
    assert len(fake_lambda.events) == before


def test_lambda_error_is_a_generic_500(
    gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str
) -> None:
    fake_lambda.responses[FAILING_ARN] = Result(
        {"errorType": "ValueError", "errorMessage": "boom"}, "ValueError"
    )
    status, _, body = request(
        gateway, "POST", f"/apis/{http_api_id}/fail", b"{}", {"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_body_over_10_mb_is_413(gateway: HttpGateway, http_api_id: str) -> None:
    status, _, body = request(gateway, "POST", f"/apis/{http_api_id}/upload", b"x" * (10 * 1024 * 1024 + 1))
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})


def test_lambda_result_mapping() -> None:
    simple = map_lambda_result({"ok": True})
    assert (simple.status, simple.body, simple.headers) == (
        200,
        b'{"ok": true}',
        [("Content-Type", "application/json")],
    )
    full = map_lambda_result(
        {
            "statusCode": 302,
            "headers": {"Location": "/x"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert full.status == 302
    assert full.body == b"\x00\x01"
    assert ("Set-Cookie", "a=1") in full.headers and ("Set-Cookie", "b=2") in full.headers
    assert ("Location", "/x") in full.headers


def test_full_response_reaches_the_client(
    gateway: HttpGateway, fake_lambda: FakeLambda, http_api_id: str
) -> None:
    fake_lambda.responses[STATUS_ARN] = Result(
        {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "cookies": ["k=v"],
            "body": '{"s": 1}',
        }
    )
    status, headers, body = request(gateway, "GET", f"/apis/{http_api_id}/uploads/1")
    assert (status, json.loads(body), headers["set-cookie"]) == (200, {"s": 1}, "k=v")


def test_sqs_send_message_integration(
    gateway: HttpGateway, moto_clients: Callable[[str, str], Any], queue_url: str, http_api_id: str
) -> None:
    status, _, body = request(
        gateway, "POST", f"/apis/{http_api_id}/events", b'{"event": 1}', {"Content-Type": "application/json"}
    )
    assert status == 200
    result = json.loads(body)["SendMessageResponse"]["SendMessageResult"]
    messages = moto_clients("sqs", REGION).receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert [(m["MessageId"], m["Body"]) for m in messages] == [(result["MessageId"], '{"event": 1}')]


def test_function_url_routing(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    status, _, body = request(
        gateway, "POST", f"/lambda-url/{REGION}/upload/upload?x=1", b"hello", {"Content-Type": "text/plain"}
    )
    assert (status, body) == (201, b"ok")
    function_arn, _, event = fake_lambda.events[-1]
    assert function_arn == UPLOAD_ARN
    assert (event["routeKey"], event["rawPath"], event["body"]) == ("$default", "/upload", "hello")
    assert event["requestContext"]["stage"] == "$default"
    assert event["queryStringParameters"] == {"x": "1"}
    request(gateway, "GET", f"/lambda-url/{REGION}/upload/")
    assert fake_lambda.last_event["rawPath"] == "/"


@pytest.mark.parametrize(("size_mb", "status"), [(4.4, 201), (4.6, 413)])
def test_a_binary_body_is_measured_as_lambda_measures_it_base64_inside_the_event(
    gateway: HttpGateway, fake_lambda: FakeLambda, size_mb: float, status: int
) -> None:
    # GIVEN a binary body under the function URL's 6 MB, which travels base64-encoded (4/3) in the event
    body = b"\x00" * int(size_mb * 1024 * 1024)
    before = len(fake_lambda.events)
    # WHEN it is posted THEN 4.4 MB (5.9 MB of event) is invoked and 4.6 MB (6.1 MB of event) is refused
    response_status, _, _ = request(
        gateway, "POST", f"/lambda-url/{REGION}/upload/", body, {"Content-Type": "application/octet-stream"}
    )
    assert response_status == status
    assert len(fake_lambda.events) == before + (1 if status == 201 else 0)


def test_an_http_api_route_runs_only_if_the_functions_policy_lets_api_gateway_invoke_it(
    gateway: HttpGateway, fake_lambda: FakeLambda, policies: FakePolicies, http_api_id: str
) -> None:
    # GIVEN the upload function's policy asked about for a request on its route
    request(gateway, "POST", f"/apis/{http_api_id}/upload", b"{}", {"Content-Type": "application/json"})
    function_arn, principal, action, source_arn = policies.asked[-1]
    # THEN API Gateway asks as itself, for this API, stage, method and path
    assert (function_arn, principal, action) == (
        UPLOAD_ARN,
        "apigateway.amazonaws.com",
        "lambda:InvokeFunction",
    )
    assert source_arn == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{http_api_id}/$default/POST/upload"
    # WHEN the policy refuses THEN the client gets API Gateway's 500 and the function never runs
    policies.refused.add((UPLOAD_ARN, "lambda:InvokeFunction"))
    before = len(fake_lambda.events)
    try:
        status, _, body = request(
            gateway, "POST", f"/apis/{http_api_id}/upload", b"{}", {"Content-Type": "application/json"}
        )
    finally:
        policies.refused.clear()
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert len(fake_lambda.events) == before


@pytest.mark.parametrize("refused_action", ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"])
def test_a_public_function_url_needs_both_url_permissions_or_answers_403(
    gateway: HttpGateway, fake_lambda: FakeLambda, policies: FakePolicies, refused_action: str
) -> None:
    policies.refused.add((UPLOAD_ARN, refused_action))
    before = len(fake_lambda.events)
    try:
        status, _, body = request(
            gateway, "POST", f"/lambda-url/{REGION}/upload/", b"hi", {"Content-Type": "text/plain"}
        )
    finally:
        policies.refused.clear()
    assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
    assert len(fake_lambda.events) == before
