"""Regional bucket ObjectCreated -> simulated peer-to-peer rollout of the build to this region's hosts.

Every object the bucket announces is a build (the notification's key filter decides which: config
artifactDistributionKeyPrefix / ...Suffix), its key the build id the log records (`build-123.zip`, as
the seed's scan asks). One host deployment log item per (host, build): a redelivered S3 event
overwrites the same items, so the count of hosts per build never doubles. Hosts form a tree with
fan-out 4: host 0 downloads from the bucket, host n from host (n - 1) // 4, recorded as `peer`. Items
go in with BatchWriteItem, 25 per request; DynamoDB may return some as UnprocessedItems when throttled,
and those are retried with capped exponential backoff and full jitter, a bounded number of times, then
the function raises so Lambda's asynchronous retries and DLQ take over.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.artifacts.contract import HOST_LOG_KEY, HOST_LOG_SORT_KEY, RegionalSyncSettings
from handlers.environment import runtime_region

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestUnionTypeDef

BATCH_WRITE_MAX_ITEMS = 25  # DynamoDB's BatchWriteItem limit
P2P_FAN_OUT = 4
BASE_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 2.0
STATUS_DEPLOYED = "DEPLOYED"

logger = Logger(service="artifact-regional-sync")
tracer = Tracer(service="artifact-regional-sync")
metrics = Metrics(namespace="regionflow", service="artifact-regional-sync")

Item = Mapping[str, Any]  # a DynamoDB item in the low-level {"name": {"S": "..."}} form


class HostLogWriteIncompleteError(Exception):
    """DynamoDB kept returning UnprocessedItems after every retry: the rollout was not fully recorded."""


@dataclass(frozen=True)
class WriteReport:
    items: int
    requests: int
    retried_items: int


@dataclass(frozen=True)
class SyncDependencies:
    dynamodb: DynamoDBClient
    settings: RegionalSyncSettings
    region: str  # the region this function runs in: its hosts


@functools.cache
def dependencies() -> SyncDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = RegionalSyncSettings.from_environment(os.environ)
    region = runtime_region(os.environ)
    # The log table may live in another region than this function (one table for every region).
    table_region = settings.host_log_region or region
    return SyncDependencies(
        dynamodb=boto3.client("dynamodb", region_name=table_region), settings=settings, region=region
    )


def host_id(region: str, number: int) -> str:
    return f"{region}-host-{number:05d}"


def host_records(
    *, region: str, bucket: str, key: str, hosts: int, deployed_at: datetime
) -> list[dict[str, Any]]:
    """One item per host; host n received the build from its parent in a fan-out-4 tree."""
    stamp = deployed_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    source = f"s3://{bucket}/{key}"
    items: list[dict[str, Any]] = []
    for n in range(hosts):
        peer = source if n == 0 else host_id(region, (n - 1) // P2P_FAN_OUT)
        items.append(
            {
                HOST_LOG_KEY: {"S": host_id(region, n)},
                HOST_LOG_SORT_KEY: {"S": key},
                "region": {"S": region},
                "status": {"S": STATUS_DEPLOYED},
                "deployedAt": {"S": stamp},
                "sourceBucket": {"S": bucket},
                "peer": {"S": peer},
            }
        )
    return items


def _chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _backoff_seconds(attempt: int) -> float:
    """Full jitter (AWS Architecture Blog): uniform in [0, min(cap, base * 2^attempt)]."""
    ceiling = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 - retry jitter, not cryptography


def _write_chunk(
    client: DynamoDBClient,
    table: str,
    chunk: Sequence[Item],
    max_attempts: int,
    sleep: Callable[[float], None],
) -> tuple[int, int, int]:
    """Write one chunk; returns (requests made, items retried, items still unprocessed)."""
    pending: list[WriteRequestUnionTypeDef] = [{"PutRequest": {"Item": item}} for item in chunk]
    requests = retried = 0
    for attempt in range(max_attempts):
        if attempt:
            sleep(_backoff_seconds(attempt - 1))
            retried += len(pending)
        response = client.batch_write_item(RequestItems={table: pending})
        requests += 1
        pending = list(response.get("UnprocessedItems", {}).get(table, []))
        if not pending:
            break
    return requests, retried, len(pending)


def write_host_records(
    client: DynamoDBClient,
    table: str,
    items: Sequence[Item],
    *,
    max_attempts: int = RegionalSyncSettings.max_write_attempts,
    sleep: Callable[[float], None] = time.sleep,
    max_in_flight: int = 1,
) -> WriteReport:
    """BatchWriteItem `items` 25 at a time, up to `max_in_flight` requests at once; raises
    HostLogWriteIncompleteError naming how many items were left after `max_attempts` per batch."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    chunks = list(_chunks(items, BATCH_WRITE_MAX_ITEMS))
    if max_in_flight > 1 and len(chunks) > 1:
        # boto3 clients are thread-safe; requests overlap on the network, not in Python.
        with ThreadPoolExecutor(max_workers=max_in_flight) as pool:
            outcomes = list(
                pool.map(lambda chunk: _write_chunk(client, table, chunk, max_attempts, sleep), chunks)
            )
    else:
        outcomes = [_write_chunk(client, table, chunk, max_attempts, sleep) for chunk in chunks]
    left = sum(outcome[2] for outcome in outcomes)
    if left:
        raise HostLogWriteIncompleteError(
            f"{left} of {len(items)} host records were still unprocessed by table {table} after "
            f"{max_attempts} attempts per batch; the table is throttling - raise its capacity or retry"
        )
    return WriteReport(
        items=len(items),
        requests=sum(outcome[0] for outcome in outcomes),
        retried_items=sum(outcome[1] for outcome in outcomes),
    )


def sync_event(
    event: Mapping[str, Any],
    *,
    dynamodb: DynamoDBClient,
    settings: RegionalSyncSettings,
    region: str,
    now: datetime,
) -> list[str]:
    """Record the rollout of every build the event announces; returns the build ids (keys) synced."""
    synced: list[str] = []
    records = [] if event.get("Event") == "s3:TestEvent" else list(S3Event(dict(event)).records)
    for record in records:
        bucket = record.s3.bucket.name
        # Keys arrive URL-encoded with '+' for spaces.
        key = unquote_plus(record.s3.get_object.key)
        items = host_records(
            region=region,
            bucket=bucket,
            key=key,
            hosts=settings.hosts_per_region,
            deployed_at=now,
        )
        report = write_host_records(
            dynamodb,
            settings.host_log_table,
            items,
            max_attempts=settings.max_write_attempts,
            max_in_flight=settings.max_requests_in_flight,
        )
        metrics.add_metric(name="HostsDeployed", unit=MetricUnit.Count, value=report.items)
        logger.info(
            "build rolled out",
            extra={
                "buildId": key,
                "hosts": report.items,
                "requests": report.requests,
                "retriedItems": report.retried_items,
            },
        )
        synced.append(key)
    return synced


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    synced = sync_event(
        event, dynamodb=deps.dynamodb, settings=deps.settings, region=deps.region, now=datetime.now(UTC)
    )
    return {"region": deps.region, "builds": synced, "hostsPerBuild": deps.settings.hosts_per_region}
