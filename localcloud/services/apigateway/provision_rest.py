"""API Gateway REST API (v1) resources of a Pulumi program -> API Gateway API calls, plus the record the
gateway serves them from (definitions.py says why moto's own state is not enough).

moto holds the control plane (so the program's ids are real and `aws apigateway get-*` works); each
creator also records what it made in the API's definition, which a Deployment snapshots.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError, arn
from localcloud.core.fields import FieldMap, Param, api_parameters, integer, pascal_case
from localcloud.services.apigateway.definitions import (
    ApiGatewayRecord,
    RestApiDeployment,
    RestGatewayResponse,
    RestIntegration,
    RestIntegrationResponse,
    RestMethod,
    RestModel,
    RestRequestValidator,
    RestResource,
    RestStage,
)


def _endpoint_types(types: Any) -> dict[str, list[str]]:
    # v7 declares `types` as one string (it manages a single value); older programs pass a list.
    return {"types": [types] if isinstance(types, str) else list(types)}


_REST_API_FIELDS: FieldMap = {
    "description": "description",
    "endpointConfiguration": Param(
        "endpointConfiguration",
        lambda config: _endpoint_types(config["types"]) if config.get("types") else None,
    ),
    "binaryMediaTypes": Param("binaryMediaTypes", list),
    "apiKeySource": "apiKeySource",
    "tags": Param("tags", dict),
}
_METHOD_FIELDS: FieldMap = {
    "requestValidatorId": "requestValidatorId",
    "requestModels": "requestModels",
    "requestParameters": "requestParameters",
    "operationName": "operationName",
}
_INTEGRATION_FIELDS: FieldMap = {
    "integrationHttpMethod": "integrationHttpMethod",
    "uri": "uri",
    "credentials": "credentials",
    "requestParameters": "requestParameters",
    "requestTemplates": "requestTemplates",
    "passthroughBehavior": "passthroughBehavior",
    "contentHandling": "contentHandling",
    "timeoutMilliseconds": Param("timeoutInMillis", integer),
}
_RESPONSE_TEMPLATE_FIELDS: FieldMap = {
    "responseTemplates": "responseTemplates",
    "responseParameters": "responseParameters",
}
_STAGE_FIELDS: FieldMap = {
    "description": "description",
    "variables": Param("variables", dict),
    "xrayTracingEnabled": Param("tracingEnabled", bool),
    "tags": Param("tags", dict),
}
# MethodSettings wire key -> the update_stage patch path suffix (AWS and moto spell them so).
_METHOD_SETTING_PATHS = {
    "metricsEnabled": "metrics/enabled",
    "loggingLevel": "logging/loglevel",
    "dataTraceEnabled": "logging/dataTrace",
    "throttlingBurstLimit": "throttling/burstLimit",
    "throttlingRateLimit": "throttling/rateLimit",
    "cachingEnabled": "caching/enabled",
    "cacheTtlInSeconds": "caching/ttlInSeconds",
}


def _recorded_api(ctx: ProvisioningContext, api_id: str) -> RestApiDeployment:
    api = ctx.record(ApiGatewayRecord).rest_apis.get(api_id)
    if api is None:
        raise UnsupportedResourceError(f"API Gateway REST API {api_id} was not created by this program")
    return api


def _method_key(inputs: dict[str, Any]) -> tuple[str, str, str]:
    """(API id, resource id, upper-case HTTP method) of a method-level resource."""
    return inputs["restApi"], inputs["resourceId"], inputs["httpMethod"].upper()


def create_rest_api(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    if inputs.get("body"):
        # An OpenAPI body defines the whole API in one document; we only model the resource form.
        raise UnsupportedResourceError(
            f"aws:apigateway/restApi:RestApi {args.name}: OpenAPI `body` is not supported by localcloud; "
            "declare Resource/Method/Integration resources instead"
        )
    name = ctx.name(args, inputs, max_length=1024)
    created = ctx.client("apigateway", region).create_rest_api(
        name=name, **api_parameters(inputs, _REST_API_FIELDS)
    )
    api_id, root_id = created["id"], created["rootResourceId"]
    api = RestApiDeployment(
        api_id=api_id,
        name=name,
        region=region,
        account_id=ctx.account_id,
        root_resource_id=root_id,
        endpoint=f"{ctx.gateway_base_url}/restapis/{api_id}",
    )
    api.definition.resources[root_id] = RestResource(resource_id=root_id, path="/")
    ctx.record(ApiGatewayRecord).rest_apis[api_id] = api
    return api_id, {
        **inputs,
        "id": api_id,
        "name": name,
        "rootResourceId": root_id,
        "arn": arn("apigateway", f"/restapis/{api_id}", region=region),
        "executionArn": ctx.regional_arn("execute-api", region, api_id),
        "createdDate": str(created.get("createdDate") or ""),
        "endpointConfiguration": inputs.get("endpointConfiguration") or {"types": ["EDGE"]},
    }


def create_resource(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    created = ctx.client("apigateway", region).create_resource(
        restApiId=inputs["restApi"], parentId=inputs["parentId"], pathPart=inputs["pathPart"]
    )
    resource_id, path = created["id"], created["path"]
    definition = _recorded_api(ctx, inputs["restApi"]).definition
    definition.resources[resource_id] = RestResource(resource_id=resource_id, path=path)
    return resource_id, {**inputs, "id": resource_id, "path": path}


def create_model(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs).replace("-", "")  # model names are alphanumeric
    content_type = inputs.get("contentType") or "application/json"
    model_id = ctx.client("apigateway", region).create_model(
        restApiId=inputs["restApi"],
        name=name,
        contentType=content_type,
        **api_parameters(inputs, {"schema": "schema", "description": "description"}),
    )["id"]
    _recorded_api(ctx, inputs["restApi"]).definition.models[name] = RestModel(
        name=name, content_type=content_type, schema=inputs.get("schema") or "{}"
    )
    return model_id, {**inputs, "id": model_id, "name": name, "contentType": content_type}


def create_request_validator(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs)
    body, parameters = bool(inputs.get("validateRequestBody")), bool(inputs.get("validateRequestParameters"))
    validator_id = ctx.client("apigateway", region).create_request_validator(
        restApiId=inputs["restApi"], name=name, validateRequestBody=body, validateRequestParameters=parameters
    )["id"]
    _recorded_api(ctx, inputs["restApi"]).definition.validators[validator_id] = RestRequestValidator(
        validator_id=validator_id,
        name=name,
        validate_request_body=body,
        validate_request_parameters=parameters,
    )
    return validator_id, {**inputs, "id": validator_id, "name": name}


def put_method(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, resource_id, method = _method_key(inputs)
    authorization = inputs.get("authorization") or "NONE"
    if authorization not in ("NONE", "AWS_IAM"):
        # Authorizers (Cognito, Lambda) are not enforced: refuse rather than serve an open API.
        raise UnsupportedResourceError(
            f"aws:apigateway/method:Method {method}: localcloud serves only authorization NONE and AWS_IAM"
        )
    ctx.client("apigateway", region).put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        authorizationType=authorization,
        apiKeyRequired=bool(inputs.get("apiKeyRequired")),
        **api_parameters(inputs, _METHOD_FIELDS),
    )
    _recorded_api(ctx, api_id).definition.methods[(resource_id, method)] = RestMethod(
        resource_id=resource_id,
        http_method=method,
        authorization=authorization,
        request_validator_id=inputs.get("requestValidatorId") or None,
        request_models=dict(inputs.get("requestModels") or {}),
        request_parameters={k: bool(v) for k, v in (inputs.get("requestParameters") or {}).items()},
        api_key_required=bool(inputs.get("apiKeyRequired")),
    )
    method_id = f"agm-{api_id}-{resource_id}-{method}"
    return method_id, {**inputs, "id": method_id, "httpMethod": method, "authorization": authorization}


def put_integration(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, resource_id, method = _method_key(inputs)
    ctx.client("apigateway", region).put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        type=inputs["type"],
        **api_parameters(inputs, _INTEGRATION_FIELDS),
    )
    _recorded_api(ctx, api_id).definition.integrations[(resource_id, method)] = RestIntegration(
        resource_id=resource_id,
        http_method=method,
        integration_type=inputs["type"],
        integration_http_method=inputs.get("integrationHttpMethod") or None,
        uri=inputs.get("uri") or None,
        credentials=inputs.get("credentials") or None,
        request_parameters=dict(inputs.get("requestParameters") or {}),
        request_templates=dict(inputs.get("requestTemplates") or {}),
        passthrough_behavior=inputs.get("passthroughBehavior") or "WHEN_NO_MATCH",
        timeout_ms=integer(inputs.get("timeoutMilliseconds") or 29_000),
    )
    integration_id = f"agi-{api_id}-{resource_id}-{method}"
    return integration_id, {**inputs, "id": integration_id, "httpMethod": method}


def put_method_response(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, resource_id, method = _method_key(inputs)
    status = str(inputs["statusCode"])
    ctx.client("apigateway", region).put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        statusCode=status,
        **api_parameters(
            inputs,
            {
                "responseModels": "responseModels",
                "responseParameters": Param(
                    "responseParameters", lambda parameters: {k: bool(v) for k, v in parameters.items()}
                ),
            },
        ),
    )
    _recorded_api(ctx, api_id).definition.method_responses.setdefault((resource_id, method), []).append(
        status
    )
    response_id = f"agmr-{api_id}-{resource_id}-{method}-{status}"
    return response_id, {**inputs, "id": response_id}


def put_integration_response(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, resource_id, method = _method_key(inputs)
    status = str(inputs["statusCode"])
    ctx.client("apigateway", region).put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        statusCode=status,
        **api_parameters(
            inputs,
            {
                "selectionPattern": "selectionPattern",
                "contentHandling": "contentHandling",
                **_RESPONSE_TEMPLATE_FIELDS,
            },
        ),
    )
    definition = _recorded_api(ctx, api_id).definition
    definition.integration_responses.setdefault((resource_id, method), {})[status] = RestIntegrationResponse(
        status_code=status,
        selection_pattern=inputs.get("selectionPattern") or None,
        response_templates=dict(inputs.get("responseTemplates") or {}),
        response_parameters=dict(inputs.get("responseParameters") or {}),
    )
    response_id = f"agir-{api_id}-{resource_id}-{method}-{status}"
    return response_id, {**inputs, "id": response_id}


def put_gateway_response(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, response_type = inputs["restApiId"], inputs["responseType"]
    ctx.client("apigateway", region).put_gateway_response(
        restApiId=api_id,
        responseType=response_type,
        **api_parameters(inputs, {"statusCode": "statusCode", **_RESPONSE_TEMPLATE_FIELDS}),
    )
    _recorded_api(ctx, api_id).definition.gateway_responses[response_type] = RestGatewayResponse(
        response_type=response_type,
        status_code=str(inputs["statusCode"]) if inputs.get("statusCode") else None,
        response_templates=dict(inputs.get("responseTemplates") or {}),
        response_parameters=dict(inputs.get("responseParameters") or {}),
    )
    response_id = f"aggr-{api_id}-{response_type}"
    return response_id, {**inputs, "id": response_id}


def create_deployment(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id = inputs["restApi"]
    created = ctx.client("apigateway", region).create_deployment(
        restApiId=api_id,
        **api_parameters(inputs, {"description": "description", "variables": Param("variables", dict)}),
    )
    deployment_id = created["id"]
    # AWS freezes the API at this moment; what arrives later needs a new Deployment (its triggers).
    _recorded_api(ctx, api_id).snapshot(deployment_id)
    return deployment_id, {
        **inputs,
        "id": deployment_id,
        "createdDate": str(created.get("createdDate") or ""),
    }


def create_stage(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, name, deployment_id = inputs["restApi"], inputs["stageName"], inputs["deployment"]
    ctx.client("apigateway", region).create_stage(
        restApiId=api_id, stageName=name, deploymentId=deployment_id, **api_parameters(inputs, _STAGE_FIELDS)
    )
    api = _recorded_api(ctx, api_id)
    api.stages[name] = RestStage(
        name=name, deployment_id=deployment_id, variables=dict(inputs.get("variables") or {})
    )
    stage_id = f"ags-{api_id}-{name}"
    return stage_id, {
        **inputs,
        "id": stage_id,
        "arn": arn("apigateway", f"/restapis/{api_id}/stages/{name}", region=region),
        "executionArn": ctx.regional_arn("execute-api", region, f"{api_id}/{name}"),
        "invokeUrl": f"{api.endpoint}/{name}",
    }


def update_method_settings(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    api_id, stage, method_path = inputs["restApi"], inputs["stageName"], inputs["methodPath"]
    settings = {key: value for key, value in (inputs.get("settings") or {}).items() if value is not None}
    operations = []
    for wire, suffix in _METHOD_SETTING_PATHS.items():
        if wire in settings:
            value = settings[wire]
            text = str(value).lower() if isinstance(value, bool) else str(pascal_case(value))
            operations.append({"op": "replace", "path": f"/{method_path}/{suffix}", "value": text})
    if operations:
        ctx.client("apigateway", region).update_stage(
            restApiId=api_id, stageName=stage, patchOperations=operations
        )
    recorded = _recorded_api(ctx, api_id).stages.get(stage)
    if recorded is not None:
        # Recorded for inspection; the gateway does not throttle (see rest_api.py).
        recorded.method_settings[method_path] = settings
    settings_id = f"{api_id}-{stage}-{method_path}"
    return settings_id, {**inputs, "id": settings_id}


def update_account(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    if inputs.get("cloudwatchRoleArn"):
        ctx.client("apigateway", region).update_account(
            patchOperations=[
                {"op": "replace", "path": "/cloudwatchRoleArn", "value": inputs["cloudwatchRoleArn"]}
            ]
        )
    return "api-gateway-account", {
        **inputs,
        "id": "api-gateway-account",
        "throttleSettings": [{"burstLimit": 5000, "rateLimit": 10000.0}],
    }


CREATORS: Registry = {
    "aws:apigateway/restApi:RestApi": create_rest_api,
    "aws:apigateway/resource:Resource": create_resource,
    "aws:apigateway/model:Model": create_model,
    "aws:apigateway/requestValidator:RequestValidator": create_request_validator,
    "aws:apigateway/method:Method": put_method,
    "aws:apigateway/integration:Integration": put_integration,
    "aws:apigateway/methodResponse:MethodResponse": put_method_response,
    "aws:apigateway/integrationResponse:IntegrationResponse": put_integration_response,
    "aws:apigateway/response:Response": put_gateway_response,
    "aws:apigateway/deployment:Deployment": create_deployment,
    "aws:apigateway/stage:Stage": create_stage,
    "aws:apigateway/methodSettings:MethodSettings": update_method_settings,
    "aws:apigateway/account:Account": update_account,
}
