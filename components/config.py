"""Typed stack settings: read once in __main__.py, passed down to components as plain values.

Every key is declared (type, default, description) in Pulumi.yaml; the Pulumi CLI applies those
defaults, and so does `localcloud.core.stack_files` for the tests and localcloud. A missing or malformed
key is therefore a broken stack file, and the error names the key and what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, cast

from handlers.artifacts.contract import HOSTS_PER_REGION_CEILING, DistributedKeys, object_key_problem
from handlers.batch.contract import MAX_LINK_EXPIRY_SECONDS

PROJECT = "regionflow"
# What `systems` may name; batch brings its failover signal and runbook (components it cannot run without).
SYSTEMS = ("transform", "artifacts", "batch", "audit", "events")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS_ALLOWED = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# SQS-triggered Lambda batch size ceiling for standard queues (with a batching window).
MAX_SQS_BATCH_SIZE = 10_000
# API Gateway HTTP APIs refuse payloads above 10 MB; a larger limit could never be reached.
MAX_HTTP_API_PAYLOAD_BYTES = 10 * 1024 * 1024
# A synchronous Lambda invocation's request payload: the real ceiling behind an HTTP API -> Lambda route.
MAX_LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024

# A Distributed Map runs at most this many child executions at once.
MAX_DISTRIBUTED_MAP_CONCURRENCY = 10_000

# Reserved concurrency comes out of the account's regional quota (1,000 by default), and Lambda refuses a
# reservation that leaves fewer than 100 unreserved: no one function may take more than the difference.
MAX_RESERVED_CONCURRENCY = 900
LAMBDA_MEMORY_MB_RANGE = (128, 10_240)  # what Lambda allocates a function, in MB
# An SQS event source mapping's maximum concurrency is at least 2; a consumer's reservation sets it.
MIN_QUEUE_CONSUMER_CONCURRENCY = 2
# API Gateway's default account-level throttle per region (requests per second, burst): a route's own
# limits above these are never reached.
MAX_API_RATE_LIMIT = 10_000
MAX_API_BURST_LIMIT = 5_000

_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

LambdaDependencyMode = Literal["layer", "bundle"]
ApiFrontDoor = Literal["httpApi", "functionUrl"]
T = TypeVar("T")


class ConfigError(ValueError):
    """A stack configuration value is missing or not allowed."""


@dataclass(frozen=True, kw_only=True)
class ApiThrottle:
    """API Gateway's token bucket for each route of a front door: beyond it, callers get 429."""

    rate_limit_per_second: int  # steady-state requests per second
    burst_limit: int  # requests accepted at once above the steady rate


class ConfigSource(Protocol):
    """What `pulumi.Config(PROJECT)` offers: the raw string of a key, or None when unset."""

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class TransformSettings:
    """XML -> JSON pipeline settings (config keys transform*)."""

    max_upload_bytes: int
    max_xml_depth: int
    batch_size: int
    max_receive_count: int
    rule_cache_seconds: int
    notify_emails: tuple[str, ...]
    api_concurrency: int  # reserved, each of POST /upload and GET /uploads/{id}
    worker_concurrency: int  # reserved for the worker; also its SQS mapping's maximum concurrency
    worker_memory_mb: int  # the worker's memory (and, in proportion, its CPU)
    dead_letter_concurrency: int  # reserved for the DLQ's consumer; also its mapping's maximum concurrency
    api_throttle: ApiThrottle
    # An existing OpenID Connect issuer for the upload routes, and the audiences its tokens carry; None:
    # the stack creates a Cognito user pool.
    jwt_issuer: str | None
    jwt_audiences: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ArtifactSettings:
    """Build artifact distribution settings (config keys artifact*)."""

    hosts_per_region: int
    max_hosts_per_region: int  # the cap on hosts_per_region: one build writes hosts x regions items
    build_batch_size: int
    max_receive_count: int
    failure_emails: tuple[str, ...]
    build_worker_concurrency: int  # reserved; also its SQS mapping's maximum concurrency
    api_throttle: ApiThrottle  # POST /builds
    distributed_keys: DistributedKeys  # which objects of the global bucket are distributed


@dataclass(frozen=True, kw_only=True)
class BatchSettings:
    """Multi-region batch processing settings (config keys batch*)."""

    records_per_chunk: int
    max_concurrency: int
    sender_email: str
    recipient_emails: tuple[str, ...]
    link_expiry_seconds: int
    replication_time_control: bool
    multi_region_access_point: bool
    alarm_emails: tuple[str, ...]
    work_retention_days: int
    api_concurrency: int  # reserved for GET /financials/{uuid}, per region
    api_throttle: ApiThrottle


@dataclass(frozen=True, kw_only=True)
class FailoverSettings:
    """The active-region signal and the failover runbook (config keys activeRegion*, failover*)."""

    zone_name: str
    ttl_seconds: int
    recovery_control: bool  # Route 53 ARC drives the signal (AWS only)
    replication_wait_seconds: int
    automation_document: bool  # SSM Automation starts the runbook (AWS only)
    chaos_experiment: bool  # FIS template cutting the private subnets off S3 and DynamoDB (AWS only)


@dataclass(frozen=True, kw_only=True)
class AuditSettings:
    """Audit ingest (config keys audit*)."""

    redis_endpoint: str | None  # "host:port"; None: an ElastiCache replication group (AWS)
    redis_replicas: int
    redis_node_type: str
    max_body_bytes: int
    redis_ttl_seconds: int
    idempotency_ttl_seconds: int
    subscriber_emails: tuple[str, ...]
    api_concurrency: int  # reserved for POST /audit
    api_throttle: ApiThrottle
    redis_memory_alarm_percent: int  # a Redis node above this % of its memory alarms (writes stop at 100%)


@dataclass(frozen=True, kw_only=True)
class EventsSettings:
    """Active-active events (config keys events*)."""

    consistency: Literal["eventual", "strong"]  # strong: DynamoDB multi-Region strong consistency
    witness_region: str | None  # MRSC's third region (a witness) when only two regions hold replicas
    max_clock_skew_seconds: int
    idempotency_ttl_seconds: int
    alarm_emails: tuple[str, ...]
    api_concurrency: int  # reserved for POST /events, per region
    api_throttle: ApiThrottle


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Everything the program reads from stack config, validated."""

    stack: str
    regions: tuple[str, ...]
    systems: frozenset[str]  # of SYSTEMS: the ones this stack deploys
    log_retention_days: int
    lambda_dependencies: LambdaDependencyMode
    api_front_door: ApiFrontDoor
    api_waf: bool  # AWS WAF on the front doors that take one (REST API stages, the user pool)
    tracing: bool
    transform: TransformSettings
    artifacts: ArtifactSettings
    batch: BatchSettings
    failover: FailoverSettings
    audit: AuditSettings
    events: EventsSettings

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return self.regions[1:]


def load_settings(source: ConfigSource, *, stack: str) -> StackSettings:
    """Read and validate every project key; raise ConfigError naming the first bad one."""
    reader = _Reader(source)
    return StackSettings(
        stack=stack,
        regions=reader.read("regions", _region_list),
        systems=reader.read("systems", _system_list),
        log_retention_days=reader.read("logRetentionDays", _one_of_ints(LOG_RETENTION_DAYS_ALLOWED)),
        lambda_dependencies=cast(
            LambdaDependencyMode, reader.read("lambdaDependencies", _one_of_strings(("layer", "bundle")))
        ),
        api_front_door=cast(
            ApiFrontDoor, reader.read("apiFrontDoor", _one_of_strings(("httpApi", "functionUrl")))
        ),
        api_waf=reader.read("apiWaf", _boolean),
        tracing=reader.read("tracing", _boolean),
        transform=TransformSettings(
            max_upload_bytes=reader.read(
                "transformMaxUploadBytes", _int_between(1, MAX_HTTP_API_PAYLOAD_BYTES)
            ),
            max_xml_depth=reader.read("transformMaxXmlDepth", _int_between(1, 1000)),
            batch_size=reader.read("transformBatchSize", _int_between(1, MAX_SQS_BATCH_SIZE)),
            max_receive_count=reader.read("transformMaxReceiveCount", _int_between(1, 1000)),
            rule_cache_seconds=reader.read("transformRuleCacheSeconds", _int_between(0, 3600)),
            notify_emails=reader.read("transformNotifyEmails", _email_list),
            api_concurrency=reader.read("transformApiConcurrency", _reserved_concurrency),
            worker_concurrency=reader.read("transformWorkerConcurrency", _consumer_concurrency),
            worker_memory_mb=reader.read("transformWorkerMemoryMb", _int_between(*LAMBDA_MEMORY_MB_RANGE)),
            dead_letter_concurrency=reader.read("transformDeadLetterConcurrency", _consumer_concurrency),
            api_throttle=_api_throttle(reader, "transform"),
            **_jwt_issuer(reader, "transform"),
        ),
        artifacts=_artifact_settings(reader),
        batch=BatchSettings(
            records_per_chunk=reader.read("batchRecordsPerChunk", _int_between(1, 1_000_000)),
            max_concurrency=reader.read(
                "batchMaxConcurrency", _int_between(1, MAX_DISTRIBUTED_MAP_CONCURRENCY)
            ),
            sender_email=reader.read("batchSenderEmail", _email),
            recipient_emails=reader.read("batchRecipientEmails", _non_empty(_email_list)),
            link_expiry_seconds=reader.read(
                "batchLinkExpirySeconds", _int_between(60, MAX_LINK_EXPIRY_SECONDS)
            ),
            replication_time_control=reader.read("batchReplicationTimeControl", _boolean),
            multi_region_access_point=reader.read("batchMultiRegionAccessPoint", _boolean),
            alarm_emails=reader.read("batchAlarmEmails", _email_list),
            work_retention_days=reader.read("batchWorkRetentionDays", _int_between(1, 3650)),
            api_concurrency=reader.read("batchApiConcurrency", _reserved_concurrency),
            api_throttle=_api_throttle(reader, "batch"),
        ),
        failover=FailoverSettings(
            zone_name=reader.read("activeRegionZoneName", _dns_name),
            ttl_seconds=reader.read("activeRegionTtlSeconds", _int_between(1, 86_400)),
            recovery_control=reader.read("activeRegionRecoveryControl", _boolean),
            replication_wait_seconds=reader.read("failoverReplicationWaitSeconds", _int_between(0, 86_400)),
            automation_document=reader.read("failoverAutomationDocument", _boolean),
            chaos_experiment=reader.read("failoverChaosExperiment", _boolean),
        ),
        audit=AuditSettings(
            redis_endpoint=reader.read("auditRedisEndpoint", _optional_endpoint),
            redis_replicas=reader.read("auditRedisReplicas", _int_between(0, 5)),
            redis_memory_alarm_percent=reader.read("auditRedisMemoryAlarmPercent", _int_between(1, 99)),
            redis_node_type=reader.read("auditRedisNodeType", _cache_node_type),
            max_body_bytes=reader.read("auditMaxBodyBytes", _int_between(1, MAX_LAMBDA_SYNC_PAYLOAD_BYTES)),
            redis_ttl_seconds=reader.read("auditRedisTtlSeconds", _int_between(60, 30 * 86_400)),
            idempotency_ttl_seconds=reader.read("auditIdempotencyTtlSeconds", _int_between(60, 30 * 86_400)),
            subscriber_emails=reader.read("auditSubscriberEmails", _email_list),
            api_concurrency=reader.read("auditApiConcurrency", _reserved_concurrency),
            api_throttle=_api_throttle(reader, "audit"),
        ),
        events=_events_settings(reader),
    )


def _events_settings(reader: _Reader) -> EventsSettings:
    consistency = cast(
        Literal["eventual", "strong"],
        reader.read("eventsConsistency", _one_of_strings(("eventual", "strong"))),
    )
    witness = reader.read("eventsWitnessRegion", _optional_region)
    if consistency == "strong" and witness is None:
        raise ConfigError(
            f"config key {PROJECT}:eventsConsistency = 'strong' needs {PROJECT}:eventsWitnessRegion: "
            "multi-Region strong consistency runs on three regions, the two replicas and a witness "
            "(e.g. us-east-2 for us-east-1 + us-west-2)"
        )
    return EventsSettings(
        consistency=consistency,
        witness_region=witness,
        max_clock_skew_seconds=reader.read("eventsMaxClockSkewSeconds", _int_between(1, 86_400)),
        idempotency_ttl_seconds=reader.read("eventsIdempotencyTtlSeconds", _int_between(60, 30 * 86_400)),
        alarm_emails=reader.read("eventsAlarmEmails", _email_list),
        api_concurrency=reader.read("eventsApiConcurrency", _reserved_concurrency),
        api_throttle=_api_throttle(reader, "events"),
    )


def _artifact_settings(reader: _Reader) -> ArtifactSettings:
    cap = reader.read("artifactMaxHostsPerRegion", _int_between(1, HOSTS_PER_REGION_CEILING))
    hosts = reader.read("artifactHostsPerRegion", _int_between(1, HOSTS_PER_REGION_CEILING))
    if hosts > cap:
        raise ConfigError(
            f"config key {PROJECT}:artifactHostsPerRegion = {hosts} is above "
            f"{PROJECT}:artifactMaxHostsPerRegion = {cap}: each POST /builds would write {hosts} host-log "
            "items in every region; lower artifactHostsPerRegion, or raise artifactMaxHostsPerRegion "
            f"(at most {HOSTS_PER_REGION_CEILING}) if that fan-out is intended"
        )
    return ArtifactSettings(
        hosts_per_region=hosts,
        max_hosts_per_region=cap,
        build_batch_size=reader.read("artifactBuildBatchSize", _int_between(1, 10)),
        max_receive_count=reader.read("artifactMaxReceiveCount", _int_between(1, 1000)),
        failure_emails=reader.read("artifactFailureEmails", _email_list),
        build_worker_concurrency=reader.read("artifactBuildWorkerConcurrency", _consumer_concurrency),
        api_throttle=_api_throttle(reader, "artifact"),
        distributed_keys=DistributedKeys(
            key_prefix=reader.read("artifactDistributionKeyPrefix", _object_key_part),
            key_suffix=reader.read("artifactDistributionKeySuffix", _object_key_part),
        ),
    )


def _object_key_part(raw: str) -> str:
    """A literal start or end of S3 object keys (S3 notification filters take no wildcards); "" for any."""
    if raw and (problem := object_key_problem(raw)):
        raise ConfigError(f"a key prefix or suffix {problem}")
    if "*" in raw:
        raise ConfigError("S3 key filters are literal: '*' matches only a '*' in a key; leave it out")
    return raw


def _jwt_issuer(reader: _Reader, prefix: str) -> dict[str, Any]:
    """`<prefix>JwtIssuer` ("" for the stack's own user pool) and `<prefix>JwtAudiences` (needed with it)."""
    issuer = reader.read(f"{prefix}JwtIssuer", _issuer_url) or None
    audiences = reader.read(f"{prefix}JwtAudiences", _string_list)
    if issuer is not None and not audiences:
        raise ConfigError(
            f"config key {PROJECT}:{prefix}JwtIssuer = {issuer!r} needs {PROJECT}:{prefix}JwtAudiences: the "
            "client ids (aud or client_id claims) whose tokens the upload routes accept"
        )
    return {"jwt_issuer": issuer, "jwt_audiences": audiences}


def _issuer_url(raw: str) -> str:
    if raw and not re.match(r"^https://[^\s/]+(/\S*)?$", raw):
        raise ConfigError("expected an https:// issuer URL (the tokens' iss claim), or empty")
    return raw.rstrip("/")


def _api_throttle(reader: _Reader, prefix: str) -> ApiThrottle:
    """`<prefix>ApiRateLimit` and `<prefix>ApiBurstLimit`: the throttle of each of a front door's routes."""
    return ApiThrottle(
        rate_limit_per_second=reader.read(f"{prefix}ApiRateLimit", _int_between(1, MAX_API_RATE_LIMIT)),
        burst_limit=reader.read(f"{prefix}ApiBurstLimit", _int_between(1, MAX_API_BURST_LIMIT)),
    )


class _Reader:
    def __init__(self, source: ConfigSource) -> None:
        self._source = source

    def read(self, key: str, parse: Callable[[str], T]) -> T:
        raw = self._source.get(key)
        if raw is None:
            raise ConfigError(
                f"config key {PROJECT}:{key} is missing; Pulumi.yaml declares its default, "
                f"so set it in the stack file or run through `pulumi`/localcloud"
            )
        try:
            return parse(raw)
        except ConfigError as problem:
            raise ConfigError(f"config key {PROJECT}:{key} = {raw!r} is not allowed: {problem}") from None


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"expected an integer from {low} to {high}") from None
        if not low <= value <= high:
            raise ConfigError(f"expected an integer from {low} to {high}")
        return value

    return parse


# 0 would throttle every invocation (Lambda's "off switch"), never a useful setting here.
_reserved_concurrency = _int_between(1, MAX_RESERVED_CONCURRENCY)
_consumer_concurrency = _int_between(MIN_QUEUE_CONSUMER_CONCURRENCY, MAX_RESERVED_CONCURRENCY)


def _one_of_ints(allowed: Sequence[int]) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.strip().isdigit() or int(raw) not in allowed:
            raise ConfigError(f"expected one of {', '.join(map(str, allowed))}")
        return int(raw)

    return parse


def _one_of_strings(allowed: Sequence[str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ConfigError(f"expected one of {', '.join(allowed)}")
        return raw

    return parse


def _boolean(raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ConfigError("expected true or false")
    return raw.lower() == "true"


def _string_list(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError("expected a list of strings") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError("expected a list of strings")
    return tuple(value)


def _region_list(raw: str) -> tuple[str, ...]:
    regions = _string_list(raw)
    if len(regions) < 2:
        raise ConfigError(
            "expected at least two AWS regions, the primary first (e.g. [us-east-1, us-west-2])"
        )
    for region in regions:
        if not _REGION.match(region):
            raise ConfigError(f"{region!r} is not an AWS region name such as us-east-1")
    if len(set(regions)) != len(regions):
        raise ConfigError("each region may appear once")
    return regions


def _system_list(raw: str) -> frozenset[str]:
    systems = _string_list(raw)
    if not systems:
        raise ConfigError(f"expected one or more of {', '.join(SYSTEMS)}")
    for system in systems:
        if system not in SYSTEMS:
            raise ConfigError(f"{system!r} is not a system; the systems are {', '.join(SYSTEMS)}")
    if len(set(systems)) != len(systems):
        raise ConfigError("each system may appear once")
    return frozenset(systems)


def _email_list(raw: str) -> tuple[str, ...]:
    emails = _string_list(raw)
    for email in emails:
        if not _EMAIL.match(email):
            raise ConfigError(f"{email!r} is not an email address")
    return emails


def _email(raw: str) -> str:
    if not _EMAIL.match(raw):
        raise ConfigError(f"{raw!r} is not an email address")
    return raw


def _non_empty(parse: Callable[[str], tuple[str, ...]]) -> Callable[[str], tuple[str, ...]]:
    def parse_non_empty(raw: str) -> tuple[str, ...]:
        values = parse(raw)
        if not values:
            raise ConfigError("expected at least one value")
        return values

    return parse_non_empty


def _optional_endpoint(raw: str) -> str | None:
    if raw == "":
        return None
    host, separator, port = raw.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("expected host:port such as localhost:6379, or empty for ElastiCache")
    return raw


def _optional_region(raw: str) -> str | None:
    if raw == "":
        return None
    if not _REGION.match(raw):
        raise ConfigError(f"{raw!r} is not an AWS region name such as us-east-2")
    return raw


def _cache_node_type(raw: str) -> str:
    if not raw.startswith("cache."):
        raise ConfigError("expected an ElastiCache node type such as cache.t4g.small")
    return raw


def _dns_name(raw: str) -> str:
    if not _DNS_NAME.match(raw):
        raise ConfigError("expected a lower-case DNS name such as regionflow.internal")
    return raw
