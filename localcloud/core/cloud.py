"""LocalCloud: a stack of the project's Pulumi program deployed into an embedded, Docker-free AWS in this
process, and served until stopped.

Start order matters: Redis servers standing in for endpoint settings (the program reads their endpoints
as config), the emulator (moto + Lambda runtime + event source pollers), then the HTTP gateway (the
provisioner needs its URL to mint endpoints), then the program is provisioned, then the data plane moto
lacks is started from what the provisioner recorded: SQS event source mappings, replication.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pulumi

from localcloud.console.serve import Console
from localcloud.core.clients import emulator_resource
from localcloud.core.deployment import Deployment
from localcloud.core.emulator import Emulator
from localcloud.core.http_client import HttpResponse
from localcloud.core.http_client import request as http_request
from localcloud.core.loop import stop_all
from localcloud.core.project_settings import load_project_settings
from localcloud.core.provisioner import MotoProvisioner, provision
from localcloud.core.stack_files import DEFAULT_STACK, load_stack_config
from localcloud.core.stack_outputs import output_table
from localcloud.services.apigateway.gateway import HttpGateway
from localcloud.services.dynamodb.replication import DynamoDbReplicator
from localcloud.services.elasticache.provision import RedisClusterRecord
from localcloud.services.elasticache.redis_server import RedisServer, loopback_endpoint
from localcloud.services.lambda_.event_sources.mapping import SqsMappingRecord
from localcloud.services.s3.replication import ReplicationRecord, S3Replicator
from localcloud.services.s3control.multi_region_access_points import MRAP_DOMAIN_SUFFIX

Progress = Callable[[str], None]


def _silent(_message: str) -> None:
    return None


class _ReportingProvisioner(MotoProvisioner):
    """Reports each resource as it is created, so a person sees the deployment move."""

    def __init__(self, *args: Any, progress: Progress, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._progress = progress

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        result = super().new_resource(args)
        if args.custom:
            self._progress(f"  + {args.typ.split(':')[-1]:<40} {args.name}")
        return result


class LocalCloud:
    """Deploy a stack of the program into a fresh embedded AWS; serve it until stop().

    time_scale < 1 shortens SQS visibility timeouts of the queues that feed functions, so a failed
    message comes back (and reaches its DLQ) in seconds instead of minutes: for demos and tests only.
    redis_endpoint_settings: config keys (namespace:key) holding a Redis host:port the program expects
    outside the stack; for each one the stack sets, a real Valkey server stands in (see
    localcloud.core.project_settings). None reads them from the project's [tool.localcloud] table.
    emulator_port: the AWS endpoint's port (0: a free one); free_port_if_taken: a free one instead when
    that port is in use (reported through `progress`), rather than failing with PortInUseError.
    """

    def __init__(
        self,
        stack: str = DEFAULT_STACK,
        *,
        config_overrides: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        replication_lag_seconds: float = 0.0,
        redis_endpoint_settings: Sequence[str] | None = None,
        progress: Progress = _silent,
        emulator_port: int = 0,
        free_port_if_taken: bool = False,
    ) -> None:
        if not 0 < time_scale <= 1:
            raise ValueError(f"time_scale must be in (0, 1], got {time_scale}")
        self.stack = stack
        self.config_overrides = dict(config_overrides or {})
        self.time_scale = time_scale
        self.replication_lag_seconds = replication_lag_seconds
        self.progress = progress
        if redis_endpoint_settings is None:
            redis_endpoint_settings = load_project_settings().redis_endpoint_settings
        self.redis_endpoint_settings = tuple(redis_endpoint_settings)
        self.emulator = Emulator(port=emulator_port, free_port_if_taken=free_port_if_taken)
        self.deployment = Deployment()
        self.exports: dict[str, Any] = {}
        self.config: dict[str, str] = {}
        self.deploy_seconds = 0.0
        self._gateway: HttpGateway | None = None
        self._redis: dict[str, RedisServer] = {}
        self._replicators: list[S3Replicator | DynamoDbReplicator] = []
        self._default_region = "us-east-1"

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        started = time.monotonic()
        stack_config = load_stack_config(self.stack)
        for setting in self.redis_endpoint_settings:
            if stack_config.get(setting) and setting not in self.config_overrides:
                # The stack names a Redis outside it (e.g. beside LocalStack): stand a real one in for it.
                host, port = self._start_redis(setting, "")
                self.config_overrides[setting] = f"{host}:{port}"
        config = {**stack_config, **self.config_overrides}
        self.config = config
        self._default_region = config.get("aws:region", self._default_region)
        self.progress(f"Starting the embedded AWS for stack '{self.stack}'")
        self.emulator.start()
        asked = self.emulator.requested_port
        if asked and self.emulator.port != asked:
            self.progress(f"  port {asked} is in use: the AWS endpoint takes free port {self.emulator.port}")
        runtime = self.emulator.lambda_runtime
        self._gateway = HttpGateway(
            invoke=runtime.invoke,
            may_invoke=runtime.may_invoke,
            client_factory=self.emulator.client,
            deployment=self.deployment,
            console=Console(stack=self.stack, deployment=self.deployment, exports=lambda: self.exports),
        ).start()
        provisioner = _ReportingProvisioner(
            self.emulator.client,
            default_region=self._default_region,
            gateway_base_url=self._gateway.base_url,
            redis_endpoint=self._start_redis,
            deployment=self.deployment,
            progress=self.progress,
        )
        self.progress("Deploying __main__.py:")
        self.exports = provision(self.stack, provisioner, config_overrides=self.config_overrides)
        self._start_event_sources()
        self._start_replication(provisioner.regions)
        self.deploy_seconds = time.monotonic() - started
        skipped = ", ".join(sorted({s.typ for s in self.deployment.skipped}))
        self.progress(
            f"Deployed {len(provisioner.created)} resources in {self.deploy_seconds:.1f} s"
            + (f" (skipped, no local meaning: {skipped})" if skipped else "")
        )
        return self

    def stop(self) -> None:
        stop_all(self._replicators)
        if self._gateway is not None:
            self._gateway.stop()
        for server in self._redis.values():
            server.stop()
        self.emulator.stop()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ---- what users and tests touch ----------------------------------------------------------------
    @property
    def region(self) -> str:
        """The stack's aws:region: where clients go unless told otherwise."""
        return self._default_region

    @property
    def gateway_url(self) -> str:
        """Where the HTTP APIs, REST APIs and function URLs are served."""
        if self._gateway is None:
            raise RuntimeError("the cloud is not running; call LocalCloud.start() first")
        return self._gateway.base_url

    @property
    def console_url(self) -> str:
        """localcloud's console (localcloud/console/): the gateway's root."""
        return f"{self.gateway_url}/"

    def client(self, service: str, region: str | None = None) -> Any:
        return self.emulator.client(service, region or self._default_region)

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        """An HTTP request to one of the cloud's endpoints: the gateway's loopback URLs as they are, and the
        AWS names localcloud answers for (a Multi-Region Access Point's global domain) sent to the
        emulator with their Host, as DNS would send them to AWS."""
        parsed = urlsplit(url)
        host = (parsed.hostname or "").lower()
        if host.endswith(MRAP_DOMAIN_SUFFIX):
            url = urlunsplit(
                ("http", urlsplit(self.emulator.endpoint_url).netloc, parsed.path, parsed.query, "")
            )
            headers = {**(headers or {}), "Host": host}
        return http_request(method, url, body=body, headers=headers)

    def dynamodb_table(self, name: str, region: str | None = None) -> Any:
        """A boto3 DynamoDB Table resource bound to the emulator."""
        resource = emulator_resource(self.emulator.endpoint_url, "dynamodb", region or self._default_region)
        return resource.Table(name)

    @property
    def redis_servers(self) -> Mapping[str, RedisServer]:
        """The Redis servers standing in for ElastiCache replication groups (by logical name) and for
        redis endpoint settings (by config key). `redis.Redis(**server.connection_options())` reaches one as
        its owner would (a group's AUTH token and TLS enforced). To simulate an outage, `stop()` one and
        later `start(port=server.port)` it: the same port keeps the deployed functions' endpoint valid (the
        keyspace restarts empty)."""
        return dict(self._redis)

    @contextmanager
    def regions_partitioned(self) -> Iterator[None]:
        """Cut replication between the regions for the block (S3 and global tables), as a network
        partition would; each region keeps serving its own writes. On exit the partition heals and
        everything written meanwhile replicates, conflicts resolving as DynamoDB's do (the write applied
        last wins, whatever the program's own resolver then makes of it)."""
        cut = [replicator for replicator in self._replicators if replicator.running]
        stop_all(cut)
        try:
            yield
        finally:
            for replicator in cut:
                replicator.start()

    def wait_idle(self, timeout_seconds: float = 30.0) -> None:
        """Wait until every function-feeding queue is empty and no invocation is in flight."""
        deadline = time.monotonic() + timeout_seconds
        self.emulator.event_sources.wait_idle(timeout_seconds)
        while self.emulator.lambda_runtime.busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Lambda invocations still running after {timeout_seconds} s")
            time.sleep(0.05)

    def sns_messages(self, topic_arn: str) -> list[dict[str, Any]]:
        """Every message published to a topic, oldest first (read from the emulator's own record)."""
        from moto.sns.models import sns_backends  # noqa: PLC0415 - moto is slow to import

        _, _, _, region, account, name = topic_arn.split(":", 5)
        topic = sns_backends[account][region].topics.get(topic_arn)
        if topic is None:
            raise KeyError(f"no SNS topic {name} in {region}")
        return [
            {"messageId": message_id, "message": message, "subject": subject, "attributes": attributes or {}}
            for message_id, message, subject, attributes, _group in topic.sent_notifications
        ]

    def sent_emails(self, region: str | None = None) -> list[dict[str, Any]]:
        """Every email SES sent in a region, oldest first (read from the emulator's own record)."""
        from moto.ses.models import ses_backends  # noqa: PLC0415 - moto is slow to import

        account = self.client("sts").get_caller_identity()["Account"]
        return [
            {
                "messageId": message.id,
                "source": message.source,
                "to": list((getattr(message, "destinations", None) or {}).get("ToAddresses", [])),
                "subject": getattr(message, "subject", ""),
                "body": getattr(message, "body", ""),
            }
            for message in ses_backends[account][region or self._default_region].sent_messages
        ]

    def stack_output_table(self) -> str:
        """The exports formatted like `pulumi stack output`."""
        return output_table(self.exports)

    # ---- internals ---------------------------------------------------------------------------------
    def _start_redis(self, logical_name: str, _group_id: str) -> tuple[str, int]:
        # A replication group's declared port, AUTH token and transit encryption, recorded before its
        # endpoint is asked for; an endpoint setting has none (a plain server, as beside LocalStack).
        with self.deployment.lock:
            spec = self.deployment.record(RedisClusterRecord).specs.get(logical_name)
        if spec is None:
            server = RedisServer().start()
        else:
            host, port = loopback_endpoint(spec.port)
            server = RedisServer(
                host=host,
                password=spec.auth_token,
                tls=spec.tls,
                settings=dict(spec.settings),
                replicas=spec.replicas,
            ).start(port=port)
        self._redis[logical_name] = server
        enforced = [rule for rule, on in (("AUTH", server.password), ("TLS", server.tls)) if on]
        self.progress(
            f"  redis-server for {logical_name} on {server.host}:{server.port}"
            + (f" ({' + '.join(enforced)})" if enforced else "")
        )
        return server.host, server.port

    def _start_event_sources(self) -> None:
        """The program's SQS mappings (recorded, not in moto); stream mappings are found by the poller."""
        with self.deployment.lock:
            mappings = [
                mapping for mapping in self.deployment.record(SqsMappingRecord).mappings if mapping.enabled
            ]
        if self.time_scale < 1:
            for mapping in mappings:
                self._shorten_visibility_timeout(mapping.source_arn, mapping.region)
        self.emulator.event_sources.add(mappings)

    def _start_replication(self, regions: Sequence[str]) -> None:
        """S3 replication and global-table replicas: moto stores both and performs neither."""
        with self.deployment.lock:
            configs = list(self.deployment.record(ReplicationRecord).configs)
        if configs:
            replicator = S3Replicator(self.emulator.client, configs, lag_seconds=self.replication_lag_seconds)
            self._replicators.append(replicator.start())
        # Replicates every table name present in two or more of the regions the program deployed into.
        self._replicators.append(DynamoDbReplicator(self.emulator.client, regions=regions).start())

    def _shorten_visibility_timeout(self, queue_arn: str, region: str) -> None:
        sqs = self.client("sqs", region)
        account, name = queue_arn.split(":")[4:6]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        current = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        scaled = max(1, math.ceil(current * self.time_scale))
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(scaled)})
