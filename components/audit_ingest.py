"""Audit ingest: large audit records through a Redis claim-check, archived and catalogued by a workflow.

POST /audit -> ingest function: validate, checksum, security context, message id (or the first one for an
Idempotency-Key), payload -> Redis with a TTL, start the workflow with the internal message (never the
payload) -> 202. Workflow (workflows/audit_ingest.py): archive Redis -> S3 and metadata -> DynamoDB in
parallel, aggregate, SNS to subscribers; failures salvaged to the archive bucket's failures/ prefix + DLQ.

Redis: `redis_endpoint` "host:port" (the local stack: LocalStack has no ElastiCache; localcloud hands in
a real redis-server), or None for an ElastiCache replication group (AWS): Multi-AZ with automatic
failover, replicas from config, TLS in transit, encryption at rest, an AUTH token generated into Secrets
Manager and fetched by the functions at run time (never in an environment variable). On AWS the Redis
functions run in this component's VPC, in private subnets reaching AWS through VPC endpoints only.

No loss after a 202 (issue 16; handlers/audit/redis_store.py has the whole story): the group's parameter
group sets maxmemory-policy noeviction (ElastiCache's default, volatile-lru, evicts payloads, which all
have a TTL), an alarm per node warns when its memory passes `redis_memory_alarm_percent`, and the ingest
function waits for one replica to confirm each payload (REDIS_REPLICA_ACKS) when the group has replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.alarms import AlarmTopic, alarm_topic, cache_memory_alarm, failed_executions_alarm
from components.api_callers import ApiCallerRole, ApiCallerRoleArgs
from components.buffered_queue import dead_letter_queue
from components.config import ApiThrottle
from components.function import Function, FunctionArgs
from components.http_api import HttpApi, HttpApiArgs, LambdaRoute
from components.iam import allow
from components.notifications import email_topic, tls_only_topic_policy
from components.private_network import PrivateNetwork, PrivateNetworkArgs
from components.secure_bucket import SecureBucket, SecureBucketArgs
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs
from components.system_dashboard import SystemDashboardArgs, system_dashboard
from handlers.audit.contract import (
    ARCHIVE_PREFIX,
    FAILURES_PREFIX,
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_TABLE_KEY,
    METADATA_TABLE_KEY,
    ArchiveSettings,
    IngestSettings,
    MetadataSettings,
    RedisSettings,
    SalvageSettings,
)
from workflows import audit_ingest

AUDIT_ROUTE = "POST /audit"
API_THROTTLE = ApiThrottle(rate_limit_per_second=20, burst_limit=50)
REDIS_PORT = RedisSettings.redis_port
# What the Redis-facing functions call besides Redis, S3 and DynamoDB (gateway endpoints).
INTERFACE_SERVICES = ("states", "sqs", "secretsmanager")
REDIS_ENGINE = "valkey"
REDIS_ENGINE_VERSION = "8.0"
# A parameter group serves one engine family: the engine and its major version (valkey8).
REDIS_PARAMETER_FAMILY = f"{REDIS_ENGINE}{REDIS_ENGINE_VERSION.partition('.')[0]}"
# Every payload has a TTL, so volatile-* and allkeys-* policies would all evict acknowledged payloads; a
# full cache must refuse writes (the ingest API answers 503 and salvages) instead.
REDIS_MAXMEMORY_POLICY = "noeviction"
# Replicas that must confirm a payload before the 202 (Redis WAIT): with the default single replica, the
# one a failover promotes has every acknowledged payload; with more, one may be down or resyncing without
# refusing writes (handlers/audit/redis_store.py weighs this).
REPLICA_ACKS_PER_WRITE = 1


@dataclass(frozen=True, kw_only=True)
class AuditIngestArgs:
    region: str
    shared: SharedSettings
    redis_endpoint: str | None = None  # "host:port"; None: an ElastiCache replication group in a VPC
    redis_replicas: int = 1
    redis_node_type: str = "cache.t4g.small"
    vpc_cidr: str = "10.120.0.0/16"
    max_body_bytes: int = IngestSettings.max_body_bytes
    redis_ttl_seconds: int = RedisSettings.redis_ttl_seconds
    idempotency_ttl_seconds: int = IngestSettings.idempotency_ttl_seconds
    subscriber_emails: Sequence[str] = ()  # the notifications topic's subscribers, and the alarm topic's
    # Reserved for POST /audit's function: each request may park up to 6 MB in Redis, so a flood is
    # throttled rather than scaled into the cache's memory.
    api_concurrency: int = 10
    api_throttle: ApiThrottle = API_THROTTLE
    # Each node's memory alarm (% of what the engine may use): with noeviction, 100% means refused writes.
    redis_memory_alarm_percent: int = 80


@dataclass(frozen=True)
class _Redis:
    host: pulumi.Input[str]
    port: pulumi.Input[str]
    tls: bool
    auth_secret_arn: pulumi.Output[str] | None
    network: PrivateNetwork | None
    replica_acks: int  # replicas that must confirm a payload before the 202 (0: none to wait for)


class AuditIngest(pulumi.ComponentResource):
    audit_url: pulumi.Output[str]
    archive_bucket: pulumi.Output[str]
    metadata_table: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]  # CloudWatch: the DLQ, workflow outcomes, function errors
    redis_host: pulumi.Input[str]

    def __init__(self, name: str, args: AuditIngestArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:audit:AuditIngest", name, None, opts)
        if args.redis_replicas < 0:
            raise ValueError(f"{name}: redis_replicas must be >= 0, got {args.redis_replicas}")
        if not 0 < args.redis_memory_alarm_percent < 100:
            raise ValueError(
                f"{name}: redis_memory_alarm_percent must be 1-99 (an alarm at 100% fires when writes are "
                f"already refused), got {args.redis_memory_alarm_percent}"
            )
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._args = name, args
        region = args.region

        archive = SecureBucket(f"{name}-archive", SecureBucketArgs(region=region), child)
        metadata = aws.dynamodb.Table(
            f"{name}-metadata-table",
            region=region,
            billing_mode="PAY_PER_REQUEST",
            hash_key=METADATA_TABLE_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=METADATA_TABLE_KEY, type="S")],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=child,
        )
        idempotency = aws.dynamodb.Table(
            f"{name}-idempotency",
            region=region,
            billing_mode="PAY_PER_REQUEST",
            hash_key=IDEMPOTENCY_TABLE_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=IDEMPOTENCY_TABLE_KEY, type="S")],
            ttl={"attribute_name": IDEMPOTENCY_EXPIRY_ATTRIBUTE, "enabled": True},
            server_side_encryption={"enabled": True},
            opts=child,
        )
        topic = email_topic(
            f"{name}-notifications",
            region=region,
            emails=args.subscriber_emails,
            opts=child,
            subscription_prefix=f"{name}-subscriber",
        )
        tls_only_topic_policy(f"{name}-notifications-policy", topic=topic, region=region, opts=child)
        # Not the notifications topic: CloudWatch cannot publish to a topic under the AWS-managed key, and
        # alarms are for operators, not part of the per-record message stream.
        alarms = alarm_topic(name, system=name, region=region, emails=args.subscriber_emails, opts=child)
        dlq = dead_letter_queue(
            f"{name}-dlq",
            alarms=alarms,
            holds="audit records salvaged after their ingest or workflow failed (payloads in failures/)",
            opts=child,
        )
        redis = self._redis(alarms)

        function = partial(
            FunctionArgs,
            region=region,
            shared=args.shared,
            network=redis.network.network if redis.network is not None else None,
        )
        # The fields of the contract's RedisSettings, which every Redis-facing function's settings extend.
        redis_settings: dict[str, object] = {
            "redis_host": redis.host,
            "redis_port": redis.port,
            "redis_tls": redis.tls,
            "redis_auth_secret_arn": redis.auth_secret_arn,
            "redis_ttl_seconds": args.redis_ttl_seconds,
        }
        redis_statements = []
        if redis.auth_secret_arn is not None:
            redis_statements.append(allow(["secretsmanager:GetSecretValue"], [redis.auth_secret_arn]))
        failures = archive.objects_arn(FAILURES_PREFIX)
        salvage_statements = [allow(["s3:PutObject"], [failures]), allow(["sqs:SendMessage"], [dlq.arn])]
        salvage_settings = {**redis_settings, "archive_bucket": archive.bucket_name, "dlq_url": dlq.url}

        archive_fn = Function(
            f"{name}-archive",
            function(
                handler="handlers.audit.archive.lambda_handler",
                description="Audit: payload Redis -> S3 archive",
                memory_mb=1024,
                timeout_seconds=60,
                policy_statements=[
                    *redis_statements,
                    allow(["s3:PutObject"], [archive.objects_arn(ARCHIVE_PREFIX)]),
                ],
                environment=ArchiveSettings.environment(**redis_settings, archive_bucket=archive.bucket_name),
            ),
            child,
        )
        metadata_fn = Function(
            f"{name}-metadata",
            function(
                handler="handlers.audit.metadata.lambda_handler",
                description="Audit: metadata + security context -> DynamoDB",
                policy_statements=[allow(["dynamodb:PutItem"], [metadata.arn])],  # a conditional put, no read
                environment=MetadataSettings.environment(metadata_table=metadata.name),
                network=None,  # it never talks to Redis: no VPC, no cold-start ENI
            ),
            child,
        )
        aggregate_fn = Function(
            f"{name}-aggregate",
            function(
                handler="handlers.audit.aggregate.lambda_handler",
                description="Audit: final state; the Redis copy is dropped once both are durable",
                policy_statements=redis_statements,
                environment=RedisSettings.environment(**redis_settings),
            ),
            child,
        )
        failure_fn = Function(
            f"{name}-ingest-failure",
            function(
                handler="handlers.audit.ingest_failure.lambda_handler",
                description="Audit: salvage a failed message to S3 failures/ and the DLQ",
                memory_mb=1024,
                timeout_seconds=60,
                policy_statements=[*redis_statements, *salvage_statements],
                environment=SalvageSettings.environment(**salvage_settings),
            ),
            child,
        )
        workflow = StateMachine(
            f"{name}-workflow",
            StateMachineArgs(
                region=region,
                shared=args.shared,
                definition=audit_ingest.build_definition,
                definition_inputs={
                    "archive_arn": archive_fn.arn,
                    "metadata_arn": metadata_fn.arn,
                    "aggregate_arn": aggregate_fn.arn,
                    "ingest_failure_arn": failure_fn.arn,
                    "topic_arn": topic.arn,
                },
                policy_statements=[
                    allow(
                        ["lambda:InvokeFunction"],
                        [archive_fn.arn, metadata_fn.arn, aggregate_fn.arn, failure_fn.arn],
                    ),
                    allow(["sns:Publish"], [topic.arn]),
                ],
            ),
            child,
        )
        failed_executions_alarm(
            f"{name}-workflow-failed",
            topic=alarms,
            state_machine_arn=workflow.arn,
            workflow="audit ingest",
            opts=child,
        )
        ingest_fn = Function(
            f"{name}-ingest-api",
            function(
                handler="handlers.audit.ingest_api.lambda_handler",
                description="POST /audit: claim-check the payload in Redis, start the workflow",
                memory_mb=1024,
                timeout_seconds=29,  # API Gateway's integration limit
                policy_statements=[
                    *redis_statements,
                    *salvage_statements,
                    allow(["states:StartExecution"], [workflow.arn]),
                    allow(
                        [
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                        ],
                        [idempotency.arn],
                    ),
                ],
                environment=IngestSettings.environment(
                    **salvage_settings,
                    metadata_table=metadata.name,
                    state_machine_arn=workflow.arn,
                    idempotency_table=idempotency.name,
                    idempotency_ttl_seconds=args.idempotency_ttl_seconds,
                    max_body_bytes=args.max_body_bytes,
                    redis_replica_acks=redis.replica_acks,
                ),
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        api = HttpApi(
            f"{name}-http",
            HttpApiArgs(
                region=region,
                shared=args.shared,
                routes=[LambdaRoute(route_key=AUDIT_ROUTE, function=ingest_fn)],
                throttle=args.api_throttle,
            ),
            child,
        )

        self.dashboard_name = system_dashboard(
            name,
            SystemDashboardArgs(
                region=region,
                dead_letter_queues={"Salvaged records": dlq.name},
                state_machines={"Archive, catalogue, aggregate": workflow.arn},
                functions={
                    label: function.function_name
                    for label, function in {
                        "POST /audit": ingest_fn,
                        "Archive": archive_fn,
                        "Metadata": metadata_fn,
                        "Aggregate": aggregate_fn,
                        "Salvage": failure_fn,
                    }.items()
                },
            ),
            child,
        ).dashboard_name
        self.audit_url = api.url_for(AUDIT_ROUTE)
        self.caller_role_arn = ApiCallerRole(
            f"{name}-caller",
            ApiCallerRoleArgs(statements=api.invoke_statements, description="regionflow: POST /audit"),
            pulumi.ResourceOptions(parent=self),
        ).arn
        self.archive_bucket = archive.bucket_name
        self.metadata_table = metadata.name
        self.topic_arn = topic.arn
        self.dlq_url = dlq.url
        self.state_machine_arn = workflow.arn
        self.redis_host = redis.host
        self.register_outputs(
            {
                "audit_url": self.audit_url,
                "archive_bucket": self.archive_bucket,
                "metadata_table": self.metadata_table,
                "topic_arn": self.topic_arn,
                "dlq_url": self.dlq_url,
                "state_machine_arn": self.state_machine_arn,
                "dashboard_name": self.dashboard_name,
            }
        )

    def _redis(self, alarms: AlarmTopic) -> _Redis:
        args, name = self._args, self._name
        if args.redis_endpoint is not None:
            # A server outside the stack (beside LocalStack): nothing is known of its replicas.
            host, _, port = args.redis_endpoint.rpartition(":")
            return _Redis(host=host, port=port, tls=False, auth_secret_arn=None, network=None, replica_acks=0)
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            region=args.region,
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints' private DNS
            tags={"Name": name},
            opts=child,
        )
        network = PrivateNetwork(
            f"{name}-network",
            PrivateNetworkArgs(
                region=args.region,
                vpc_id=vpc.id,
                vpc_cidr=args.vpc_cidr,
                interface_services=INTERFACE_SERVICES,
            ),
            child,
        )
        redis_group = aws.ec2.SecurityGroup(
            f"{name}-redis",
            region=args.region,
            vpc_id=vpc.id,
            description="Redis: reachable from the audit functions only",
            opts=child,
        )
        for rule, own_group, peer, kind in (
            (
                "redis-from-functions",
                redis_group.id,
                network.security_group_id,
                aws.vpc.SecurityGroupIngressRule,
            ),
            (
                "functions-to-redis",
                network.security_group_id,
                redis_group.id,
                aws.vpc.SecurityGroupEgressRule,
            ),
        ):
            kind(
                f"{name}-{rule}",
                region=args.region,
                security_group_id=own_group,
                referenced_security_group_id=peer,
                ip_protocol="tcp",
                from_port=REDIS_PORT,
                to_port=REDIS_PORT,
                opts=child,
            )
        # A stateful resource: generated once, kept in the stack's state, so the secret and the group's
        # auth_token stay the same on every later `pulumi up` (a data source would roll them each time).
        # ElastiCache accepts 16-128 printable characters without @, " or /: alphanumerics are safe.
        # pulumi-random marks `result` secret, so the token stays encrypted in state and in both uses.
        token = random.RandomPassword(f"{name}-redis-auth-token", length=64, special=False, opts=child).result
        secret = aws.secretsmanager.Secret(
            f"{name}-redis-auth",
            region=args.region,
            description="AUTH token of the audit Redis replication group",
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-redis-auth-value",
            region=args.region,
            secret_id=secret.id,
            secret_string=token,
            opts=child,
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-redis-subnets", region=args.region, subnet_ids=network.subnet_ids, opts=child
        )
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-redis-parameters",
            region=args.region,
            family=REDIS_PARAMETER_FAMILY,
            description="audit claim-check store: a full cache refuses writes, it never evicts payloads",
            parameters=[{"name": "maxmemory-policy", "value": REDIS_MAXMEMORY_POLICY}],
            opts=child,
        )
        replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            region=args.region,
            description="audit ingest claim-check store",
            engine=REDIS_ENGINE,
            engine_version=REDIS_ENGINE_VERSION,
            # A parameter group's id is its name.
            parameter_group_name=parameters.id,
            node_type=args.redis_node_type,
            num_cache_clusters=1 + args.redis_replicas,
            automatic_failover_enabled=args.redis_replicas > 0,
            multi_az_enabled=args.redis_replicas > 0,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=token,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[redis_group.id],
            opts=child,
        )
        # ElastiCache publishes memory per node; each member cluster is `<group id>-00n` and any of them
        # may be the primary after a failover, so each is watched.
        for member in range(1, 2 + args.redis_replicas):
            cache_memory_alarm(
                f"{name}-redis-memory-{member:03d}",
                topic=alarms,
                cache_cluster_id=pulumi.Output.concat(replication_group.id, f"-{member:03d}"),
                threshold_percent=args.redis_memory_alarm_percent,
                store="the audit claim-check store (Redis)",
                opts=child,
            )
        return _Redis(
            host=replication_group.primary_endpoint_address,
            port=str(REDIS_PORT),
            tls=True,
            auth_secret_arn=secret.arn,
            network=network,
            replica_acks=min(REPLICA_ACKS_PER_WRITE, args.redis_replicas),
        )
