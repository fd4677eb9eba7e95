"""API Gateway REST APIs (v1) in localcloud: a Pulumi program provisioned into the emulator and served.

The program below declares exactly what ArtifactDistribution will: a validated POST /builds that sends
straight to SQS through a VTL template, plus a route whose template is outside the supported subset.
"""

from __future__ import annotations

import http.client
import json
import logging
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from localcloud.core.emulator import Emulator
from localcloud.core.program import run_program
from localcloud.core.provisioner import MotoProvisioner
from localcloud.services.apigateway.definitions import (
    RestApiDeployment,
    RestIntegration,
    RestMethod,
    RestResource,
    RestStage,
)
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.apigateway.validation import validate_body
from localcloud.services.apigateway.vtl import (
    TemplateContext,
    UnsupportedTemplateError,
    escape_javascript,
    render_template,
)
from tests.unit.localcloud.conftest import REGION
from tests.unit.localcloud.services.apigateway.recording_lambda import Invocation

COMMIT = "0123456789abcdef0123456789abcdef01234567"

PROGRAM = textwrap.dedent(
    """
    import json
    import pulumi
    import pulumi_aws as aws

    region = "eu-west-1"
    queue = aws.sqs.Queue("builds", region=region)
    role = aws.iam.Role(
        "apigw-sqs",
        assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )
    # API Gateway sends as the integration's role: it needs sqs:SendMessage on the queue.
    aws.iam.RolePolicy(
        "apigw-sqs-send", role=role.id,
        policy=queue.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}]})),
    )
    api = aws.apigateway.RestApi(
        "artifacts", region=region, endpoint_configuration={"types": "REGIONAL"}
    )
    builds = aws.apigateway.Resource(
        "builds", region=region, rest_api=api.id, parent_id=api.root_resource_id, path_part="builds"
    )
    model = aws.apigateway.Model(
        "build-request", region=region, rest_api=api.id, name="BuildRequest",
        content_type="application/json",
        schema=json.dumps({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "required": ["commit", "artifact"],
            "properties": {
                "commit": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
                "artifact": {"type": "string", "minLength": 1},
            },
            "additionalProperties": False,
        }),
    )
    validator = aws.apigateway.RequestValidator(
        "body", region=region, rest_api=api.id, name="body", validate_request_body=True
    )
    method = aws.apigateway.Method(
        "post-builds", region=region, rest_api=api.id, resource_id=builds.id, http_method="POST",
        authorization="NONE", request_validator_id=validator.id,
        request_models={"application/json": model.name},
    )
    template = ("Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
        "&MessageAttribute.1.Name=buildId&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=$context.requestId")
    uri = pulumi.Output.all(aws.get_caller_identity().account_id, queue.name).apply(
        lambda a: f"arn:aws:apigateway:{region}:sqs:path/{a[0]}/{a[1]}"
    )
    integration = aws.apigateway.Integration(
        "post-builds", region=region, rest_api=api.id, resource_id=builds.id,
        http_method=method.http_method, type="AWS", integration_http_method="POST", uri=uri,
        credentials=role.arn, passthrough_behavior="NEVER",
        request_parameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        request_templates={"application/json": template},
    )
    accepted = aws.apigateway.MethodResponse(
        "post-builds-202", region=region, rest_api=api.id, resource_id=builds.id,
        http_method=method.http_method, status_code="202",
    )
    rejected = aws.apigateway.MethodResponse(
        "post-builds-400", region=region, rest_api=api.id, resource_id=builds.id,
        http_method=method.http_method, status_code="400",
    )
    integration_response = aws.apigateway.IntegrationResponse(
        "post-builds-202", region=region, rest_api=api.id, resource_id=builds.id,
        http_method=method.http_method, status_code=accepted.status_code, selection_pattern="",
        response_templates={
            "application/json": '{"buildId": "$context.requestId", "status": "queued"}'
        },
        opts=pulumi.ResourceOptions(depends_on=[integration]),
    )
    bad_body = aws.apigateway.Response(
        "bad-body", region=region, rest_api_id=api.id, response_type="BAD_REQUEST_BODY",
        status_code="400",
        response_templates={"application/json":
            '{"error": "invalid_request", "message": "$context.error.validationErrorString"}'},
    )
    # A route whose template uses #set: outside localcloud's VTL subset, it must fail loudly.
    unsupported = aws.apigateway.Resource(
        "unsupported", region=region, rest_api=api.id, parent_id=api.root_resource_id,
        path_part="unsupported",
    )
    unsupported_method = aws.apigateway.Method(
        "post-unsupported", region=region, rest_api=api.id, resource_id=unsupported.id,
        http_method="POST", authorization="NONE",
    )
    unsupported_integration = aws.apigateway.Integration(
        "post-unsupported", region=region, rest_api=api.id, resource_id=unsupported.id,
        http_method=unsupported_method.http_method, type="AWS", integration_http_method="POST",
        uri=uri, credentials=role.arn,
        request_parameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        request_templates={"application/json": "#set($b = $input.body)Action=SendMessage&MessageBody=$b"},
    )
    deployment = aws.apigateway.Deployment(
        "artifacts", region=region, rest_api=api.id, description="builds",
        triggers={"redeploy": "1"},
        opts=pulumi.ResourceOptions(depends_on=[
            integration, integration_response, rejected, bad_body, unsupported_integration
        ]),
    )
    stage = aws.apigateway.Stage(
        "v1", region=region, rest_api=api.id, stage_name="v1", deployment=deployment.id
    )
    aws.apigateway.MethodSettings(
        "throttling", region=region, rest_api=api.id, stage_name=stage.stage_name, method_path="*/*",
        settings={"throttling_burst_limit": 50, "throttling_rate_limit": 100, "metrics_enabled": True},
    )
    pulumi.export("invokeUrl", stage.invoke_url)
    pulumi.export("queueUrl", queue.url)
    pulumi.export("apiId", api.id)
    pulumi.export("rootResourceId", api.root_resource_id)
    pulumi.export("executionArn", api.execution_arn)
    pulumi.export("apiArn", api.arn)
    pulumi.export("buildsPath", builds.path)
    pulumi.export("buildsId", builds.id)
    """
)


@dataclass
class Served:
    emulator: Emulator
    gateway: HttpGateway
    exports: dict[str, Any]

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        return self.request("POST", path, body, {"Content-Type": content_type})

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        invoke_url = urlsplit(self.exports["invokeUrl"])
        connection = http.client.HTTPConnection(invoke_url.hostname or "", invoke_url.port, timeout=10)
        try:
            connection.request(method, invoke_url.path + path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def queued(self) -> list[dict[str, Any]]:
        """Everything on the queue now (received and deleted; moto delivers sends synchronously)."""
        sqs = self.emulator.client("sqs", REGION)
        messages = sqs.receive_message(
            QueueUrl=self.exports["queueUrl"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=self.exports["queueUrl"], ReceiptHandle=message["ReceiptHandle"])
        return list(messages)


@pytest.fixture(scope="module")
def served(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = tmp_path_factory.mktemp("restapi-program")
    (project / "Pulumi.yaml").write_text("name: regionflow\nruntime: python\n")
    (project / "Pulumi.test.yaml").write_text(f"config:\n  aws:region: {REGION}\n")
    (project / "__main__.py").write_text(PROGRAM)
    runtime = emulator.lambda_runtime
    with HttpGateway(
        invoke=runtime.invoke, may_invoke=runtime.may_invoke, client_factory=emulator.client
    ) as gateway:
        provisioner = MotoProvisioner(
            emulator.client,
            default_region=REGION,
            gateway_base_url=gateway.base_url,
            deployment=gateway.deployment,
        )
        exports = run_program(provisioner, stack="test", project_dir=project)
        yield Served(emulator, gateway, exports)


# ------------------------------------------------------------------------------------- provisioning
def test_outputs_and_control_plane(served: Served) -> None:
    exports = served.exports
    api_id = exports["apiId"]
    assert exports["invokeUrl"] == f"{served.gateway.base_url}/restapis/{api_id}/v1"
    assert exports["executionArn"].startswith(f"arn:aws:execute-api:{REGION}:") and exports[
        "executionArn"
    ].endswith(f":{api_id}")
    assert exports["apiArn"] == f"arn:aws:apigateway:{REGION}::/restapis/{api_id}"
    assert exports["buildsPath"] == "/builds"
    apigateway = served.emulator.client("apigateway", REGION)
    assert apigateway.get_rest_api(restApiId=api_id)["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=api_id)["items"]}
    assert resources["/"]["id"] == exports["rootResourceId"]
    method = apigateway.get_method(restApiId=api_id, resourceId=exports["buildsId"], httpMethod="POST")
    assert method["requestModels"] == {"application/json": "BuildRequest"}
    assert method["methodIntegration"]["passthroughBehavior"] == "NEVER"
    stage = apigateway.get_stage(restApiId=api_id, stageName="v1")
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    recorded = served.gateway.apis.rest_apis[api_id]
    assert recorded.stages["v1"].method_settings["*/*"]["throttlingRateLimit"] == 100


# ------------------------------------------------------------------------------------------ serving
def test_valid_post_is_queued_with_the_request_id(served: Served) -> None:
    body = {"commit": COMMIT, "artifact": "app.tar.gz"}
    status, raw = served.post("/builds", json.dumps(body).encode())
    assert status == 202, raw
    answer = json.loads(raw)
    assert answer["status"] == "queued"
    (message,) = served.queued()
    assert json.loads(message["Body"]) == body
    assert message["MessageAttributes"]["buildId"] == {"StringValue": answer["buildId"], "DataType": "String"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (json.dumps({"artifact": "a"}).encode(), 'object has missing required properties (["commit"])'),
        (json.dumps({"commit": "nothex", "artifact": "a"}).encode(), 'ECMA 262 regex "^[0-9a-f]{40}$"'),
        (b"not json", "Invalid JSON"),
    ],
    ids=["missing-commit", "bad-commit", "not-json"],
)
def test_invalid_bodies_get_the_program_error_and_queue_nothing(
    served: Served, body: bytes, fragment: str
) -> None:
    status, raw = served.post("/builds", body)
    assert status == 400, raw
    answer = json.loads(raw)  # the rendered validationErrorString keeps the body valid JSON
    assert answer["error"] == "invalid_request"
    assert fragment in answer["message"]
    assert served.queued() == []


def test_unmatched_content_type_is_refused_by_passthrough_never(served: Served) -> None:
    status, raw = served.post("/builds", b"commit=x", content_type="text/plain")
    assert (status, json.loads(raw)) == (415, {"message": "Unsupported Media Type"})
    assert served.queued() == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/nowhere"), ("GET", "/builds"), ("POST", "/")])
def test_unknown_routes_answer_missing_authentication_token(served: Served, method: str, path: str) -> None:
    status, raw = served.request(method, path)
    assert (status, json.loads(raw)) == (403, {"message": "Missing Authentication Token"})


def test_unknown_stage_answers_403(served: Served) -> None:
    invoke_url = served.exports["invokeUrl"]
    connection = http.client.HTTPConnection("127.0.0.1", served.gateway.port, timeout=10)
    connection.request("POST", urlsplit(invoke_url).path.replace("/v1", "/v9") + "/builds", body=b"{}")
    response = connection.getresponse()
    assert response.status == 403
    connection.close()


def test_unsupported_vtl_fails_loudly(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="localcloud.services.apigateway.rest_api"):
        status, raw = served.post("/unsupported", b"{}")
    assert (status, json.loads(raw)) == (500, {"message": "Internal server error"})
    assert any("#set" in record.getMessage() for record in caplog.records), caplog.text
    assert served.queued() == []


# ------------------------------------------------------------------------- Lambda proxy (payload 1.0)
def test_lambda_proxy_event_and_response(emulator: Emulator) -> None:
    events: list[dict[str, Any]] = []
    asked: list[tuple[str, str, str, str | None]] = []

    def invoke(function_arn: str, region: str, event: dict[str, Any]) -> Invocation:
        events.append(event)
        return Invocation({"statusCode": 201, "headers": {"X-Id": "1"}, "body": "made"})

    def may_invoke(
        function_arn: str, region: str, principal: str, action: str, source_arn: str | None, context: dict
    ) -> bool:
        asked.append((function_arn, principal, action, source_arn))
        return True

    function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:items"
    with HttpGateway(invoke=invoke, may_invoke=may_invoke, client_factory=emulator.client) as gateway:
        api = RestApiDeployment(
            api_id="proxy1",
            name="proxy",
            region=REGION,
            account_id="123456789012",
            root_resource_id="root",
            endpoint=f"{gateway.base_url}/restapis/proxy1",
        )
        definition = api.definition
        definition.resources = {
            "root": RestResource(resource_id="root", path="/"),
            "item": RestResource(resource_id="item", path="/items/{id}"),
        }
        definition.methods[("item", "ANY")] = RestMethod(resource_id="item", http_method="ANY")
        definition.integrations[("item", "ANY")] = RestIntegration(
            resource_id="item",
            http_method="ANY",
            integration_type="AWS_PROXY",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        )
        api.snapshot("d1")
        api.stages["prod"] = RestStage(name="prod", deployment_id="d1", variables={"tier": "gold"})
        gateway.apis.rest_apis["proxy1"] = api
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        connection.request("PUT", "/restapis/proxy1/prod/items/42?a=1&a=2", body=b'{"x":1}')
        response = connection.getresponse()
        assert (response.status, response.read(), response.getheader("X-Id")) == (201, b"made", "1")
        connection.close()
    # API Gateway asked the function's policy as itself, for this API, stage, method and path
    assert asked == [
        (
            function_arn,
            "apigateway.amazonaws.com",
            "lambda:InvokeFunction",
            f"arn:aws:execute-api:{REGION}:123456789012:proxy1/prod/PUT/items/42",
        )
    ]
    (event,) = events
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["stageVariables"] == {"tier": "gold"}
    assert event["body"] == '{"x":1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["stage"], context["resourcePath"], context["apiId"]) == ("prod", "/items/{id}", "proxy1")
    assert context["identity"]["sourceIp"] == "127.0.0.1"


# --------------------------------------------------------------------------------- pure: VTL subset
def _ctx(body: str = '{"a": {"b": "x y"}, "n": 3, "list": [1, 2]}') -> TemplateContext:
    return TemplateContext(
        body=body,
        context={"requestId": "rid-1", "stage": "v1", "error": {"validationErrorString": None}},
        params={"path": {"id": "7"}, "querystring": {"q": "z"}, "header": {"X-Trace": "t"}},
        stage_variables={"env": "local"},
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Action=SendMessage&MessageBody=$util.urlEncode($input.body)", "Action=SendMessage&MessageBody="),
        ('{"id": "$context.requestId", "s": "${context.stage}"}', '{"id": "rid-1", "s": "v1"}'),
        ("$input.json('$.a')", '{"b":"x y"}'),
        ("$input.path('$.a.b')|$input.path('$.n')|$input.path('$.list[1]')", "x y|3|2"),
        ("$util.urlEncode($input.path('$.a.b'))", "x+y"),
        ("$util.urlEncode('a~b*c/é')", "a%7Eb*c%2F%C3%A9"),
        ("$util.base64Encode('hi')", "aGk="),
        ("$util.escapeJavaScript('it\"s/é')", 'it\\"s\\/\\u00E9'),
        ("$input.params('id')$input.params('q')$input.params('x-trace')", "7zt"),
        ("$stageVariables.env costs $5 #1", "local costs $5 #1"),
        ("$input.path('$.missing')|$!input.path('$.missing')|", "$input.path('$.missing')||"),
        ("$context.error.validationErrorString", "$context.error.validationErrorString"),
    ],
)
def test_vtl_subset_renders_like_aws(template: str, expected: str) -> None:
    rendered = render_template(template, _ctx())
    if template.startswith("Action="):
        assert (
            rendered
            == expected
            + "%7B%22a%22%3A+%7B%22b%22%3A+%22x+y%22%7D%2C+%22n%22%3A+3%2C+%22list%22%3A+%5B1%2C+2%5D%7D"
        )
    else:
        assert rendered == expected


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("#set($x = 1)$x", "#set"),
        ("#if($input.body)yes#end", "#if"),
        ("#foreach($k in $input.path('$'))#end", "#foreach"),
        ("## note", "##"),
        ("$input.path('$.a')", "$input.path('$.a')"),  # a map would print as Java toString on AWS
        ("$util.parseJson($input.body)", "$util.parseJson"),
        ("$context.authorizer.principalId", "$context.authorizer.principalId"),
        ("$method.request", "$method.request"),
        ("$input.path('$..b')", "$..b"),
        ("\\$context.requestId", "escaped"),
    ],
)
def test_vtl_outside_the_subset_is_refused_by_name(template: str, named: str) -> None:
    with pytest.raises(UnsupportedTemplateError, match=None) as raised:
        render_template(template, _ctx())
    assert named in str(raised.value)


def test_escape_javascript_matches_commons_lang() -> None:
    assert escape_javascript("a'b\n\t\x01😀") == "a\\'b\\n\\t\\u0001\\uD83D\\uDE00"


def test_validation_messages_use_aws_wording() -> None:
    schema = json.dumps(
        {
            "type": "object",
            "required": ["commit", "artifact"],
            "properties": {
                "commit": {},
                "artifact": {},
                "n": {"type": "integer", "minimum": 1},
                "e": {"enum": ["a", "b"]},
            },
            "additionalProperties": False,
        }
    )
    assert validate_body(schema, "{}") == ['object has missing required properties (["commit","artifact"])']
    messages = validate_body(schema, json.dumps({"commit": 1, "artifact": 2, "n": 0, "e": "c", "z": 1}))
    assert 'object instance has properties which are not allowed by the schema: ["z"]' in messages
    assert 'instance value ("c") not found in enum (possible values: ["a","b"])' in messages
    assert "numeric instance is lower than the required minimum (minimum: 1, found: 0)" in messages
    assert validate_body(schema, json.dumps({"commit": "c", "artifact": "a"})) == []
    assert validate_body(schema, "[1")[0].startswith("Invalid JSON: ")
