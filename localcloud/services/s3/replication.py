"""S3 bucket replication, which moto leaves out: it stores a replication configuration and copies nothing.

S3Replicator runs the data plane from outside moto, through ordinary boto3 clients bound to the emulator,
on a background loop: it polls each source bucket's object versions and copies new ones to each enabled
rule's destination, marking what it wrote as replicas so two-way replication does not loop. It works
through the public API only (no moto internals), so it runs against any endpoint the client factory points
at; the price is polling latency (tens of ms) and O(objects) listings per poll, fine for local data sizes.

The rules come from a record the provisioner keeps (ReplicationRecord), not from GetBucketReplication:
moto 5.2.5 answers that with every Filter turned into `Prefix: ""` and DeleteMarkerReplication reset,
which would replicate everything. So only configurations deployed by the program replicate.

Each copy is made as the configuration's role would make it (replication_role.py): S3 must be able to
assume the role and the role allowed the replication actions on the source and destination; otherwise
the version is not copied and its status is FAILED, as on AWS, and the denial is counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from localcloud.core.clients import ClientFactory
from localcloud.core.loop import BackgroundLoop
from localcloud.services.s3 import patches as s3_patches
from localcloud.services.s3.replication_role import (
    ReplicationCheck,
    ReplicationRefusedError,
    ReplicationRole,
    kms_key_arn,
    version_checks,
)

logger = logging.getLogger(__name__)

# S3's ReplicationStatus values (x-amz-replication-status): the source version is PENDING until copied,
# then COMPLETED (or FAILED); the copy in the destination is a REPLICA.
PENDING, COMPLETED, FAILED, REPLICA = "PENDING", "COMPLETED", "FAILED", "REPLICA"
# A copy that fails this many polls in a row is given up as FAILED (S3 does not retry forever either),
# so wait_replicated() cannot hang on a destination that does not exist.
MAX_COPY_ATTEMPTS = 5
# While passes find nothing new and nothing is left to copy, the thread polls twice as late after each, up
# to this: a pass lists every source bucket's versions (a request per bucket and page), and passes every
# poll_interval over an idle stack cost its process a fifth of a core. A write to a source bucket wakes
# the thread at once (patches.OBJECT_WRITES, in process), so the idle interval only bounds how late
# a write made behind its back (another endpoint) is seen.
IDLE_POLL_INTERVAL = 2.0


@dataclass(frozen=True, kw_only=True)
class ReplicationConfig:
    """One bucket's replication rules as the program deployed them (API shape: ID, Filter, Destination)."""

    bucket: str
    region: str
    role_arn: str
    rules: tuple[dict[str, Any], ...]


@dataclass
class ReplicationRecord:
    """The deployment's replication configurations, for the replicator (see the module docstring)."""

    configs: list[ReplicationConfig] = field(default_factory=list)


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    priority: int
    enabled: bool
    prefix: str
    tags: dict[str, str]
    destination_bucket: str
    storage_class: str | None
    delete_markers: bool
    existing_objects: bool
    replica_kms_key: str | None  # EncryptionConfiguration.ReplicaKmsKeyID: replicas encrypted under it

    @classmethod
    def parse(cls, rule: dict[str, Any]) -> _Rule:
        flt = rule.get("Filter")
        prefix, tags = rule.get("Prefix") or "", {}  # V1 rules: Prefix at top level, no Filter
        if isinstance(flt, dict):
            conj = flt.get("And") or {}
            prefix = flt.get("Prefix") or conj.get("Prefix") or ""
            tag_list = ([flt["Tag"]] if flt.get("Tag") else []) + list(conj.get("Tags") or [])
            tags = {tag["Key"]: tag["Value"] for tag in tag_list}
        destination = rule.get("Destination") or {}
        # V1 rules (no Filter) replicate delete markers; V2 rules only when DeleteMarkerReplication says so.
        dmr = (rule.get("DeleteMarkerReplication") or {}).get("Status")
        delete_markers = dmr == "Enabled" if flt is not None else dmr != "Disabled"
        return cls(
            rule_id=str(rule.get("ID") or rule.get("Id") or ""),
            priority=int(rule.get("Priority") or 0),
            enabled=rule.get("Status") == "Enabled",
            prefix=prefix,
            tags=tags,
            destination_bucket=str(destination.get("Bucket", "")).removeprefix("arn:aws:s3:::"),
            storage_class=destination.get("StorageClass"),
            delete_markers=delete_markers,
            existing_objects=(rule.get("ExistingObjectReplication") or {}).get("Status") == "Enabled",
            replica_kms_key=(destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID"),
        )


@dataclass
class _S3Task:
    bucket: str
    region: str
    key: str
    version_id: str
    delete_marker: bool
    existing: bool  # present when the replicator started: only rules with ExistingObjectReplication
    due: float
    attempts: int = 0
    done_destinations: set[str] = field(default_factory=set)


class S3Replicator(BackgroundLoop):
    """Copies new object versions (and, where a rule says so, delete markers) to the rules' destinations.

    Change capture is by polling list_object_versions rather than hooking moto's put: it needs no moto
    internals, sees writes from every path (put, copy, multipart, presigned, Lambda workers in other
    processes) and makes the replication lag real rather than simulated. Versions that exist when start()
    runs are a baseline and are replicated only by rules with ExistingObjectReplication Enabled, as in S3.
    Copies the replicator writes are remembered by version and never replicated again (S3's REPLICA
    status), which is what stops two-way replication between a bucket pair from looping.

    The rules come from the provisioner's ReplicationRecord (see the module docstring).
    """

    def __init__(
        self,
        client_factory: ClientFactory,
        configs: Iterable[ReplicationConfig],
        *,
        lag_seconds: float = 0.0,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(name="s3-replicator", retry_seconds=poll_interval)
        self.poll_interval = poll_interval
        self._lock = threading.RLock()  # one pass at a time: the thread's or a waiter's
        self._clients = client_factory
        self.lag_seconds = lag_seconds
        self.configs = list(configs)
        self._rules = {config.bucket: [_Rule.parse(rule) for rule in config.rules] for config in self.configs}
        self._regions = {config.bucket: config.region for config in self.configs}
        self._role_arns = {config.bucket: config.role_arn for config in self.configs}
        self._role = ReplicationRole(client_factory)
        self._client_cache: dict[tuple[str, str], Any] = {}
        self._seen: dict[str, set[tuple[str, str, str]]] = {config.bucket: set() for config in self.configs}
        self._replicas: set[tuple[str, str, str]] = set()  # (bucket, key, version identity) we wrote
        self._tasks: list[_S3Task] = []
        self._status: dict[tuple[str, str, str], str] = {}
        self.failures: list[tuple[str, str, str, str]] = []  # (bucket, key, version, error)
        self._baselined = False
        self._quiet = 0  # passes in a row that found nothing
        self._writes_in_flight = False  # the last pass passed over a version still being written

    # ---- public -----------------------------------------------------------------------------------
    def replication_status(self, bucket: str, key: str, version_id: str = "null") -> str | None:
        """PENDING / COMPLETED / FAILED for a source version, REPLICA for a copy, None if not involved.

        moto has no x-amz-replication-status, so the status lives here rather than on head_object.
        """
        with self._lock:
            return self._status.get((bucket, key, version_id))

    def wait_replicated(self, timeout: float = 10.0) -> None:
        """Return once every version written before this call has been copied (or given up as FAILED)."""
        deadline = time.monotonic() + timeout
        while True:
            self.wake()  # no idle back-off while someone waits
            # Two full passes after the call: the first may have listed before the caller's last write.
            if not self.wait_for_passes(self.passes + 2, deadline):
                break
            with self._lock:
                if not self._tasks:
                    return
            if time.monotonic() >= deadline:
                break
            if not self.running:
                time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        with self._lock:
            pending = [(task.bucket, task.key, task.version_id) for task in self._tasks]
        raise TimeoutError(f"S3 replication not done after {timeout} s; pending: {pending[:10]}")

    # ---- polling ----------------------------------------------------------------------------------
    def _client(self, service: str, region: str) -> Any:
        if (service, region) not in self._client_cache:
            self._client_cache[(service, region)] = self._clients(service, region)
        return self._client_cache[(service, region)]

    def _bucket_region(self, bucket: str) -> str:
        if bucket not in self._regions:
            location = self._client("s3", "us-east-1").get_bucket_location(Bucket=bucket)
            self._regions[bucket] = location.get("LocationConstraint") or "us-east-1"
        return self._regions[bucket]

    def before_start(self) -> None:
        with self._lock:
            if not self._baselined:
                for config in self.configs:
                    self._scan(config.bucket, existing=True)
                self._baselined = True
                s3_patches.OBJECT_WRITES.add(self._bucket_written)

    def _bucket_written(self, bucket: str) -> None:
        """A write to a source bucket while the thread is in idle back-off wakes it; one polling at the
        normal interval needs nothing (a burst of writes must not turn into back-to-back passes)."""
        if self._quiet and bucket in self._rules:
            self._quiet = 0
            self.wake()

    def stop(self) -> None:
        s3_patches.OBJECT_WRITES.remove(self._bucket_written)
        super().stop()

    def run_once(self) -> float:
        """One replication pass: list new versions, copy those that are due; then the wait before the next
        (longer and longer while passes find nothing, up to IDLE_POLL_INTERVAL)."""
        with self._lock:
            seen = sum(len(versions) for versions in self._seen.values())
            self._writes_in_flight = False
            self._poll()
            found = seen != sum(len(versions) for versions in self._seen.values())
            busy = bool(self._tasks) or found or self._writes_in_flight
            self._quiet = 0 if busy else min(self._quiet + 1, 8)
        return min(self.poll_interval * 2**self._quiet, IDLE_POLL_INTERVAL)

    def _poll(self) -> None:
        self.before_start()
        for config in self.configs:
            self._scan(config.bucket, existing=False)
        now = time.monotonic()
        remaining = []
        self._role.forget()  # a pass sees the roles and bucket policies as they are now
        for task in self._tasks:
            if task.due > now or not self._replicate(task):
                remaining.append(task)
        self._tasks = remaining

    def _scan(self, bucket: str, *, existing: bool) -> None:
        """Queue every version of `bucket` not seen before, except the replicas we wrote."""
        s3 = self._client("s3", self._regions[bucket])
        due = time.monotonic() + self.lag_seconds
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            entries = [(version, False) for version in page.get("Versions", [])]
            entries += [(marker, True) for marker in page.get("DeleteMarkers", [])]
            for entry, is_marker in entries:
                key, version_id = entry["Key"], entry.get("VersionId") or "null"
                identity = _version_identity(entry)
                if identity in self._seen[bucket]:
                    continue
                if s3_patches.OBJECT_REQUESTS_IN_FLIGHT.busy(bucket, key):
                    self._writes_in_flight = True  # seen whole by the next pass, without an idle back-off
                    continue
                self._seen[bucket].add(identity)
                if (bucket, key, identity[1]) in self._replicas:
                    continue
                if not any(self._matching_rules(bucket, key, is_marker, existing)):
                    continue
                self._status[(bucket, key, version_id)] = PENDING
                self._tasks.append(
                    _S3Task(bucket, self._regions[bucket], key, version_id, is_marker, existing, due)
                )

    def _matching_rules(
        self, bucket: str, key: str, is_marker: bool, existing: bool, tags: dict[str, str] | None = None
    ) -> Iterable[_Rule]:
        """Per destination, the highest-priority enabled rule whose filter matches (S3's conflict rule)."""
        best: dict[str, _Rule] = {}
        for rule in self._rules.get(bucket, []):
            if not rule.enabled or not key.startswith(rule.prefix):
                continue
            if existing and not rule.existing_objects:
                continue
            if is_marker and (not rule.delete_markers or rule.tags):  # S3: no marker replication by tag
                continue
            if tags is not None and any(tags.get(k) != v for k, v in rule.tags.items()):
                continue
            current = best.get(rule.destination_bucket)
            if current is None or rule.priority > current.priority:
                best[rule.destination_bucket] = rule
        return best.values()

    def _replicate(self, task: _S3Task) -> bool:
        """Copy one version to each destination; True when finished (COMPLETED or FAILED)."""
        source = self._client("s3", task.region)
        try:
            tags: dict[str, str] | None = None
            head: dict[str, Any] = {}
            if not task.delete_marker:
                head = source.head_object(Bucket=task.bucket, Key=task.key, **_vid(task.version_id))
            if not task.delete_marker and any(rule.tags for rule in self._rules[task.bucket]):
                tagging = source.get_object_tagging(Bucket=task.bucket, Key=task.key, **_vid(task.version_id))
                tags = {tag["Key"]: tag["Value"] for tag in tagging.get("TagSet", [])}
            for rule in self._matching_rules(task.bucket, task.key, task.delete_marker, task.existing, tags):
                if rule.destination_bucket in task.done_destinations:
                    continue
                self._role.authorize(self._role_arns[task.bucket], self._checks(task, rule, head))
                self._copy(task, rule)
                task.done_destinations.add(rule.destination_bucket)
        except ReplicationRefusedError as refused:
            # S3 does not retry a replication its role may not make: the version FAILED.
            logger.warning("replication of s3://%s/%s failed: %s", task.bucket, task.key, refused)
            self.failures.append((task.bucket, task.key, task.version_id, str(refused)))
            self._status[(task.bucket, task.key, task.version_id)] = FAILED
            return True
        except ClientError as error:
            task.attempts += 1
            if task.attempts < MAX_COPY_ATTEMPTS:
                return False
            logger.warning("replication of s3://%s/%s failed: %s", task.bucket, task.key, error)
            self.failures.append((task.bucket, task.key, task.version_id, str(error)))
            self._status[(task.bucket, task.key, task.version_id)] = FAILED
            return True
        self._status[(task.bucket, task.key, task.version_id)] = COMPLETED
        return True

    def _checks(self, task: _S3Task, rule: _Rule, head: dict[str, Any]) -> list[ReplicationCheck]:
        """The actions S3 performs as the role to replicate this version to the rule's destination."""
        checks = version_checks(
            task.bucket,
            rule.destination_bucket,
            task.key,
            delete_marker=task.delete_marker,
            tagged=int(head.get("TagCount") or 0) > 0,
        )
        account = self._role_arns[task.bucket].split(":")[4]
        if head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId"):
            key = kms_key_arn(head["SSEKMSKeyId"], task.region, account)
            checks.append(ReplicationCheck("kms:Decrypt", key))
        if rule.replica_kms_key and not task.delete_marker:
            key = kms_key_arn(rule.replica_kms_key, self._bucket_region(rule.destination_bucket), account)
            checks.append(ReplicationCheck("kms:Encrypt", key))
        return checks

    def _copy(self, task: _S3Task, rule: _Rule) -> None:
        destination = rule.destination_bucket
        s3 = self._client("s3", self._bucket_region(destination))
        if task.delete_marker:
            response = s3.delete_object(Bucket=destination, Key=task.key)
            written = response.get("VersionId") or "null"
            self._replicas.add((destination, task.key, written))
            self._status[(destination, task.key, written)] = REPLICA
            return
        extra: dict[str, Any] = {"StorageClass": rule.storage_class} if rule.storage_class else {}
        encryption: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if rule.replica_kms_key:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": rule.replica_kms_key}
        response = s3.copy_object(
            Bucket=destination,
            Key=task.key,
            CopySource={"Bucket": task.bucket, "Key": task.key, **_vid(task.version_id)},
            # The replica carries the source's metadata, content type and tags, like S3's replica ...
            MetadataDirective="COPY",
            TaggingDirective="COPY",
            # ... encrypted at rest (under the rule's replica key if it names one).
            **encryption,
            **extra,
        )
        written = response.get("VersionId") or "null"
        # Unversioned destinations report version "null" for every write: tell copies apart by ETag.
        identity = written if written != "null" else f"null:{response['CopyObjectResult']['ETag']}"
        self._replicas.add((destination, task.key, identity))
        self._status[(destination, task.key, written)] = REPLICA


def _vid(version_id: str) -> dict[str, str]:
    return {} if version_id == "null" else {"VersionId": version_id}


def _version_identity(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(key, version identity, last modified): unique per write, also in unversioned buckets."""
    version_id = entry.get("VersionId") or "null"
    identity = version_id if version_id != "null" else f"null:{entry.get('ETag', 'marker')}"
    return entry["Key"], identity, str(entry.get("LastModified", ""))
