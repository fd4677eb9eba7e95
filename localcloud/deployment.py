"""What localcloud must run itself besides moto, as recorded by the provisioner while the program deploys.

moto holds the control plane of every resource; the pieces here are the data-plane behaviour moto lacks
or gets wrong (SQS event source mappings, API Gateway v2 and function URL invocation, Redis) plus what the
CLI reports (skipped resource types, replication it cannot perform).
"""

from __future__ import annotations

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
    function_urls: dict[str, FunctionUrlDeployment] = field(default_factory=dict)  # by url id
    redis_clusters: list[RedisCluster] = field(default_factory=list)
    replication_configs: list[ReplicationConfig] = field(default_factory=list)
    skipped: list[SkippedResource] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
