"""API Gateway calls a REST API's backends as AWS does: an SQS integration as its credentials role, a
Lambda proxy integration on the function's policy, or as its credentials role when it names one.

Each refusal answers the caller the way AWS does and is counted with the emulator's IAM decisions.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.core.emulator import Emulator
from localcloud.services.apigateway.definitions import (
    RestApiDeployment,
    RestIntegration,
    RestIntegrationResponse,
    RestMethod,
    RestResource,
    RestStage,
)
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.iam.enforcement import Denial
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, Deployed, create_queue, role_with

APIGATEWAY = "apigateway.amazonaws.com"
ASSUME_APIGATEWAY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": APIGATEWAY}, "Action": "sts:AssumeRole"}],
    }
)
# The program's QueueApi: SQS's 4xx/5xx answers become a 500 of its own, anything else is accepted.
ACCEPTED = RestIntegrationResponse(
    status_code="202", response_templates={"application/json": '{"queued": true}'}
)
QUEUE_ERROR = RestIntegrationResponse(
    status_code="500",
    selection_pattern=r"4\d{2}|5\d{2}",
    response_templates={"application/json": '{"error": "queue_unavailable"}'},
)
INTERNAL_SERVER_ERROR = {"message": "Internal server error"}
HANDLER = """
def handler(event, context):
    record(event["path"])
    return {"statusCode": 200, "body": "made"}
"""


@pytest.fixture(scope="module")
def gateway(emulator: Emulator) -> Iterator[HttpGateway]:
    runtime = emulator.lambda_runtime
    with HttpGateway(
        invoke=runtime.invoke, may_invoke=runtime.may_invoke, client_factory=emulator.client
    ) as running:
        yield running


def serve(gateway: HttpGateway, integration: RestIntegration, *responses: RestIntegrationResponse) -> str:
    """A REST API whose stage v1 serves POST /items with `integration`; its id."""
    api_id = f"api{uuid.uuid4().hex[:8]}"
    api = RestApiDeployment(
        api_id=api_id,
        name=api_id,
        region=REGION,
        account_id=ACCOUNT_ID,
        root_resource_id="root",
        endpoint=f"{gateway.base_url}/restapis/{api_id}",
    )
    definition = api.definition
    definition.resources = {
        "root": RestResource(resource_id="root", path="/"),
        "items": RestResource(resource_id="items", path="/items"),
    }
    definition.methods[("items", "POST")] = RestMethod(resource_id="items", http_method="POST")
    definition.integrations[("items", "POST")] = integration
    definition.integration_responses[("items", "POST")] = {
        response.status_code: response for response in responses
    }
    api.snapshot("d1")
    api.stages["v1"] = RestStage(name="v1", deployment_id="d1")
    with gateway.deployment.lock:
        gateway.apis.rest_apis[api_id] = api
    return api_id


def post(gateway: HttpGateway, api_id: str, body: bytes = b'{"build": 1}') -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(
            "POST", f"/restapis/{api_id}/v1/items", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if response.getheader(
            "Content-Type"
        ) == "application/json" else raw.decode()
    finally:
        connection.close()


def sqs_integration(queue_name: str, credentials: str | None) -> RestIntegration:
    return RestIntegration(
        resource_id="items",
        http_method="POST",
        integration_type="AWS",
        integration_http_method="POST",
        uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT_ID}/{queue_name}",
        credentials=credentials,
        request_parameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        request_templates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
        passthrough_behavior="NEVER",
    )


def lambda_integration(function_arn: str, credentials: str | None = None) -> RestIntegration:
    return RestIntegration(
        resource_id="items",
        http_method="POST",
        integration_type="AWS_PROXY",
        integration_http_method="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        credentials=credentials,
    )


def queued(emulator: Emulator, queue_url: str) -> list[str]:
    messages = emulator.client("sqs", REGION).receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [message["Body"] for message in messages.get("Messages", [])]


def denials_of(emulator: Emulator, matches: Callable[[Denial], bool]) -> list[Denial]:
    return [denial for denial in emulator.iam.denials if matches(denial)]


def session_of(role_arn: str) -> str:
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/BackplaneAssumeRoleSession"


# ---------------------------------------------------------------------------------- AWS integration: SQS
def test_a_rest_sqs_integration_sends_as_its_credentials_role(
    emulator: Emulator, gateway: HttpGateway
) -> None:
    # GIVEN an SQS integration whose role trusts API Gateway and may send to the queue
    name = f"builds-{uuid.uuid4().hex[:8]}"
    queue_url, queue_arn = create_queue(emulator, name)
    role = role_with(
        emulator,
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}],
        trust=ASSUME_APIGATEWAY,
    )
    api_id = serve(gateway, sqs_integration(name, role), ACCEPTED, QUEUE_ERROR)
    allowed_before = emulator.iam.decisions["allowed"]
    # WHEN a request arrives
    status, answer = post(gateway, api_id)
    # THEN it is queued and accepted, the send evaluated against the role, not waved through
    assert (status, answer) == (202, {"queued": True})
    assert queued(emulator, queue_url) == ['{"build": 1}']
    assert emulator.iam.decisions["allowed"] > allowed_before
    assert not denials_of(emulator, lambda denial: denial.principal == session_of(role))


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        ((ACCEPTED, QUEUE_ERROR), (500, {"error": "queue_unavailable"})),
        # Without a 4xx mapping SQS's refusal falls to the default response: AWS's own trap.
        ((ACCEPTED,), (202, {"queued": True})),
    ],
    ids=["4xx-mapped-to-500", "no-4xx-mapping"],
)
def test_a_rest_sqs_integration_without_send_permission_answers_500(
    emulator: Emulator,
    gateway: HttpGateway,
    responses: tuple[RestIntegrationResponse, ...],
    expected: tuple[int, dict[str, Any]],
) -> None:
    # GIVEN an SQS integration whose role trusts API Gateway but may not send to the queue
    name = f"builds-{uuid.uuid4().hex[:8]}"
    queue_url, queue_arn = create_queue(emulator, name)
    role = role_with(emulator, [], trust=ASSUME_APIGATEWAY)
    api_id = serve(gateway, sqs_integration(name, role), *responses)
    # WHEN a request arrives
    answer = post(gateway, api_id)
    # THEN SQS's AccessDenied is the backend's answer, mapped through the integration responses
    assert answer == expected
    assert queued(emulator, queue_url) == []
    # AND the denial names the role's session, the action and the queue
    [denial] = denials_of(emulator, lambda denial: denial.resource == queue_arn)
    assert (denial.principal, denial.action) == (session_of(role), "sqs:SendMessage")


@pytest.mark.parametrize("credentials", ["untrusting", "missing", None])
def test_a_rest_sqs_integration_whose_role_api_gateway_cannot_assume_answers_500(
    emulator: Emulator, gateway: HttpGateway, credentials: str | None
) -> None:
    # GIVEN an SQS integration whose role trusts Lambda only, does not exist, or is not named at all
    name = f"builds-{uuid.uuid4().hex[:8]}"
    queue_url, queue_arn = create_queue(emulator, name)
    send = [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
    role = {
        "untrusting": lambda: role_with(emulator, send),
        "missing": lambda: f"arn:aws:iam::{ACCOUNT_ID}:role/gone-{uuid.uuid4().hex[:8]}",
        None: lambda: None,
    }[credentials]()
    api_id = serve(gateway, sqs_integration(name, role), ACCEPTED, QUEUE_ERROR)
    # WHEN a request arrives
    answer = post(gateway, api_id)
    # THEN API Gateway's configuration error answers a plain 500 and nothing is queued
    assert answer == (500, INTERNAL_SERVER_ERROR)
    assert queued(emulator, queue_url) == []
    # AND API Gateway's refused AssumeRole is recorded
    assert denials_of(
        emulator,
        lambda denial: (
            (denial.principal, denial.action, denial.resource) == (APIGATEWAY, "sts:AssumeRole", role or "*")
        ),
    )


# ------------------------------------------------------------------------- AWS_PROXY integration: Lambda
def test_a_rest_lambda_proxy_runs_only_if_the_functions_policy_lets_api_gateway_invoke_it(
    emulator: Emulator, gateway: HttpGateway, deploy: Callable[..., Deployed]
) -> None:
    # GIVEN a Lambda proxy integration without credentials, to a function with no resource policy
    fn = deploy(HANDLER)
    api_id = serve(gateway, lambda_integration(fn.arn))
    # WHEN a request arrives THEN API Gateway answers 500 without running the function
    assert post(gateway, api_id) == (500, INTERNAL_SERVER_ERROR)
    assert fn.records() == []
    # AND the refusal is recorded against API Gateway and the function
    assert denials_of(
        emulator,
        lambda denial: (
            (denial.principal, denial.action, denial.resource)
            == (APIGATEWAY, "lambda:InvokeFunction", fn.arn)
        ),
    )
    # WHEN the function's policy lets API Gateway invoke it for this API's POSTs on /items
    emulator.client("lambda", REGION).add_permission(
        FunctionName=fn.name,
        StatementId="rest-api",
        Action="lambda:InvokeFunction",
        Principal=APIGATEWAY,
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/*/POST/items",
    )
    # THEN the request runs the function
    assert post(gateway, api_id) == (200, "made")
    assert fn.records() == ["/items"]


def test_a_rest_lambda_integration_with_credentials_invokes_as_its_role(
    emulator: Emulator, gateway: HttpGateway, deploy: Callable[..., Deployed]
) -> None:
    # GIVEN a Lambda proxy integration naming a role that may invoke the function (no resource policy)
    fn = deploy(HANDLER)
    invoke = [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn.arn}]
    role = role_with(emulator, invoke, trust=ASSUME_APIGATEWAY)
    api_id = serve(gateway, lambda_integration(fn.arn, credentials=role))
    # WHEN a request arrives THEN the function runs: the role's permission is what Lambda asks
    assert post(gateway, api_id) == (200, "made")
    assert fn.records() == ["/items"]


def test_a_rest_lambda_integration_whose_role_may_not_invoke_answers_500(
    emulator: Emulator, gateway: HttpGateway, deploy: Callable[..., Deployed]
) -> None:
    # GIVEN a Lambda proxy integration naming a role that trusts API Gateway but may not invoke
    fn = deploy(HANDLER)
    role = role_with(emulator, [], trust=ASSUME_APIGATEWAY)
    api_id = serve(gateway, lambda_integration(fn.arn, credentials=role))
    # WHEN a request arrives THEN API Gateway answers 500 and the function never runs
    assert post(gateway, api_id) == (500, INTERNAL_SERVER_ERROR)
    assert fn.records() == []
    # AND Lambda's refusal of the role's session is recorded
    [denial] = denials_of(emulator, lambda denial: denial.resource == fn.arn)
    assert (denial.principal, denial.action) == (session_of(role), "lambda:InvokeFunction")
