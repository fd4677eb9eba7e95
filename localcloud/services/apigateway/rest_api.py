"""Serves API Gateway REST APIs (v1) recorded by the provisioner: routing, body validation, VTL mapping.

moto keeps only the control plane of REST APIs, so the gateway (gateway.py) hands requests for
`{base}/restapis/{api_id}/{stage}/<path>` here. A stage serves the snapshot its Deployment froze, as on AWS
(definitions.py).

Supported subset (anything else fails loudly: a 500 and a log line naming it, never a silent mis-render):
- Routing by resource path ({param}, {proxy+}) and method (ANY too); no match -> 403
  {"message":"Missing Authentication Token"} (the MISSING_AUTHENTICATION_TOKEN gateway response).
- Request validators: required method request parameters (header, querystring, path) and JSON bodies
  against the method's model for the request's content type (default application/json) with jsonschema
  Draft 4 (validation.py); like AWS, `$context.error.validationErrorString` is JSON-escaped (no
  surrounding quotes) so it can sit inside a JSON string in a template.
- Gateway responses: the program's template for the type (else DEFAULT_4XX / DEFAULT_5XX), else AWS's
  default body {"message": ...}; `gatewayresponse.header.X` from static 'values' only.
- Integration AWS to SQS (uri `...:sqs:path/<account>/<queue>` or `...:sqs:action/SendMessage`): request
  template selected by content type with the passthrough behaviour, rendered with the VTL subset of
  vtl.py; the form body (Action, MessageBody, MessageAttribute.N.*, DelaySeconds,
  MessageGroupId, MessageDeduplicationId) becomes an SQS SendMessage. The SQS answer is mapped through the
  integration responses as AWS does: selection patterns match the backend status code, else the default
  response (so an SQS error answers the default 2xx unless the program maps 4xx/5xx: AWS's own trap); a
  call that never reaches SQS -> 500 {"message": "Internal server error"}. SQS is called as the
  integration's `credentials` role (integration_roles.py): a role lacking sqs:SendMessage gets SQS's 403
  AccessDenied, mapped like any SQS answer; a role API Gateway cannot assume (or none) -> that 500.
- Integration AWS_PROXY to Lambda: payload format 1.0 event; a function error or malformed result -> 502.
  API Gateway invokes only if the function's policy lets apigateway.amazonaws.com invoke it for this API,
  stage, method and path, or, with `credentials`, as that role; else 500 {"message": "Internal server error"}.
- Method authorization AWS_IAM (iam_authorization.py): a SigV4 signer allowed execute-api:Invoke on the
  method, else 403 before validation; the signer fills `$context.identity` (userArn, accessKey, ...).
Not served: authorizers (the provisioner refuses them), API keys and usage plans, throttling
(MethodSettings are recorded only), caching, binary media types, MOCK/HTTP integrations, OpenAPI bodies.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from localcloud.core.clients import ClientFactory
from localcloud.services.apigateway.definitions import (
    MethodKey,
    RestApiDefinition,
    RestApiDeployment,
    RestIntegration,
    RestIntegrationResponse,
    RestMethod,
)
from localcloud.services.apigateway.http import (
    APIGATEWAY_PRINCIPAL,
    InvocationResult,
    Invoke,
    MayInvoke,
    Request,
    Response,
    function_arn_of,
    match_route,
)
from localcloud.services.apigateway.iam_authorization import AWS_IAM, IamCaller
from localcloud.services.apigateway.iam_authorization import authorize as authorize_iam
from localcloud.services.apigateway.integration_roles import IntegrationRoleError, IntegrationRoles
from localcloud.services.apigateway.validation import validate_body
from localcloud.services.apigateway.vtl import (
    TemplateContext,
    TemplateError,
    UnsupportedTemplateError,
    render_template,
)

logger = logging.getLogger(__name__)

JSON = "application/json"
_SQS_PATH_URI = re.compile(
    r"^arn:[^:]+:apigateway:(?P<region>[^:]+):sqs:path/(?P<account>\d+)/(?P<queue>[^/]+)$"
)
_SQS_ACTION_URI = re.compile(r"^arn:[^:]+:apigateway:(?P<region>[^:]+):sqs:action/(?P<action>\w+)$")
_CONTEXT_ERROR_KEYS = ("message", "messageString", "responseType", "validationErrorString")


# -------------------------------------------------------------------------------------- gateway responses
_DEFAULT_GATEWAY_RESPONSES: dict[str, tuple[int, str, str]] = {  # type -> (status, message, x-amzn-ErrorType)
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters", "BadRequestException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (500, "Internal server error", "InternalServerErrorException"),
}
_DEFAULT_GATEWAY_TEMPLATE = '{"message":$context.error.messageString}'


def _json_escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _static(value: str, where: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    raise UnsupportedTemplateError(f"{where} = {value!r} (only static 'values' are supported)")


def _pick_template(templates: dict[str, str], accept: str | None) -> tuple[str, str] | None:
    if not templates:
        return None
    for accepted in (accept or "").split(","):
        media = accepted.split(";", 1)[0].strip().lower()
        if media in templates:
            return media, templates[media]
    if JSON in templates:
        return JSON, templates[JSON]
    return next(iter(templates.items()))


# ------------------------------------------------------------------------------------------- serving
@dataclass
class _Call:
    """One request on its way through a stage: what the templates and responses need."""

    api: RestApiDeployment
    stage_variables: dict[str, str]
    definition: RestApiDefinition
    request: Request
    headers: dict[str, str]  # lower-case names
    context: dict[str, Any]
    params: dict[str, dict[str, str]]

    @property
    def request_id(self) -> str:
        return str(self.context["requestId"])

    def template_context(self, body: str) -> TemplateContext:
        return TemplateContext(
            body=body, context=self.context, params=self.params, stage_variables=self.stage_variables
        )

    def respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> Response:
        return Response(status, [*headers, ("x-amzn-RequestId", self.request_id)], body)

    def gateway_response(self, response_type: str, validation_error: str | None = None) -> Response:
        status, message, error_type = _DEFAULT_GATEWAY_RESPONSES[response_type]
        configured = self.definition.gateway_responses.get(response_type)
        fallback = self.definition.gateway_responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        if configured is not None and configured.status_code:
            status = int(configured.status_code)
        chosen = configured or fallback
        self.context["error"] = {
            "message": message,
            "messageString": json.dumps(message),
            "responseType": response_type,
            "validationErrorString": None if validation_error is None else _json_escaped(validation_error),
        }
        template = _pick_template(chosen.response_templates if chosen else {}, self.headers.get("accept"))
        content_type, text = template or (JSON, _DEFAULT_GATEWAY_TEMPLATE)
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", error_type)]
        try:
            body = render_template(text, self.template_context(self.request.body.decode(errors="replace")))
            for name, value in (chosen.response_parameters if chosen else {}).items():
                headers.append((name.removeprefix("gatewayresponse.header."), _static(value, name)))
        except TemplateError as error:
            logger.error("rest api %s: gateway response %s: %s", self.api.api_id, response_type, error)
            return self.respond(500, [("Content-Type", JSON)], b'{"message": "Internal server error"}')
        return self.respond(status, headers, body.encode())

    def internal_error(self, why: str) -> Response:
        logger.error(
            "rest api %s %s %s: %s", self.api.api_id, self.request.method, self.request.raw_path, why
        )
        return self.gateway_response("API_CONFIGURATION_ERROR")


def serve_rest_api(
    api: RestApiDeployment,
    rest: list[str],
    request: Request,
    *,
    invoke: Invoke,
    may_invoke: MayInvoke,
    client_factory: ClientFactory,
    roles: IntegrationRoles,
    lock: threading.RLock,
    now: float | None = None,
) -> Response:
    """Answer `request` for `{endpoint}/<rest...>`: rest[0] is the stage, the remainder the resource path.
    `client_factory` is the control plane (localcloud's own look-ups); backends are called as `roles`."""
    now = time.time() if now is None else now
    with lock:
        found = api.stage_definition(rest[0]) if rest else None
        stage_variables = dict(found[0].variables) if found else {}
    definition = found[1] if found else RestApiDefinition()
    stage = rest[0] if rest else ""
    path = "/" + "/".join(rest[1:])
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers[name.lower()] = f"{headers[name.lower()]},{value}" if name.lower() in headers else value
    keys: dict[str, MethodKey] = {}
    for resource_id, http_method in definition.methods:
        resource = definition.resources.get(resource_id)
        if resource is not None:
            keys[f"{http_method} {resource.path}"] = (resource_id, http_method)
    matched = match_route(list(keys), request.method, path) if found else None
    key = keys[matched[0]] if matched else None
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTimeEpoch": int(now * 1000),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "stage": stage,
        "httpMethod": request.method,
        "resourcePath": definition.resources[key[0]].path if key else path,
        "resourceId": key[0] if key else "",
        "path": f"/{stage}{path}",
        "apiId": api.api_id,
        "accountId": api.account_id,
        "domainName": headers.get("host", request.host),
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("user-agent", "")},
        "error": dict.fromkeys(_CONTEXT_ERROR_KEYS),
    }
    params = {
        "path": matched[1] if matched else {},
        "querystring": dict(parse_qsl(request.raw_query, keep_blank_values=True)),
        "header": {name: value for name, value in headers.items()},
    }
    call = _Call(api, stage_variables, definition, request, headers, context, params)
    if key is None:
        return call.gateway_response("MISSING_AUTHENTICATION_TOKEN")
    method = definition.methods[key]
    if method.authorization == AWS_IAM:
        arn = f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{stage}/{request.method}{path}"
        caller = authorize_iam(request, arn, api.account_id)
        if not isinstance(caller, IamCaller):
            return call.respond(caller.status, caller.headers, caller.body)
        context["identity"].update(caller.rest_identity())
    invalid = _validate(call, method)
    if invalid is not None:
        return invalid
    return _integrate(call, key, _Backends(invoke, may_invoke, client_factory, roles))


@dataclass(frozen=True)
class _Backends:
    """How a stage reaches its integrations: Lambda, the function's policy, the control plane, the roles."""

    invoke: Invoke
    may_invoke: MayInvoke
    client_factory: ClientFactory
    roles: IntegrationRoles


def _integrate(call: _Call, key: MethodKey, backends: _Backends) -> Response:
    integration = call.definition.integrations.get(key)
    if integration is None:
        return call.internal_error("the method has no integration")
    try:
        if integration.integration_type == "AWS":
            responses = call.definition.integration_responses.get(key, {})
            return _aws_integration(call, integration, responses, backends)
        if integration.integration_type == "AWS_PROXY":
            return _lambda_proxy(call, integration, backends)
    except TemplateError as error:
        return call.internal_error(f"mapping template: {error}")
    return call.internal_error(f"integration type {integration.integration_type} is not served by localcloud")


def _media_type(headers: dict[str, str]) -> str:
    # AWS treats a request without Content-Type as application/json when it picks models and templates.
    return (headers.get("content-type") or JSON).split(";", 1)[0].strip().lower() or JSON


def _validate(call: _Call, method: RestMethod) -> Response | None:
    validator = call.definition.validators.get(method.request_validator_id or "")
    if validator is None:
        return None
    if validator.validate_request_parameters:
        missing = []
        for name, required in method.request_parameters.items():
            where, _, parameter = name.removeprefix("method.request.").partition(".")
            values = call.params.get(where, {})
            if where == "header":
                values, parameter = {k.lower(): v for k, v in values.items()}, parameter.lower()
            if required and not values.get(parameter):
                missing.append(name.removeprefix("method.request.").partition(".")[2])
        if missing:
            return call.gateway_response(
                "BAD_REQUEST_PARAMETERS", f"[Missing required request parameters: [{', '.join(missing)}]]"
            )
    if validator.validate_request_body:
        model_name = method.request_models.get(_media_type(call.headers))
        model = call.definition.models.get(model_name or "")
        if model_name and model is None:
            return call.internal_error(f"request model {model_name} does not exist")
        if model is not None:
            errors = validate_body(model.schema, call.request.body.decode("utf-8", errors="replace"))
            if errors:
                return call.gateway_response("BAD_REQUEST_BODY", "[" + ", ".join(errors) + "]")
    return None


# ------------------------------------------------------------------------------------ AWS integrations
@dataclass(frozen=True)
class _Backend:
    """What the AWS service answered: the integration response is selected on `status`."""

    status: int
    body: str


def _aws_integration(
    call: _Call,
    integration: RestIntegration,
    responses: dict[str, RestIntegrationResponse],
    backends: _Backends,
) -> Response:
    media = _media_type(call.headers)
    body_text = call.request.body.decode("utf-8", errors="replace")
    templates = integration.request_templates
    if media in templates:
        payload = render_template(templates[media], call.template_context(body_text))
    elif integration.passthrough_behavior == "WHEN_NO_MATCH" or (
        integration.passthrough_behavior == "WHEN_NO_TEMPLATES" and not templates
    ):
        payload = body_text
    else:
        return call.gateway_response("UNSUPPORTED_MEDIA_TYPE")
    headers = {}
    for target, source in integration.request_parameters.items():
        if not target.startswith("integration.request.header."):
            raise UnsupportedTemplateError(f"request parameter {target} (only integration.request.header.*)")
        headers[target.removeprefix("integration.request.header.").lower()] = _request_parameter(call, source)
    uri = integration.uri or ""
    if ":sqs:" not in uri:
        return call.internal_error(f"AWS integration {uri!r}: localcloud serves only SQS")

    def role_client(service: str, region: str) -> Any:
        return backends.roles.client(integration.credentials, service, region)

    try:
        backend = _sqs(call, uri, headers, payload, backends.client_factory, role_client)
    except IntegrationRoleError as refused:
        logger.error("rest api %s: %s", call.api.api_id, refused)
        return call.respond(500, [("Content-Type", JSON)], _INTERNAL_SERVER_ERROR)
    except Exception:  # never reached SQS (connection, credentials): AWS answers a plain 500
        logger.exception("rest api %s: SQS integration %s failed", call.api.api_id, uri)
        return call.respond(500, [("Content-Type", JSON)], _INTERNAL_SERVER_ERROR)
    return _integration_response(call, responses, backend)


def _request_parameter(call: _Call, source: str) -> str:
    if source.startswith("'"):
        return _static(source, "request parameter")
    if source.startswith("method.request."):
        where, _, name = source.removeprefix("method.request.").partition(".")
        values = call.params.get(where, {})
        if where == "header":
            values, name = {k.lower(): v for k, v in values.items()}, name.lower()
        return values.get(name, "")
    if source == "context.requestId":
        return call.request_id
    raise UnsupportedTemplateError(f"request parameter source {source!r}")


def _sqs(  # noqa: PLR0917 - the parts of one SQS call
    call: _Call,
    uri: str,
    headers: dict[str, str],
    payload: str,
    client_factory: ClientFactory,
    role_client: Callable[[str, str], Any],
) -> _Backend:
    """Send the rendered form body to SQS as the SQS query API would read it, as the integration's role."""
    if headers.get("content-type", "").split(";", 1)[0].strip() != "application/x-www-form-urlencoded":
        # SQS cannot read the form otherwise; on AWS this is the most common mistake, so say it plainly.
        logger.error(
            "rest api %s: SQS integration without integration.request.header.Content-Type "
            "'application/x-www-form-urlencoded': SQS rejects the request",
            call.api.api_id,
        )
        return _Backend(
            400, json.dumps({"Error": {"Code": "InvalidAction", "Message": "unreadable request"}})
        )
    form = {key: values[-1] for key, values in parse_qs(payload, keep_blank_values=True).items()}
    path, action = _SQS_PATH_URI.match(uri), _SQS_ACTION_URI.match(uri)
    queue: tuple[str, str] | None = None  # (name, account) of a path-style uri
    if path is not None:
        region, form_action = path.group("region"), form.get("Action", "")
        queue = (path.group("queue"), path.group("account"))
    elif action is not None:
        region, form_action = action.group("region"), action.group("action")
    else:
        raise UnsupportedTemplateError(f"SQS integration uri {uri!r}")
    if form_action != "SendMessage":
        raise UnsupportedTemplateError(f"SQS Action={form_action!r} (only SendMessage)")
    # The uri addresses the queue by its path, so AWS makes no GetQueueUrl call (the role needs no
    # sqs:GetQueueUrl): finding the emulator's URL for that path is localcloud's own look-up.
    sqs = client_factory("sqs", region)
    sender = role_client("sqs", region)
    try:
        # The queue is resolved inside the try: a missing queue is SQS's own 400 answer, as on AWS.
        queue_url = (
            sqs.get_queue_url(QueueName=queue[0], QueueOwnerAWSAccountId=queue[1])["QueueUrl"]
            if queue is not None
            else form.get("QueueUrl", "")
        )
        sent = sender.send_message(**_send_message_arguments(form, queue_url))
    except Exception as error:  # a ClientError is SQS's answer: it goes through the integration responses
        response = getattr(error, "response", None)
        if not isinstance(response, dict):
            raise
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        logger.warning("rest api %s: SQS answered %s: %s", call.api.api_id, status, error)
        return _Backend(status, json.dumps({"Error": response.get("Error", {})}))
    result = {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": sent.get("ResponseMetadata", {}).get("RequestId", "")},
            "SendMessageResult": {
                "MD5OfMessageAttributes": sent.get("MD5OfMessageAttributes"),
                "MD5OfMessageBody": sent.get("MD5OfMessageBody"),
                "MessageId": sent["MessageId"],
                "SequenceNumber": sent.get("SequenceNumber"),
            },
        }
    }
    return _Backend(200, json.dumps(result))


def _send_message_arguments(form: dict[str, str], queue_url: str) -> dict[str, Any]:
    """SendMessage's query-API form fields -> boto3 arguments."""
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": form.get("MessageBody", "")}
    for name in ("MessageGroupId", "MessageDeduplicationId"):
        if form.get(name):
            kwargs[name] = form[name]
    if form.get("DelaySeconds"):
        kwargs["DelaySeconds"] = int(form["DelaySeconds"])
    attributes: dict[str, dict[str, Any]] = {}
    index = 1
    while f"MessageAttribute.{index}.Name" in form:
        prefix = f"MessageAttribute.{index}."
        value: dict[str, Any] = {"DataType": form.get(prefix + "Value.DataType", "String")}
        if prefix + "Value.BinaryValue" in form:
            value["BinaryValue"] = base64.b64decode(form[prefix + "Value.BinaryValue"])
        else:
            value["StringValue"] = form.get(prefix + "Value.StringValue", "")
        attributes[form[prefix + "Name"]] = value
        index += 1
    if attributes:
        kwargs["MessageAttributes"] = attributes
    return kwargs


def _integration_response(
    call: _Call, responses: dict[str, RestIntegrationResponse], backend: _Backend
) -> Response:
    """AWS selects on the backend status code: a matching selection pattern, else the default response."""
    chosen = next(
        (
            r
            for r in responses.values()
            if r.selection_pattern and re.fullmatch(r.selection_pattern, str(backend.status))
        ),
        None,
    ) or next((r for r in responses.values() if not r.selection_pattern), None)
    if chosen is None:
        return call.internal_error(f"no integration response matches backend status {backend.status}")
    template = _pick_template(chosen.response_templates, call.headers.get("accept"))
    content_type, body = JSON, backend.body
    if template is not None:
        content_type, text = template
        body = render_template(text, call.template_context(backend.body))
    headers = [("Content-Type", content_type)]
    for target, source in chosen.response_parameters.items():
        if not target.startswith("method.response.header."):
            raise UnsupportedTemplateError(f"response parameter {target}")
        headers.append((target.removeprefix("method.response.header."), _static(source, target)))
    return call.respond(int(chosen.status_code), headers, body.encode())


# ----------------------------------------------------------------------------------- Lambda proxy (1.0)
def build_proxy_event(call: _Call) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in call.request.headers:
        single[name] = value  # the last value wins in `headers`, as on AWS
        multi.setdefault(name, []).append(value)
    query_pairs = parse_qsl(call.request.raw_query, keep_blank_values=True)
    query_multi: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query_multi.setdefault(name, []).append(value)
    # With no binaryMediaTypes (not supported here) a REST API hands every body over as text.
    body = call.request.body
    context = call.context
    return {
        "resource": context["resourcePath"],
        "path": context["path"][len(context["stage"]) + 1 :] or "/",  # without the stage, as on AWS
        "httpMethod": call.request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": call.params["path"] or None,
        "stageVariables": call.stage_variables or None,
        "requestContext": {
            "accountId": context["accountId"],
            "apiId": context["apiId"],
            "domainName": context["domainName"],
            "httpMethod": call.request.method,
            "identity": dict(context["identity"]),
            "path": context["path"],
            "protocol": context["protocol"],
            "requestId": context["requestId"],
            "extendedRequestId": context["extendedRequestId"],
            "requestTime": context["requestTime"],
            "requestTimeEpoch": context["requestTimeEpoch"],
            "resourceId": context["resourceId"],
            "resourcePath": context["resourcePath"],
            "stage": context["stage"],
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


# AWS words its 500 (configuration error) and its 502 (bad Lambda response) alike.
_INTERNAL_SERVER_ERROR = _BAD_GATEWAY = b'{"message": "Internal server error"}'


def _lambda_proxy(call: _Call, integration: RestIntegration, backends: _Backends) -> Response:
    function_arn = function_arn_of(integration.uri or "")
    if function_arn is None:
        return call.internal_error(f"AWS_PROXY uri {integration.uri!r} is not a Lambda invocation ARN")
    region = function_arn.split(":")[3] if function_arn.count(":") >= 5 else call.api.region
    event = build_proxy_event(call)
    result: InvocationResult
    try:
        if integration.credentials:
            # Invoked as the role: its lambda:InvokeFunction decides, the function's policy is not asked.
            result = backends.roles.invoke(integration.credentials, function_arn, region, event)
        elif _may_invoke(call, function_arn, region, backends.may_invoke):
            result = backends.invoke(function_arn, region, event)
        else:
            return call.respond(500, [("Content-Type", JSON)], _INTERNAL_SERVER_ERROR)
    except IntegrationRoleError as refused:
        logger.error("rest api %s: %s", call.api.api_id, refused)
        return call.respond(500, [("Content-Type", JSON)], _INTERNAL_SERVER_ERROR)
    except Exception:
        logger.exception("rest api %s: invoking %s failed", call.api.api_id, function_arn)
        return call.respond(502, [("Content-Type", JSON)], _BAD_GATEWAY)
    payload: Any = result.payload
    if isinstance(payload, bytes | bytearray):
        try:
            payload = json.loads(payload) if payload else None
        except ValueError:
            payload = None
    if result.error_type is not None or not isinstance(payload, dict) or "statusCode" not in payload:
        # 1.0 has no "plain JSON means 200" rule: anything but {statusCode, ...} is a malformed response.
        logger.warning(
            "rest api %s: %s returned %s", call.api.api_id, function_arn, result.error_type or "no statusCode"
        )
        return call.respond(502, [("Content-Type", JSON)], _BAD_GATEWAY)
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    raw = payload.get("body")
    body = (
        b"" if raw is None else base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    )
    return call.respond(int(payload["statusCode"]), headers, body)


def _may_invoke(call: _Call, function_arn: str, region: str, may_invoke: MayInvoke) -> bool:
    """Whether the function's policy lets API Gateway invoke it for this API, stage, method and path."""
    context = call.context
    path = context["path"][len(context["stage"]) + 1 :] or "/"
    api = call.api
    source_arn = f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{context['stage']}/"
    source_arn += f"{call.request.method}{path}"
    if may_invoke(function_arn, region, APIGATEWAY_PRINCIPAL, "lambda:InvokeFunction", source_arn, {}):
        return True
    logger.error(
        "rest api %s: Execution failed due to configuration error: Invalid permissions on Lambda function "
        "%s (its policy does not let %s invoke it for %s)",
        api.api_id,
        function_arn,
        APIGATEWAY_PRINCIPAL,
        source_arn,
    )
    return False
