"""HttpGateway: payload 2.0 events and responses as API Gateway v2 / function URLs produce them."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.deployment import FunctionUrlDeployment, HttpApiDeployment, RouteIntegration
from localcloud.gateway import HttpGateway, map_lambda_result, match_route

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


@pytest.fixture(scope="module")
def queue_url(moto_clients: Callable[[str, str], Any]) -> str:
    return str(moto_clients("sqs", REGION).create_queue(QueueName="gateway-ingest")["QueueUrl"])


@pytest.fixture(scope="module")
def fake_lambda() -> FakeLambda:
    return FakeLambda()


@pytest.fixture(scope="module")
def gateway(
    fake_lambda: FakeLambda, moto_clients: Callable[[str, str], Any], queue_url: str
) -> Iterator[HttpGateway]:
    with HttpGateway(invoke=fake_lambda, client_factory=moto_clients) as running:
        base = running.base_url
        api = HttpApiDeployment(
            api_id="abc123", name="api", region=REGION, account_id=ACCOUNT, endpoint=f"{base}/apis/abc123"
        )
        api.integrations = {
            "i-upload": RouteIntegration(
                integration_id="i-upload", integration_type="AWS_PROXY", function_arn=UPLOAD_ARN
            ),
            "i-status": RouteIntegration(
                integration_id="i-status", integration_type="AWS_PROXY", function_arn=STATUS_ARN
            ),
            "i-fail": RouteIntegration(
                integration_id="i-fail", integration_type="AWS_PROXY", function_arn=FAILING_ARN
            ),
            "i-sqs": RouteIntegration(
                integration_id="i-sqs",
                integration_type="AWS_PROXY",
                integration_subtype="SQS-SendMessage",
                credentials_arn=f"arn:aws:iam::{ACCOUNT}:role/apigw-sqs",
                request_parameters={"QueueUrl": queue_url, "MessageBody": "$request.body"},
            ),
        }
        api.routes = {
            "POST /upload": "i-upload",
            "GET /uploads/{id}": "i-status",
            "GET /uploads/latest": "i-upload",
            "GET /files/{proxy+}": "i-status",
            "POST /fail": "i-fail",
            "POST /events": "i-sqs",
        }
        api.stages = ["$default"]
        running.deployment.http_apis["abc123"] = api
        running.deployment.function_urls[f"{REGION}/upload"] = FunctionUrlDeployment(
            function_name="upload",
            function_arn=UPLOAD_ARN,
            region=REGION,
            account_id=ACCOUNT,
            url=f"{base}/lambda-url/{REGION}/upload/",
            url_id=f"{REGION}/upload",
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


def test_binary_post_arrives_base64_with_the_aws_event_fields(
    gateway: HttpGateway, fake_lambda: FakeLambda
) -> None:
    payload = bytes(range(256))
    status, headers, body = request(
        gateway,
        "POST",
        "/apis/abc123/upload?a=1&b=2&a=3",
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
        "abc123",
        ACCOUNT,
        "POST /upload",
    )
    assert context["requestId"] == headers["apigw-requestid"]
    assert isinstance(context["timeEpoch"], int)


def test_textual_body_is_passed_as_text(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    request(
        gateway,
        "POST",
        "/apis/abc123/upload",
        b"<a>1</a>",
        {"Content-Type": "application/xml; charset=utf-8"},
    )
    event = fake_lambda.last_event
    assert (event["body"], event["isBase64Encoded"]) == ("<a>1</a>", False)


def test_path_parameters_and_route_priority(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    request(gateway, "GET", "/apis/abc123/uploads/u%2042")
    assert fake_lambda.last_event["routeKey"] == "GET /uploads/{id}"
    assert fake_lambda.last_event["pathParameters"] == {"id": "u 42"}
    request(gateway, "GET", "/apis/abc123/uploads/latest")  # exact beats {id}
    assert fake_lambda.last_event["routeKey"] == "GET /uploads/latest"
    request(gateway, "GET", "/apis/abc123/files/a/b/c.json")
    assert fake_lambda.last_event["pathParameters"] == {"proxy": "a/b/c.json"}


def test_route_matching_order() -> None:
    keys = ["GET /pets/{id}", "GET /pets/dog", "ANY /pets/{proxy+}", "GET /{proxy+}", "$default"]
    assert match_route(keys, "GET", "/pets/dog") == ("GET /pets/dog", {})
    assert match_route(keys, "GET", "/pets/cat") == ("GET /pets/{id}", {"id": "cat"})
    assert match_route(keys, "GET", "/pets/cat/toys") == ("GET /{proxy+}", {"proxy": "pets/cat/toys"})
    assert match_route(keys, "DELETE", "/pets/cat") == ("ANY /pets/{proxy+}", {"proxy": "cat"})
    assert match_route(keys, "POST", "/other") == ("$default", {})
    assert match_route(["GET /a"], "POST", "/a") is None


def test_not_found_cases(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    before = len(fake_lambda.events)
    for method, path in (
        ("GET", "/apis/abc123/nowhere"),
        ("DELETE", "/apis/abc123/upload"),  # path exists with another method: HTTP APIs answer 404
        ("GET", "/apis/unknown/upload"),
        ("GET", "/lambda-url/us-east-1/unknown/"),
        ("GET", "/"),
    ):
        status, headers, body = request(gateway, method, path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, path)
        assert headers["content-type"] == "application/json"
    assert len(fake_lambda.events) == before


def test_lambda_error_is_a_generic_500(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    fake_lambda.responses[FAILING_ARN] = Result(
        {"errorType": "ValueError", "errorMessage": "boom"}, "ValueError"
    )
    status, _, body = request(
        gateway, "POST", "/apis/abc123/fail", b"{}", {"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_body_over_10_mb_is_413(gateway: HttpGateway) -> None:
    status, _, body = request(gateway, "POST", "/apis/abc123/upload", b"x" * (10 * 1024 * 1024 + 1))
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


def test_full_response_reaches_the_client(gateway: HttpGateway, fake_lambda: FakeLambda) -> None:
    fake_lambda.responses[STATUS_ARN] = Result(
        {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "cookies": ["k=v"],
            "body": '{"s": 1}',
        }
    )
    status, headers, body = request(gateway, "GET", "/apis/abc123/uploads/1")
    assert (status, json.loads(body), headers["set-cookie"]) == (200, {"s": 1}, "k=v")


def test_sqs_send_message_integration(
    gateway: HttpGateway, moto_clients: Callable[[str, str], Any], queue_url: str
) -> None:
    status, _, body = request(
        gateway, "POST", "/apis/abc123/events", b'{"event": 1}', {"Content-Type": "application/json"}
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
