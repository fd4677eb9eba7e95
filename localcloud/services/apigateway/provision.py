"""API Gateway resources of a Pulumi program -> API Gateway API calls.

HTTP and WebSocket APIs (v2) are here; REST APIs (v1) in provision_rest.py. An HTTP API is served by the
loopback gateway under `{gateway}/apis/{api_id}/`, the URL its outputs (apiEndpoint, a stage's invokeUrl)
carry; a WebSocket API under `ws://{gateway}/apis/{api_id}/`, each stage's Management API over http:// at
the same path (websocket.py). Routes, integrations and stages live in moto only (the gateway reads them
there), so the only record is where each API is served from (definitions.py).
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError, arn
from localcloud.core.fields import FieldMap, Param, api_parameters, integer, pascal_case
from localcloud.services.apigateway import provision_rest
from localcloud.services.apigateway.definitions import ApiGatewayRecord, HttpApiEndpoint

_API_FIELDS: FieldMap = {
    "description": "Description",
    "routeSelectionExpression": "RouteSelectionExpression",
    "corsConfiguration": Param("CorsConfiguration", pascal_case),
    "tags": Param("Tags", dict),
}
_INTEGRATION_FIELDS: FieldMap = {
    "integrationUri": "IntegrationUri",
    "integrationSubtype": "IntegrationSubtype",
    "integrationMethod": "IntegrationMethod",
    "payloadFormatVersion": "PayloadFormatVersion",
    "credentialsArn": "CredentialsArn",
    "connectionType": "ConnectionType",
    "description": "Description",
    "requestParameters": "RequestParameters",
    "timeoutMilliseconds": Param("TimeoutInMillis", integer),
}
_ROUTE_FIELDS: FieldMap = {
    "target": "Target",
    "authorizationType": "AuthorizationType",
    "authorizerId": "AuthorizerId",
    "operationName": "OperationName",
}


def _route_settings(settings: list[dict[str, Any]]) -> dict[str, Any]:
    """The provider's list of per-route settings -> the API's map keyed by route key."""
    return {
        setting["routeKey"]: pascal_case({key: value for key, value in setting.items() if key != "routeKey"})
        for setting in settings
    }


_STAGE_FIELDS: FieldMap = {
    # Rate limits are doubles in the API; pascal_case turns whole floats into ints, which is still valid.
    # Recorded on the stage (GetStage answers them); the gateway does not throttle.
    "defaultRouteSettings": Param("DefaultRouteSettings", pascal_case),
    "routeSettings": Param("RouteSettings", _route_settings),
    "accessLogSettings": Param("AccessLogSettings", pascal_case),
    "stageVariables": Param("StageVariables", dict),
}


def create_api(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    protocol = inputs.get("protocolType") or "HTTP"
    if protocol not in {"HTTP", "WEBSOCKET"}:
        raise UnsupportedResourceError(f"aws:apigatewayv2/api:Api {args.name}: protocol {protocol}")
    name = ctx.name(args, inputs, max_length=128)
    api_id = ctx.client("apigatewayv2", region).create_api(
        Name=name, ProtocolType=protocol, **api_parameters(inputs, _API_FIELDS)
    )["ApiId"]
    # Served by localcloud's gateway under a path prefix per API; route URLs are endpoint + path. A
    # WebSocket API's endpoint is ws:// (AWS: wss://{api-id}.execute-api.{region}.amazonaws.com).
    endpoint = f"{ctx.gateway_base_url}/apis/{api_id}"
    if protocol == "WEBSOCKET":
        endpoint = "ws://" + endpoint.removeprefix("http://")
    served = HttpApiEndpoint(
        api_id=api_id, name=name, region=region, account_id=ctx.account_id, endpoint=endpoint
    )
    record = ctx.record(ApiGatewayRecord)
    (record.websocket_apis if protocol == "WEBSOCKET" else record.http_apis)[api_id] = served
    return api_id, {
        **inputs,
        "id": api_id,
        "name": name,
        "apiEndpoint": endpoint,
        "arn": arn("apigateway", f"/apis/{api_id}", region=region),
        "executionArn": ctx.regional_arn("execute-api", region, api_id),
    }


def create_integration(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    integration_id = ctx.client("apigatewayv2", region).create_integration(
        ApiId=inputs["apiId"],
        IntegrationType=inputs["integrationType"],
        **api_parameters(inputs, _INTEGRATION_FIELDS),
    )["IntegrationId"]
    return integration_id, {**inputs, "id": integration_id}


def create_route(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    route_id = ctx.client("apigatewayv2", region).create_route(
        ApiId=inputs["apiId"], RouteKey=inputs["routeKey"], **api_parameters(inputs, _ROUTE_FIELDS)
    )["RouteId"]
    return route_id, {**inputs, "id": route_id}


def create_authorizer(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    """A JWT authorizer (the gateway verifies its tokens); Lambda (REQUEST) authorizers are refused: the
    gateway does not run them, and an API must not be served open because of it."""
    if inputs.get("authorizerType") != "JWT":
        raise UnsupportedResourceError(
            f"aws:apigatewayv2/authorizer:Authorizer {args.name}: localcloud serves JWT authorizers only"
        )
    jwt = inputs.get("jwtConfiguration") or {}
    authorizer_id = ctx.client("apigatewayv2", region).create_authorizer(
        ApiId=inputs["apiId"],
        AuthorizerType="JWT",
        IdentitySource=list(inputs.get("identitySources") or ["$request.header.Authorization"]),
        Name=ctx.name(args, inputs, max_length=128),
        JwtConfiguration={"Audience": list(jwt.get("audiences") or []), "Issuer": jwt.get("issuer", "")},
    )["AuthorizerId"]
    return authorizer_id, {**inputs, "id": authorizer_id}


def create_stage(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id = inputs["apiId"]
    name = inputs.get("name") or ctx.name(args, inputs)
    ctx.client("apigatewayv2", region).create_stage(
        ApiId=api_id,
        StageName=name,
        AutoDeploy=bool(inputs.get("autoDeploy")),
        **api_parameters(inputs, _STAGE_FIELDS),
    )
    websocket = ctx.record(ApiGatewayRecord).websocket_apis.get(api_id)
    endpoint = websocket.endpoint if websocket is not None else f"{ctx.gateway_base_url}/apis/{api_id}"
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": arn("apigateway", f"/apis/{api_id}/stages/{name}", region=region),
        "executionArn": ctx.regional_arn("execute-api", region, f"{api_id}/{name}"),
        "invokeUrl": endpoint if name == "$default" else f"{endpoint}/{name}",
    }


CREATORS: Registry = {
    "aws:apigatewayv2/api:Api": create_api,
    "aws:apigatewayv2/integration:Integration": create_integration,
    "aws:apigatewayv2/route:Route": create_route,
    "aws:apigatewayv2/authorizer:Authorizer": create_authorizer,
    "aws:apigatewayv2/stage:Stage": create_stage,
    **provision_rest.CREATORS,
}
