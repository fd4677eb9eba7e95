"""HTTP APIs (API Gateway v2) and function URLs: the payload format 2.0 event in, the response out.

moto keeps only the control plane of API Gateway v2 and never serves function URLs, so localcloud answers
their requests itself, building the same payload 2.0 event AWS builds and mapping the result back the
same way. An HTTP API's routes, integrations and stages are read from the emulator through the API
Gateway v2 API for each request (`read_http_api`), as the program or any client created them.
Integrations served: Lambda proxy (payload 2.0) and the SQS-SendMessage AWS service integration
(request parameters mapped from the request as AWS maps them).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from localcloud.core.clients import ClientFactory
from localcloud.services.apigateway import iam_authorization, jwt_authorization
from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.http import (
    APIGATEWAY_PRINCIPAL,
    FORBIDDEN,
    INTERNAL_ERROR,
    NOT_FOUND,
    TOO_LARGE,
    Invoke,
    MayInvoke,
    Request,
    Response,
    function_arn_of,
    json_response,
    match_route,
)
from localcloud.services.apigateway.iam_authorization import AWS_IAM, IamCaller
from localcloud.services.apigateway.jwt_authorization import JWT, IssuerKeys, JwtAuthorizer, JwtCaller

logger = logging.getLogger(__name__)
# Lambda's synchronous invocation payload limit (6 MB), measured on the event as serialised.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024

_TEXTUAL_TYPES = re.compile(
    r"^(text/.*|application/(json|javascript|xml|yaml|x-yaml|graphql|x-www-form-urlencoded)|.*\+(json|xml))$"
)
_REQUEST_EXPRESSION = re.compile(
    r"\$\{?(request\.[A-Za-z0-9_.\-]+|context\.[A-Za-z0-9_.]+|stageVariables\.\w+)\}?"
)


# --------------------------------------------------------------------------------------- event building
def _is_textual(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXTUAL_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


def build_event(
    request: Request,
    *,
    route_key: str,
    path_parameters: dict[str, str],
    stage: str,
    api_id: str,
    account_id: str,
    stage_variables: dict[str, str] | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway v2 / function URL payload format 2.0 event for `request`."""
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            # AWS moves cookies out of the headers into `cookies`, one entry per cookie.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        # Repeated parameters are joined with commas in payload 2.0.
        query[name] = f"{query[name]},{value}" if name in query else value
    host = headers.get("host", request.host)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
            "http": {
                "method": request.method,
                "path": unquote(request.raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    if request.body:
        if _is_textual(headers.get("content-type")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            # Non-text bodies (and bodies without a content type) arrive base64-encoded, as on AWS.
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    return event


def map_lambda_result(payload: Any) -> Response:
    """Payload 2.0 response mapping: a dict with statusCode is a full response; anything else is 200 JSON."""
    if isinstance(payload, bytes | bytearray):
        payload = json.loads(payload) if payload else None
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # "If your function returns valid JSON and doesn't return a statusCode", API Gateway answers 200
        # with content-type application/json and the function's response as the body.
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Response(200, [("Content-Type", "application/json")], text.encode())
    status = int(payload["statusCode"])
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or [])
    raw_body = payload.get("body")
    body: bytes
    if raw_body is None:
        body = b""
    elif payload.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode()
    return Response(status, headers, body)


# ------------------------------------------------------------------------------ SQS-SendMessage mapping
def _resolve_expression(  # noqa: PLR0911 - one return per mapping source
    expression: str, request: Request, event: dict[str, Any], body_text: str
) -> str | None:
    """Evaluate one parameter-mapping source: $request.body[.path], .header.x, .querystring.x, .path.x."""
    if expression == "request.body":
        return body_text
    if expression.startswith("request.body."):
        node: Any = json.loads(body_text) if body_text else {}
        for part in expression.removeprefix("request.body.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else (node if isinstance(node, str) else json.dumps(node))
    if expression.startswith("request.header."):
        return event["headers"].get(expression.removeprefix("request.header.").lower())
    if expression.startswith("request.querystring."):
        return (event.get("queryStringParameters") or {}).get(expression.removeprefix("request.querystring."))
    if expression.startswith("request.path."):
        return (event.get("pathParameters") or {}).get(expression.removeprefix("request.path."))
    if expression.startswith("context."):
        node = event["requestContext"]
        for part in expression.removeprefix("context.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return None if node is None else str(node)
    if expression.startswith("stageVariables."):
        return (event.get("stageVariables") or {}).get(expression.removeprefix("stageVariables."))
    return None


def map_parameter(value: str, request: Request, event: dict[str, Any], body_text: str) -> str:
    """A request parameter mapping value: static text with $request.../${request...} references."""
    return _REQUEST_EXPRESSION.sub(
        lambda match: _resolve_expression(match.group(1), request, event, body_text) or "", value
    )


# ------------------------------------------------------------------------------- routes, from the API
@dataclass(frozen=True, kw_only=True)
class RouteIntegration:
    """One API Gateway v2 integration as the gateway needs it."""

    integration_id: str
    integration_type: str  # "AWS_PROXY" (Lambda, or an AWS service with integration_subtype)
    integration_subtype: str | None = None  # e.g. "SQS-SendMessage"
    function_arn: str | None = None  # Lambda proxy target
    payload_format_version: str = "2.0"
    credentials_arn: str | None = None
    request_parameters: dict[str, str] = field(default_factory=dict)  # QueueUrl, MessageBody, ...
    timeout_ms: int = 30_000

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> RouteIntegration:
        """An integration as GetIntegrations lists it."""
        integration_type, subtype = item["IntegrationType"], item.get("IntegrationSubtype")
        uri = item.get("IntegrationUri") or ""
        return cls(
            integration_id=item["IntegrationId"],
            integration_type=integration_type,
            integration_subtype=subtype,
            # An invokeArn wraps the function ARN; a Lambda proxy may also name the function directly.
            function_arn=(function_arn_of(uri) or uri)
            if integration_type == "AWS_PROXY" and not subtype
            else None,
            payload_format_version=item.get("PayloadFormatVersion") or "1.0",
            credentials_arn=item.get("CredentialsArn"),
            request_parameters=dict(item.get("RequestParameters") or {}),
            timeout_ms=int(item.get("TimeoutInMillis") or 30_000),
        )


def _items(call: Callable[..., dict[str, Any]], **parameters: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated API Gateway v2 listing."""
    token: str | None = None
    while True:
        page = call(**parameters, **({"NextToken": token} if token else {}))
        yield from page.get("Items", [])
        token = page.get("NextToken")
        if not token:
            return


@dataclass(frozen=True)
class HttpRoute:
    integration: RouteIntegration
    authorization_type: str = "NONE"  # NONE, AWS_IAM or JWT; a custom (Lambda) authorizer answers 401
    authorizer: JwtAuthorizer | None = None  # a JWT route's
    scopes: tuple[str, ...] = ()


def read_http_api(apigatewayv2: Any, api_id: str) -> tuple[dict[str, HttpRoute], list[str]]:
    """An HTTP API as the emulator holds it now: route key -> its integration and authorization (routes
    whose target is an integration), and its stage names."""
    integrations = {
        item["IntegrationId"]: RouteIntegration.from_api(item)
        for item in _items(apigatewayv2.get_integrations, ApiId=api_id)
    }
    # moto has no GetAuthorizers: each route's authorizer is read by its id.
    authorizers: dict[str, JwtAuthorizer | None] = {}

    def authorizer(authorizer_id: str) -> JwtAuthorizer | None:
        if authorizer_id and authorizer_id not in authorizers:
            item = apigatewayv2.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
            authorizers[authorizer_id] = (
                JwtAuthorizer.from_api(item) if item.get("AuthorizerType") == JWT else None
            )
        return authorizers.get(authorizer_id)

    routes = {}
    for route in _items(apigatewayv2.get_routes, ApiId=api_id):
        target: str = route.get("Target") or ""
        integration = integrations.get(target.removeprefix("integrations/"))
        if target.startswith("integrations/") and integration is not None:
            routes[route["RouteKey"]] = HttpRoute(
                integration,
                route.get("AuthorizationType") or "NONE",
                authorizer(route.get("AuthorizerId") or ""),
                tuple(route.get("AuthorizationScopes") or ()),
            )
    stages = [stage["StageName"] for stage in _items(apigatewayv2.get_stages, ApiId=api_id)]
    return routes, stages


# ------------------------------------------------------------------------------------------- serving
def serve_http_api(
    api: HttpApiEndpoint,
    rest: list[str],
    request: Callable[[str], Request],
    *,
    invoke: Invoke,
    may_invoke: MayInvoke,
    client_factory: ClientFactory,
    issuer_keys: IssuerKeys,
) -> Response:
    """Answer a request for `{endpoint}/<rest...>` of an HTTP API; `request(raw_path)` builds the Request
    once the stage prefix is known. A Lambda integration runs only if the function's policy lets API
    Gateway invoke it for this API, stage, method and path (else AWS's 500)."""
    routes, stages = read_http_api(client_factory("apigatewayv2", api.region), api.api_id)
    stage = "$default"
    raw_path = "/" + "/".join(rest)
    if rest and rest[0] in stages and rest[0] != "$default":
        stage = rest[0]  # a named stage keeps its prefix in rawPath, as on AWS
        route_path = "/" + "/".join(rest[1:])
    elif "$default" in stages:
        route_path = raw_path
    else:
        return NOT_FOUND
    req = request(raw_path)
    matched = match_route(list(routes), req.method, route_path)
    if matched is None:
        return NOT_FOUND
    route_key, path_parameters = matched
    route = routes[route_key]
    integration = route.integration
    route_arn = (
        f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{stage}/{req.method}{route_path}"
    )
    caller = _authorize_route(
        route, route_key, req=req, route_arn=route_arn, account_id=api.account_id, issuer_keys=issuer_keys
    )
    if isinstance(caller, Response):
        return caller
    event = build_event(
        req,
        route_key=route_key,
        path_parameters=path_parameters,
        stage=stage,
        api_id=api.api_id,
        account_id=api.account_id,
    )
    _attach_caller(event, caller)
    request_id = event["requestContext"]["requestId"]
    source_arn = route_arn
    if integration.function_arn and not may_invoke(
        integration.function_arn, api.region, APIGATEWAY_PRINCIPAL, "lambda:InvokeFunction", source_arn, {}
    ):
        logger.warning(
            "gateway: %s may not be invoked by %s (its policy)", integration.function_arn, source_arn
        )
        response = INTERNAL_ERROR
    else:
        response = _integrate(
            integration, api.region, req, event, invoke=invoke, client_factory=client_factory
        )
    return Response(response.status, [*response.headers, ("apigw-requestid", request_id)], response.body)


def _authorize_route(
    route: HttpRoute,
    route_key: str,
    *,
    req: Request,
    route_arn: str,
    account_id: str,
    issuer_keys: IssuerKeys,
) -> IamCaller | JwtCaller | Response | None:
    """What API Gateway checks before the integration: the caller, None for an open route, or the refusal."""
    if route.authorization_type == AWS_IAM:
        return iam_authorization.authorize(req, route_arn, account_id)
    if route.authorization_type == JWT and route.authorizer is not None:
        return jwt_authorization.authorize(req, route.authorizer, route.scopes, issuer_keys)
    if route.authorization_type != "NONE":
        # Fail closed: a route whose authorizer localcloud cannot check answers no one.
        logger.warning(
            "gateway: %s uses %s authorization, which localcloud does not verify",
            route_key,
            route.authorization_type,
        )
        return json_response(401, {"message": "Unauthorized"})
    return None


def _attach_caller(event: dict[str, Any], caller: IamCaller | JwtCaller | None) -> None:
    if isinstance(caller, IamCaller):
        event["requestContext"]["authorizer"] = {"iam": caller.authorizer_context()}
    elif isinstance(caller, JwtCaller):
        event["requestContext"]["authorizer"] = {"jwt": caller.authorizer_context()}


def serve_function_url(
    req: Request,
    *,
    url_id: str,
    function_arn: str,
    region: str,
    account_id: str,
    auth_type: str,
    invoke: Invoke,
    may_invoke: MayInvoke,
) -> Response:
    """Function URLs send the same 2.0 payload with routeKey "$default" and stage "$default".

    A public URL (auth type NONE) answers only if the function's policy lets anyone InvokeFunctionUrl for
    that auth type and InvokeFunction through the URL. An AWS_IAM URL answers only a request signed with
    SigV4 for `lambda` whose signer may InvokeFunctionUrl (for auth type AWS_IAM) and InvokeFunction
    through the URL; the caller reaches the function as `requestContext.authorizer.iam`. Otherwise 403
    Forbidden, as AWS does."""
    caller = None
    if auth_type == AWS_IAM:
        authorized = iam_authorization.authorize_function_url(req, function_arn, region, account_id)
        if isinstance(authorized, Response):
            return authorized
        caller = authorized
    elif not (
        may_invoke(
            function_arn,
            region,
            "*",
            "lambda:InvokeFunctionUrl",
            None,
            {"lambda:FunctionUrlAuthType": "NONE"},
        )
        and may_invoke(
            function_arn, region, "*", "lambda:InvokeFunction", None, {"lambda:InvokedViaFunctionUrl": True}
        )
    ):
        return FORBIDDEN
    event = build_event(
        req, route_key="$default", path_parameters={}, stage="$default", api_id=url_id, account_id=account_id
    )
    _attach_caller(event, caller)
    return invoke_lambda(invoke, function_arn, region, event)


def _integrate(
    integration: RouteIntegration,
    region: str,
    req: Request,
    event: dict[str, Any],
    *,
    invoke: Invoke,
    client_factory: ClientFactory,
) -> Response:
    if integration.integration_subtype == "SQS-SendMessage":
        return _sqs_send_message(integration, region, req, event, client_factory)
    if integration.function_arn and integration.payload_format_version == "2.0":
        return invoke_lambda(invoke, integration.function_arn, region, event)
    logger.error("gateway: unsupported integration %s", integration)
    return INTERNAL_ERROR


def invoke_lambda(invoke: Invoke, function_arn: str, region: str, event: dict[str, Any]) -> Response:
    """Invoke a function with a 2.0 event and map its result as API Gateway v2 does.

    Lambda's 6 MB limit applies to the event it receives, not to the HTTP body: a binary body travels
    base64-encoded (a third larger) inside the event, so a 5 MB upload can already be refused."""
    if len(json.dumps(event).encode()) > LAMBDA_SYNC_PAYLOAD_BYTES:
        return TOO_LARGE
    try:
        result = invoke(function_arn, region, event)
    except Exception:
        logger.exception("gateway: invoking %s failed", function_arn)
        return INTERNAL_ERROR
    if result.error_type is not None:
        # A function error is never passed through: the client sees API Gateway's generic 500.
        logger.warning("gateway: %s failed with %s", function_arn, result.error_type)
        return INTERNAL_ERROR
    try:
        return map_lambda_result(result.payload)
    except (ValueError, TypeError, KeyError):
        logger.exception("gateway: malformed response from %s", function_arn)
        return INTERNAL_ERROR


def _sqs_send_message(
    integration: RouteIntegration,
    region: str,
    req: Request,
    event: dict[str, Any],
    client_factory: ClientFactory,
) -> Response:
    body_text = req.body.decode("utf-8", errors="replace")
    mapped = {
        name: map_parameter(value, req, event, body_text)
        for name, value in integration.request_parameters.items()
    }
    kwargs: dict[str, Any] = {
        "QueueUrl": mapped["QueueUrl"],
        "MessageBody": mapped.get("MessageBody", ""),
    }
    for name in ("MessageGroupId", "MessageDeduplicationId"):
        if mapped.get(name):
            kwargs[name] = mapped[name]
    if mapped.get("DelaySeconds"):
        kwargs["DelaySeconds"] = int(mapped["DelaySeconds"])
    if mapped.get("MessageAttributes"):
        kwargs["MessageAttributes"] = json.loads(mapped["MessageAttributes"])
    sqs = client_factory("sqs", mapped.get("Region") or region)
    try:
        sent = sqs.send_message(**kwargs)
    except Exception as error:  # botocore ClientError: AWS passes the service's error through
        status = 500
        with contextlib.suppress(AttributeError, KeyError, TypeError):
            status = int(error.response["ResponseMetadata"]["HTTPStatusCode"])  # type: ignore[attr-defined]
        return json_response(status, {"message": str(error)})
    result = {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": sent.get("ResponseMetadata", {}).get("RequestId", "")},
            "SendMessageResult": {
                "MD5OfMessageAttributes": sent.get("MD5OfMessageAttributes"),
                "MD5OfMessageBody": sent.get("MD5OfMessageBody")
                or hashlib.md5(kwargs["MessageBody"].encode(), usedforsecurity=False).hexdigest(),
                "MD5OfMessageSystemAttributes": sent.get("MD5OfMessageSystemAttributes"),
                "MessageId": sent["MessageId"],
                "SequenceNumber": sent.get("SequenceNumber"),
            },
        }
    }
    return json_response(200, result)
