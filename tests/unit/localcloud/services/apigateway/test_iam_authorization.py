"""An HTTP API route with AWS_IAM authorization answers only SigV4-signed requests whose signer may invoke
it (execute-api:Invoke on the route's ARN), as API Gateway does; the caller reaches the function."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.emulator import Emulator
from localcloud.core.http_client import request
from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.iam.role_sessions import RoleSessions
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, Deployed, role_with
from tests.unit.localcloud.services.apigateway.recording_lambda import RecordingLambda

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:audit-ingest"


@dataclass
class Api:
    gateway: HttpGateway
    api_id: str
    functions: RecordingLambda

    def route_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/$default/{method}{path}"


@pytest.fixture(scope="module")
def api(emulator: Emulator) -> Iterator[Api]:
    """POST /audit (AWS_IAM), POST /open (no authorization), POST /people (a JWT authorizer)."""
    apigatewayv2 = emulator.client("apigatewayv2", REGION)
    api_id = str(apigatewayv2.create_api(Name="front-door", ProtocolType="HTTP")["ApiId"])
    integration = apigatewayv2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=FUNCTION_ARN,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    for route_key, authorization in (
        ("POST /audit", "AWS_IAM"),
        ("POST /open", "NONE"),
        ("POST /people", "JWT"),
    ):
        apigatewayv2.create_route(
            ApiId=api_id,
            RouteKey=route_key,
            Target=f"integrations/{integration}",
            AuthorizationType=authorization,
        )
    apigatewayv2.create_stage(ApiId=api_id, StageName="$default")
    functions = RecordingLambda({"statusCode": 202, "body": "accepted"})
    with HttpGateway(invoke=functions, may_invoke=lambda *_: True, client_factory=emulator.client) as gateway:
        gateway.apis.http_apis[api_id] = HttpApiEndpoint(
            api_id=api_id, name="front-door", region=REGION, account_id=ACCOUNT_ID, endpoint=""
        )
        yield Api(gateway, api_id, functions)


def producer(emulator: Emulator, statements: list[dict[str, Any]]) -> Credentials:
    """A machine producer: a role session with these statements."""
    session = RoleSessions(emulator.client).credentials(
        role_with(emulator, statements), "lambda.amazonaws.com", "producer"
    )
    return Credentials(
        session["AWS_ACCESS_KEY_ID"], session["AWS_SECRET_ACCESS_KEY"], session["AWS_SESSION_TOKEN"]
    )


def post(
    api: Api, path: str, body: bytes, *, signer: Credentials | None = None, signed_at: float | None = None
) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{api.gateway.port}/apis/{api.api_id}{path}"
    headers = {"Content-Type": "application/json"}
    if signer is not None:
        prepared = AWSRequest(method="POST", url=url, data=body, headers=headers)
        if signed_at is not None:
            # botocore signs "now"; a stale signature is one made as if at another time.
            prepared.context["timestamp"] = datetime.fromtimestamp(signed_at, UTC).strftime("%Y%m%dT%H%M%SZ")
            auth = SigV4Auth(signer, "execute-api", REGION)
            prepared.headers["X-Amz-Date"] = prepared.context["timestamp"]
            if signer.token:
                prepared.headers["X-Amz-Security-Token"] = signer.token
            canonical = auth.canonical_request(prepared)
            signature = auth.signature(auth.string_to_sign(prepared, canonical), prepared)
            signed_headers = auth.signed_headers(auth.headers_to_sign(prepared))
            prepared.headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={signer.access_key}/{auth.credential_scope(prepared)}, "
                f"SignedHeaders={signed_headers}, Signature={signature}"
            )
        else:
            SigV4Auth(signer, "execute-api", REGION).add_auth(prepared)
        headers = dict(prepared.headers.items())
    connection = http.client.HTTPConnection("127.0.0.1", api.gateway.port, timeout=10)
    try:
        connection.request("POST", url.split(str(api.gateway.port), 1)[1], body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {"text": raw.decode()}
    finally:
        connection.close()


def test_an_unsigned_request_to_an_iam_route_is_403_and_reaches_nothing(api: Api) -> None:
    before = len(api.functions.events)
    status, body = post(api, "/audit", b'{"event": "login"}')
    assert (status, body) == (403, {"message": "Forbidden"})
    assert len(api.functions.events) == before


def test_a_signer_allowed_to_invoke_the_route_reaches_the_function_as_itself(
    emulator: Emulator, api: Api
) -> None:
    # GIVEN a producer allowed execute-api:Invoke on POST /audit
    signer = producer(
        emulator,
        [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": api.route_arn("POST", "/audit")}],
    )
    # WHEN it posts, signed THEN the function runs, and the event names the caller as API Gateway does
    status, _ = post(api, "/audit", b'{"event": "login"}', signer=signer)
    assert status == 202
    caller = api.functions.events[-1]["requestContext"]["authorizer"]["iam"]
    assert caller["accessKey"] == signer.access_key
    assert ":assumed-role/" in caller["userArn"] and caller["userArn"].endswith("/producer")
    assert caller["accountId"] == ACCOUNT_ID


def test_a_signer_without_invoke_permission_on_the_route_is_403_naming_it(
    emulator: Emulator, api: Api
) -> None:
    signer = producer(
        emulator,
        [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": api.route_arn("POST", "/open")}],
    )
    before = len(api.functions.events)
    status, body = post(api, "/audit", b'{"event": "login"}', signer=signer)
    assert status == 403
    assert f"execute-api:Invoke on resource: {api.route_arn('POST', '/audit')}" in body["message"]
    assert len(api.functions.events) == before


def test_a_body_changed_after_signing_and_a_stale_signature_are_refused(emulator: Emulator, api: Api) -> None:
    signer = producer(emulator, [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}])
    before = len(api.functions.events)
    # GIVEN headers signed for one body WHEN another body is sent with them THEN the signature does not match
    url = f"http://127.0.0.1:{api.gateway.port}/apis/{api.api_id}/audit"
    signed = AWSRequest(
        method="POST", url=url, data=b'{"amount": 1}', headers={"Content-Type": "application/json"}
    )
    SigV4Auth(signer, "execute-api", REGION).add_auth(signed)
    connection = http.client.HTTPConnection("127.0.0.1", api.gateway.port, timeout=10)
    connection.request(
        "POST", f"/apis/{api.api_id}/audit", body=b'{"amount": 1000000}', headers=dict(signed.headers)
    )
    tampered = connection.getresponse()
    assert tampered.status == 403 and b"does not match" in tampered.read()
    connection.close()
    # AND a signature made 20 minutes ago is expired
    status, body = post(api, "/audit", b"{}", signer=signer, signed_at=time.time() - 20 * 60)
    assert status == 403 and "expired" in body["message"]
    assert len(api.functions.events) == before


def test_routes_without_authorization_stay_open_and_unverifiable_authorizers_fail_closed(api: Api) -> None:
    assert post(api, "/open", b"{}")[0] == 202
    assert post(api, "/people", b"{}") == (401, {"message": "Unauthorized"})


# ------------------------------------------------------------------------------ AWS_IAM function URLs
@dataclass
class IamFunctionUrl:
    gateway: HttpGateway
    url: str
    function_arn: str
    functions: RecordingLambda


@pytest.fixture
def iam_function_url(emulator: Emulator, deploy: Callable[..., Deployed]) -> Iterator[IamFunctionUrl]:
    """A function whose URL has auth type AWS_IAM (no resource policy: callers' own policies decide)."""
    function = deploy("def handler(event, context):\n    return {'statusCode': 202}\n")
    emulator.client("lambda", REGION).create_function_url_config(
        FunctionName=function.name, AuthType="AWS_IAM"
    )
    functions = RecordingLambda({"statusCode": 202, "body": "accepted"})
    with HttpGateway(
        invoke=functions, may_invoke=lambda *_: False, client_factory=emulator.client
    ) as gateway:
        yield IamFunctionUrl(
            gateway, f"{gateway.base_url}/lambda-url/{REGION}/{function.name}/audit", function.arn, functions
        )


def url_grants(function_arn: str) -> list[dict[str, Any]]:
    """What a caller of an AWS_IAM function URL needs (components/http_api.py grants the same)."""
    return [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": function_arn,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
        },
    ]


def post_to_url(url: str, signer: Credentials | None, service: str = "lambda") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if signer is not None:
        prepared = AWSRequest(method="POST", url=url, data=b"{}", headers=headers)
        SigV4Auth(signer, service, REGION).add_auth(prepared)
        headers = dict(prepared.headers.items())
    response = request("POST", url, body=b"{}", headers=headers)
    return response.status, response.json() if response.body.startswith(b"{") else response.body


def test_an_iam_function_url_runs_the_function_for_a_caller_allowed_both_invoke_actions(
    emulator: Emulator, iam_function_url: IamFunctionUrl
) -> None:
    # GIVEN a producer allowed InvokeFunctionUrl (auth type AWS_IAM) and InvokeFunction through the URL
    signer = producer(emulator, url_grants(iam_function_url.function_arn))
    # WHEN it posts, signed for lambda THEN the function runs, and sees the caller as Lambda passes it
    assert post_to_url(iam_function_url.url, signer)[0] == 202
    caller = iam_function_url.functions.events[-1]["requestContext"]["authorizer"]["iam"]
    assert caller["accessKey"] == signer.access_key and caller["userArn"].endswith("/producer")


@pytest.mark.parametrize(
    "granted",
    [[0], [1], []],
    ids=["without-invoke-function", "without-invoke-function-url", "without-either"],
)
def test_an_iam_function_url_refuses_unsigned_and_under_granted_callers(
    emulator: Emulator, iam_function_url: IamFunctionUrl, granted: list[int]
) -> None:
    grants = url_grants(iam_function_url.function_arn)
    signer = producer(
        emulator,
        [grants[index] for index in granted]
        or [grants[0] | {"Resource": "arn:aws:lambda:*:*:function:other"}],
    )
    assert post_to_url(iam_function_url.url, None) == (403, {"Message": "Forbidden"})
    assert post_to_url(iam_function_url.url, signer) == (403, {"Message": "Forbidden"})
    assert iam_function_url.functions.events == []


def test_an_iam_function_url_refuses_a_request_signed_for_another_service(
    emulator: Emulator, iam_function_url: IamFunctionUrl
) -> None:
    signer = producer(emulator, url_grants(iam_function_url.function_arn))
    assert post_to_url(iam_function_url.url, signer, service="execute-api")[0] == 403
    assert iam_function_url.functions.events == []


def test_a_signature_scoped_to_another_region_is_refused(emulator: Emulator, api: Api) -> None:
    # GIVEN a producer allowed to invoke the route WHEN it signs for another region than the API's
    signer = producer(emulator, [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}])
    url = f"http://127.0.0.1:{api.gateway.port}/apis/{api.api_id}/audit"
    prepared = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    SigV4Auth(signer, "execute-api", "ap-south-1").add_auth(prepared)
    before = len(api.functions.events)
    response = request("POST", url, body=b"{}", headers=dict(prepared.headers.items()))
    # THEN API Gateway refuses it, as it refuses a signature for another region's endpoint
    assert response.status == 403 and "region" in response.json()["message"]
    assert len(api.functions.events) == before


def test_localclouds_control_plane_keys_pass_an_iam_function_url_as_the_account(
    iam_function_url: IamFunctionUrl,
) -> None:
    # GIVEN the keys `up` prints for other tools (localcloud's control plane: allowed, not evaluated)
    control_plane = Credentials(DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY)
    # WHEN a request signed with them reaches an AWS_IAM function URL THEN it runs as the account's root
    # (it was a 500: no principal holds those keys)
    assert post_to_url(iam_function_url.url, control_plane)[0] == 202
    caller = iam_function_url.functions.events[-1]["requestContext"]["authorizer"]["iam"]
    assert caller["userArn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
