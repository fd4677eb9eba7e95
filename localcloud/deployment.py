"""What localcloud must run itself besides moto, as recorded by the provisioner while the program deploys.

moto holds the control plane of every resource; the pieces here are the data-plane behaviour moto lacks
or gets wrong (SQS event source mappings, API Gateway v1/v2 and function URL invocation, Redis) plus what the
CLI reports (skipped resource types, replication it cannot perform).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class SqsEventSourceMapping:
    """An SQS -> Lambda mapping that localcloud's poller runs (moto's own would invoke on send_message)."""

    uuid: str
    queue_arn: str
    function_arn: str
    region: str
    batch_size: int = 10
    function_response_types: tuple[str, ...] = ()
    maximum_batching_window_seconds: int = 0
    maximum_concurrency: int | None = None
    enabled: bool = True

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


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


@dataclass(kw_only=True)
class HttpApiDeployment:
    """An HTTP API: route key ("POST /upload", "$default") -> integration, filled in as routes arrive."""

    api_id: str
    name: str
    region: str
    account_id: str
    endpoint: str  # loopback base URL the gateway serves this API under
    integrations: dict[str, RouteIntegration] = field(default_factory=dict)  # by integration id
    routes: dict[str, str] = field(default_factory=dict)  # route key -> integration id
    stages: list[str] = field(default_factory=list)

    def route_integrations(self) -> dict[str, RouteIntegration]:
        """Route key -> integration, for routes whose integration is known."""
        return {key: self.integrations[iid] for key, iid in self.routes.items() if iid in self.integrations}


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


@dataclass(frozen=True, kw_only=True)
class FunctionUrlDeployment:
    function_name: str
    function_arn: str
    region: str
    account_id: str
    url: str  # loopback URL ending in "/"
    url_id: str  # the path segment the gateway routes on
    authorization_type: str = "NONE"


@dataclass(frozen=True, kw_only=True)
class RedisCluster:
    """An ElastiCache replication group: localcloud starts a real redis-server for it."""

    logical_name: str
    replication_group_id: str
    region: str
    port: int
    host: str = "127.0.0.1"


@dataclass(frozen=True, kw_only=True)
class ReplicationConfig:
    """S3 replication rules: moto stores the configuration but never copies objects."""

    bucket: str
    region: str
    role_arn: str
    rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True, kw_only=True)
class SkippedResource:
    typ: str
    logical_name: str
    region: str | None


@dataclass(kw_only=True)
class Deployment:
    """Everything the provisioner recorded for localcloud. Mutated under the provisioner's lock only."""

    event_source_mappings: list[SqsEventSourceMapping] = field(default_factory=list)
    http_apis: dict[str, HttpApiDeployment] = field(default_factory=dict)  # by api id
    rest_apis: dict[str, RestApiDeployment] = field(default_factory=dict)  # by api id
    function_urls: dict[str, FunctionUrlDeployment] = field(default_factory=dict)  # by url id
    redis_clusters: list[RedisCluster] = field(default_factory=list)
    replication_configs: list[ReplicationConfig] = field(default_factory=list)
    skipped: list[SkippedResource] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
