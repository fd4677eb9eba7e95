"""What the API Gateway data plane needs of the provisioner, as it records it.

moto keeps the control plane of API Gateway v1 (REST) and v2 (HTTP) APIs but serves neither, so the
loopback gateway answers their requests, reading the APIs from the emulator where it can:
- HTTP APIs: routes, integrations and stages are read through the API Gateway v2 API on each request
  (http_api.py), so routes added by any client are served. Only where an API is served from is recorded:
  its loopback URL (`{gateway}/apis/{api_id}/...`) names the API but not its region, and moto's API ids
  are per region.
- REST APIs: a stage serves the snapshot its Deployment froze, as on AWS (a Deployment created before its
  methods serves nothing); moto's deployments freeze nothing, so serving moto's live definition would
  change what a stage answers. The record is that snapshot, taken as the program's resources arrive.
- WebSocket APIs: as HTTP APIs (routes read on each connect); the record says where each is served.
Function URLs need no record: the gateway reads them through the Lambda API (see gateway.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class HttpApiEndpoint:
    """Where an HTTP API (v2) lives and is served; its routes are read from the emulator."""

    api_id: str
    name: str
    region: str
    account_id: str
    endpoint: str  # loopback base URL the gateway serves this API under


# ------------------------------------------------------------------------------- API Gateway REST (v1)
MethodKey = tuple[str, str]  # (resource id, HTTP method or "ANY")


@dataclass(frozen=True, kw_only=True)
class RestResource:
    resource_id: str
    path: str  # "/", "/builds", "/builds/{id}", "/files/{proxy+}"


@dataclass(frozen=True, kw_only=True)
class RestModel:
    name: str
    content_type: str
    schema: str  # JSON schema (draft-04) as the program wrote it


@dataclass(frozen=True, kw_only=True)
class RestRequestValidator:
    validator_id: str
    name: str
    validate_request_body: bool = False
    validate_request_parameters: bool = False


@dataclass(frozen=True, kw_only=True)
class RestMethod:
    resource_id: str
    http_method: str
    authorization: str = "NONE"
    request_validator_id: str | None = None
    request_models: dict[str, str] = field(default_factory=dict)  # content type -> model name
    request_parameters: dict[str, bool] = field(default_factory=dict)  # method.request.x.y -> required
    api_key_required: bool = False


@dataclass(frozen=True, kw_only=True)
class RestIntegrationResponse:
    status_code: str
    selection_pattern: str | None = None  # None or "" -> the default response
    response_templates: dict[str, str] = field(default_factory=dict)
    response_parameters: dict[str, str] = field(default_factory=dict)  # method.response.header.X -> source


@dataclass(frozen=True, kw_only=True)
class RestIntegration:
    resource_id: str
    http_method: str
    integration_type: str  # "AWS", "AWS_PROXY", "MOCK", "HTTP", "HTTP_PROXY"
    integration_http_method: str | None = None
    uri: str | None = None
    credentials: str | None = None
    request_parameters: dict[str, str] = field(default_factory=dict)  # integration.request.x.y -> source
    request_templates: dict[str, str] = field(default_factory=dict)  # content type -> VTL
    passthrough_behavior: str = "WHEN_NO_MATCH"
    timeout_ms: int = 29_000


@dataclass(frozen=True, kw_only=True)
class RestGatewayResponse:
    response_type: str  # "BAD_REQUEST_BODY", "DEFAULT_4XX", ...
    status_code: str | None = None
    response_templates: dict[str, str] = field(default_factory=dict)
    response_parameters: dict[str, str] = field(default_factory=dict)  # gatewayresponse.header.X -> source


@dataclass(kw_only=True)
class RestApiDefinition:
    """What a REST API deployment freezes: routes, validation, integrations, gateway responses."""

    resources: dict[str, RestResource] = field(default_factory=dict)  # by resource id
    models: dict[str, RestModel] = field(default_factory=dict)  # by model name
    validators: dict[str, RestRequestValidator] = field(default_factory=dict)  # by validator id
    methods: dict[MethodKey, RestMethod] = field(default_factory=dict)
    integrations: dict[MethodKey, RestIntegration] = field(default_factory=dict)
    integration_responses: dict[MethodKey, dict[str, RestIntegrationResponse]] = field(
        default_factory=dict
    )  # by status code
    method_responses: dict[MethodKey, list[str]] = field(default_factory=dict)  # status codes
    gateway_responses: dict[str, RestGatewayResponse] = field(default_factory=dict)  # by response type


@dataclass(kw_only=True)
class RestStage:
    name: str
    deployment_id: str
    variables: dict[str, str] = field(default_factory=dict)
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # method path -> settings


@dataclass(kw_only=True)
class RestApiDeployment:
    """A REST API. As on AWS, a stage serves the snapshot its Deployment took, not the live definition:
    a Deployment created before its methods (a missing depends_on) serves nothing here either.
    """

    api_id: str
    name: str
    region: str
    account_id: str
    root_resource_id: str
    endpoint: str  # loopback base URL; a stage is served at f"{endpoint}/{stage}"
    definition: RestApiDefinition = field(default_factory=RestApiDefinition)
    deployments: dict[str, RestApiDefinition] = field(default_factory=dict)  # by deployment id
    stages: dict[str, RestStage] = field(default_factory=dict)  # by stage name

    def snapshot(self, deployment_id: str) -> None:
        self.deployments[deployment_id] = copy.deepcopy(self.definition)

    def stage_definition(self, stage: str) -> tuple[RestStage, RestApiDefinition] | None:
        found = self.stages.get(stage)
        if found is None or found.deployment_id not in self.deployments:
            return None
        return found, self.deployments[found.deployment_id]


@dataclass
class ApiGatewayRecord:
    """The deployment's HTTP and REST APIs, by API id. Read and written under the deployment's lock."""

    http_apis: dict[str, HttpApiEndpoint] = field(default_factory=dict)
    # WebSocket APIs (v2) by API id: endpoint is the ws:// base its stages are served under (websocket.py).
    websocket_apis: dict[str, HttpApiEndpoint] = field(default_factory=dict)
    rest_apis: dict[str, RestApiDeployment] = field(default_factory=dict)
