"""Artifact distribution's contract: what ArtifactDistribution, its workflow and its handlers share.

Each function's settings (its environment variables, with the one default of each), how a build is
named in the buckets and on the queue, the key attributes of the tracking table and the host
deployment log, and the copy errors the file-distribution workflow retries. Pure Python: the Pulumi
program imports this with requirements.txt alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.environment import Environment, SettingError

# The build worker names each build `build-<id>.zip` (its IAM scopes to the prefix).
BUILD_KEY_PREFIX = "build-"
BUILD_KEY_SUFFIX = ".zip"
# S3's own limit on a key, and so on a distributed object's key in the tracking table and host log.
MAX_OBJECT_KEY_BYTES = 1024
# POST /builds puts the API Gateway request id on each message as this attribute; the worker builds under it.
BUILD_ID_ATTRIBUTE = "buildId"
# What a build request's commit must be: the API's request validator and the build worker both check it.
# A full SHA-1 or SHA-256 name's prefix of at least 4 digits, the shortest git abbreviates to (core.abbrev);
# the seed's own request sends a 6-digit one.
COMMIT_PATTERN = "[0-9a-f]{4,64}"

# The file-copy tracking table, written by the file-distribution workflow: one row per distributed file.
TRACKING_TABLE_KEY = "fileKey"
TRACKING_TABLE_SORT_KEY = "sourceBucket"
# The host deployment log: one item per (host, build); the GSI on build_id counts a build's hosts.
# build_id is the distributed object's key (`build-123.zip`), so the seed's scan
# (`build_id = "build-123.zip"`) counts what it expects.
HOST_LOG_KEY = "host_id"
HOST_LOG_SORT_KEY = "build_id"
BUILD_ID_INDEX = "build_id-index"
# The most hosts per region any stack may simulate, whatever its cap (config artifactMaxHostsPerRegion):
# one POST /builds writes hosts x regions host-log items, each a billed DynamoDB write, so an anonymous
# request must never be able to cost more than this.
HOSTS_PER_REGION_CEILING = 50_000

# What "Copy to bucket" raises when a retry may succeed, by the name Lambda reports (the exception's class
# name) and so Step Functions matches: copy_to_bucket.py turns every S3 refusal a retry cannot change into
# CopyRejectedError and lets any other S3 error through as botocore's ClientError (SlowDown, InternalError,
# ...); botocore's network failures; and a timed-out invocation, reported as Sandbox.Timedout (Lambda's
# documentation names it Lambda.Unknown), since a copy rewrites the same object and running it again is
# safe. CopyRejectedError and InvalidCopyInputError are permanent: never retried.
COPY_TRANSIENT_ERRORS = (
    "ClientError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "Sandbox.Timedout",
    "Lambda.Unknown",
)


@dataclass(frozen=True, kw_only=True)
class BuildWorkerSettings(Environment):
    """The build worker on the builds queue (handlers/artifacts/build_worker.py)."""

    global_bucket: str


@dataclass(frozen=True, kw_only=True)
class DistributedKeys:
    """Which objects of the global bucket are distributed (config artifactDistributionKeyPrefix and
    artifactDistributionKeySuffix): every object by default, the build worker's `build-<id>.zip` and
    anything a person copies in alike (the seed's `aws s3 cp test-file.zip s3://global-builds/`). The
    buckets' notifications filter on them, IAM scopes to the prefix, and Validate input refuses a key
    outside them."""

    key_prefix: str = ""
    key_suffix: str = ""

    def __post_init__(self) -> None:
        for name, value in (("KEY_PREFIX", self.key_prefix), ("KEY_SUFFIX", self.key_suffix)):
            if value and (problem := object_key_problem(value)):
                raise SettingError(f"{name} {value!r} {problem}")

    def admits(self, key: str) -> bool:
        return (
            len(key) >= len(self.key_prefix) + len(self.key_suffix)
            and key.startswith(self.key_prefix)
            and key.endswith(self.key_suffix)
        )

    def describe(self) -> str:
        if not (self.key_prefix or self.key_suffix):
            return "any key"
        return f"keys like '{self.key_prefix}*{self.key_suffix}'"


EVERY_KEY = DistributedKeys()


def object_key_problem(key: str) -> str | None:
    """Why `key` cannot be an S3 object key (or a part of one), or None when it can."""
    if not key:
        return "is empty"
    if len(key.encode("utf-8")) > MAX_OBJECT_KEY_BYTES:
        return f"is longer than S3's {MAX_OBJECT_KEY_BYTES} bytes of UTF-8"
    return None


@dataclass(frozen=True, kw_only=True)
class ValidateInputSettings(DistributedKeys, Environment):
    """The file-distribution workflow's first state (handlers/artifacts/validate_input.py)."""


@dataclass(frozen=True, kw_only=True)
class ReplicationWorkerSettings(Environment):
    """Global bucket events -> file-distribution executions (handlers/artifacts/replication_worker.py)."""

    state_machine_arn: str
    destination_buckets: tuple[dict[str, str], ...]  # [{"bucket", "region"}, ...]: every regional bucket

    def __post_init__(self) -> None:
        if not self.destination_buckets:
            raise SettingError('DESTINATION_BUCKETS must be a non-empty JSON list of {"bucket","region"}')
        destinations = []
        for entry in self.destination_buckets:
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("bucket"), str)
                and isinstance(entry.get("region"), str)
            ):
                raise SettingError(f'DESTINATION_BUCKETS entry {entry!r} is not {{"bucket","region"}}')
            destinations.append({"bucket": entry["bucket"], "region": entry["region"]})
        # The workflow input carries exactly these two keys per destination.
        object.__setattr__(self, "destination_buckets", tuple(destinations))


@dataclass(frozen=True, kw_only=True)
class RegionalSyncSettings(Environment):
    """A regional bucket's events -> host deployment log items (handlers/artifacts/regional_sync.py)."""

    host_log_table: str
    host_log_region: str | None = None  # the log's region when it is not the function's own
    hosts_per_region: int = 5000
    # The stack's cap on hosts_per_region: checked here too, so a hand-edited HOSTS_PER_REGION cannot
    # make one build's fan-out larger than the stack allows.
    max_hosts_per_region: int = 5000
    max_write_attempts: int = 8  # BatchWriteItem requests per batch of 25 before giving up
    max_requests_in_flight: int = 4

    def __post_init__(self) -> None:
        if self.hosts_per_region < 1:
            raise SettingError(f"HOSTS_PER_REGION must be at least 1, got {self.hosts_per_region}")
        if not 1 <= self.max_hosts_per_region <= HOSTS_PER_REGION_CEILING:
            raise SettingError(
                f"MAX_HOSTS_PER_REGION must be from 1 to {HOSTS_PER_REGION_CEILING}, "
                f"got {self.max_hosts_per_region}"
            )
        if self.hosts_per_region > self.max_hosts_per_region:
            raise SettingError(
                f"HOSTS_PER_REGION={self.hosts_per_region} is above MAX_HOSTS_PER_REGION="
                f"{self.max_hosts_per_region}: refusing to write that many host-log items per build; set "
                "the stack's artifactHostsPerRegion within artifactMaxHostsPerRegion and redeploy"
            )
