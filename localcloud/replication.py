"""The replication moto leaves out: S3 bucket replication and DynamoDB global-table item replication.

moto 5.2.5 stores an S3 replication configuration but copies nothing, and a global table's replicas are
independent tables (the provisioner creates one per replica region) that never exchange items. The two
replicators here run the data plane from outside moto, through ordinary boto3 clients bound to the
emulator, on a background thread each:

- S3Replicator polls each source bucket's object versions and copies new ones to each enabled rule's
  destination, marking what it wrote as replicas so two-way replication does not loop.
- DynamoDbReplicator reads each replica's DynamoDB stream and applies every change to the other
  replicas, last writer wins by apply order.

Both work through the public API only (no moto internals), so they run against any endpoint the client
factory points at and survive moto upgrades; the price is polling latency (tens of ms; for a global table
idle a while, up to IDLE_POLL_INTERVAL) and O(objects) listings per poll, which is fine for the data
sizes of local runs and tests.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self

from botocore.exceptions import ClientError

from localcloud.deployment import Deployment, ReplicationConfig

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client bound to the emulator

# S3's ReplicationStatus values (x-amz-replication-status): the source version is PENDING until copied,
# then COMPLETED (or FAILED); the copy in the destination is a REPLICA.
PENDING, COMPLETED, FAILED, REPLICA = "PENDING", "COMPLETED", "FAILED", "REPLICA"
# A copy that fails this many polls in a row is given up as FAILED (S3 does not retry forever either),
# so wait_replicated() cannot hang on a destination that does not exist.
MAX_COPY_ATTEMPTS = 5


class _Poller:
    """A background thread that runs poll_once() every poll_interval; counts completed cycles."""

    def __init__(self, *, poll_interval: float, name: str) -> None:
        self.poll_interval = poll_interval
        self._name = name
        self._lock = threading.RLock()  # one poll at a time: the thread or a waiter driving it
        self._cycle_done = threading.Condition()
        self._cycles = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Synchronous set-up before the thread starts (baselines, iterators)."""

    def poll_once(self) -> None:
        """One replication pass; what the thread runs, callable directly for step-by-step control."""
        with self._lock:
            self._poll()
        with self._cycle_done:
            self._cycles += 1
            self._cycle_done.notify_all()

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._prepare()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; idempotent. Changes not yet copied stay uncopied."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the thread must outlive one bad poll (e.g. a bucket deleted meanwhile)
                log.exception("%s: poll failed", self._name)
            self._stop.wait(self.poll_interval)

    def _wait_cycles(self, after: int, deadline: float) -> bool:
        """Wait until cycle number `after` has completed (driving polls ourselves if no thread runs)."""
        if self._thread is None:
            while self._cycles < after:
                self.poll_once()
            return True
        with self._cycle_done:
            while self._cycles < after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cycle_done.wait(remaining)
        return True


# ============================================================================================== S3
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

    @classmethod
    def parse(cls, rule: dict[str, Any]) -> _Rule:
        flt = rule.get("Filter")
        prefix, tags = rule.get("Prefix") or "", {}  # V1 rules: Prefix at top level, no Filter
        if isinstance(flt, dict):
            conj = flt.get("And") or {}
            prefix = flt.get("Prefix") or conj.get("Prefix") or ""
            tag_list = ([flt["Tag"]] if flt.get("Tag") else []) + list(conj.get("Tags") or [])
            tags = {t["Key"]: t["Value"] for t in tag_list}
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


class S3Replicator(_Poller):
    """Copies new object versions (and, where a rule says so, delete markers) to the rules' destinations.

    Change capture is by polling list_object_versions rather than hooking moto's put: it needs no moto
    internals, sees writes from every path (put, copy, multipart, presigned, Lambda workers in other
    processes) and makes the replication lag real rather than simulated. Versions that exist when start()
    runs are a baseline and are replicated only by rules with ExistingObjectReplication Enabled, as in S3.
    Copies the replicator writes are remembered by version and never replicated again (S3's REPLICA
    status), which is what stops two-way replication between a bucket pair from looping.

    The rules come from the provisioner's record (Deployment.replication_configs), not from
    get_bucket_replication: moto 5.2.5 answers that with every Filter turned into `Prefix: ""` and
    DeleteMarkerReplication reset, which would replicate everything.
    """

    def __init__(
        self,
        client_factory: ClientFactory,
        configs: Iterable[ReplicationConfig],
        *,
        lag_seconds: float = 0.0,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(poll_interval=poll_interval, name="s3-replicator")
        self._clients = client_factory
        self.lag_seconds = lag_seconds
        self.configs = list(configs)
        self._rules = {c.bucket: [_Rule.parse(r) for r in c.rules] for c in self.configs}
        self._regions = {c.bucket: c.region for c in self.configs}
        self._client_cache: dict[tuple[str, str], Any] = {}
        self._seen: dict[str, set[tuple[str, str, str]]] = {c.bucket: set() for c in self.configs}
        self._replicas: set[tuple[str, str, str]] = set()  # (bucket, key, version identity) we wrote
        self._tasks: list[_S3Task] = []
        self._status: dict[tuple[str, str, str], str] = {}
        self.failures: list[tuple[str, str, str, str]] = []  # (bucket, key, version, error)
        self._baselined = False

    @classmethod
    def from_deployment(
        cls, client_factory: ClientFactory, deployment: Deployment, **options: Any
    ) -> S3Replicator:
        """A replicator for every BucketReplicationConfig the provisioner created."""
        with deployment.lock:
            return cls(client_factory, list(deployment.replication_configs), **options)

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
            # Two full cycles after the call: the first may have listed before the caller's last write.
            target = self._cycles + 2
            if not self._wait_cycles(target, deadline):
                break
            with self._lock:
                if not self._tasks:
                    return
            if time.monotonic() >= deadline:
                break
            if self._thread is None:
                time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        with self._lock:
            pending = [(t.bucket, t.key, t.version_id) for t in self._tasks]
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

    def _prepare(self) -> None:
        with self._lock:
            if not self._baselined:
                for config in self.configs:
                    self._scan(config.bucket, existing=True)
                self._baselined = True

    def _poll(self) -> None:
        self._prepare()
        for config in self.configs:
            self._scan(config.bucket, existing=False)
        now = time.monotonic()
        remaining = []
        for task in self._tasks:
            if task.due > now or not self._replicate(task):
                remaining.append(task)
        self._tasks = remaining

    def _scan(self, bucket: str, *, existing: bool) -> None:
        """Queue every version of `bucket` not seen before, except the replicas we wrote."""
        s3 = self._client("s3", self._regions[bucket])
        due = time.monotonic() + self.lag_seconds
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            entries = [(v, False) for v in page.get("Versions", [])]
            entries += [(m, True) for m in page.get("DeleteMarkers", [])]
            for entry, is_marker in entries:
                key, version_id = entry["Key"], entry.get("VersionId") or "null"
                identity = _version_identity(entry)
                if identity in self._seen[bucket]:
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
            if not task.delete_marker and any(r.tags for r in self._rules[task.bucket]):
                tagging = source.get_object_tagging(Bucket=task.bucket, Key=task.key, **_vid(task.version_id))
                tags = {t["Key"]: t["Value"] for t in tagging.get("TagSet", [])}
            for rule in self._matching_rules(task.bucket, task.key, task.delete_marker, task.existing, tags):
                if rule.destination_bucket in task.done_destinations:
                    continue
                self._copy(task, rule)
                task.done_destinations.add(rule.destination_bucket)
        except ClientError as error:
            task.attempts += 1
            if task.attempts < MAX_COPY_ATTEMPTS:
                return False
            log.warning("replication of s3://%s/%s failed: %s", task.bucket, task.key, error)
            self.failures.append((task.bucket, task.key, task.version_id, str(error)))
            self._status[(task.bucket, task.key, task.version_id)] = FAILED
            return True
        self._status[(task.bucket, task.key, task.version_id)] = COMPLETED
        return True

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
        response = s3.copy_object(
            Bucket=destination,
            Key=task.key,
            CopySource={"Bucket": task.bucket, "Key": task.key, **_vid(task.version_id)},
            # The replica carries the source's metadata, content type and tags, like S3's replica ...
            MetadataDirective="COPY",
            TaggingDirective="COPY",
            # ... encrypted at rest, which the house bucket policies demand of every write.
            ServerSideEncryption="AES256",
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


# ============================================================================================== DynamoDB
Image = dict[str, Any]  # an item in DynamoDB JSON ({"pk": {"S": "a"}}), as put_item and streams use it
# DynamoDB's limit per BatchWriteItem request.
BATCH_WRITE_ITEMS = 25
# While a table's passes find nothing, the replicator's thread polls it twice as late after each, up to
# this: a pass reads every replica's stream (a request per shard at least), and passes every
# poll_interval (50 ms) over an idle stack cost its process 0.4 of a core.
IDLE_POLL_INTERVAL = 0.4


def _key_id(key: Image) -> str:
    return json.dumps(key, sort_keys=True, default=repr)


@dataclass
class _Change:
    key: Image
    image: Image | None  # None: the item was removed


class _Replica:
    """One region's copy of a global table: reads its changes, applies the other regions' changes.

    Change capture is the table's DynamoDB stream (what AWS global tables run on), which lists an item's
    writes in the order they took effect (localcloud/dynamodb_patches.py makes moto's do so).
    """

    def __init__(self, client_factory: ClientFactory, table: str, region: str) -> None:
        self.table, self.region = table, region
        self.ddb = client_factory("dynamodb", region)
        description = self.ddb.describe_table(TableName=table)["Table"]
        self.key_names = [k["AttributeName"] for k in description["KeySchema"]]
        spec = description.get("StreamSpecification") or {}
        if not spec.get("StreamEnabled"):
            # Global tables version 2019.11.21 replicate through NEW_AND_OLD_IMAGES streams and AWS turns
            # one on for every replica, so doing the same here is what the real table would look like.
            spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
            description = self.ddb.update_table(TableName=table, StreamSpecification=spec)["TableDescription"]
        self.view_type: str = spec["StreamViewType"]
        self.stream_arn: str = description["LatestStreamArn"]
        self.streams = client_factory("dynamodbstreams", region)
        self.iterators: dict[str, str | None] = {}
        self.echoes: dict[str, list[Image | None]] = {}  # our writes not yet read back, per key
        # TRIM_HORIZON: items written before the replicator started (e.g. seeded by the provisioner) are
        # in the stream and replicate too, like AWS's initial replica sync.
        for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]

    def key_of(self, item: Image) -> Image:
        return {name: item[name] for name in self.key_names}

    def scan(self) -> dict[str, Image]:
        items: dict[str, Image] = {}
        for page in self.ddb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                items[_key_id(self.key_of(item))] = item
        return items

    def changes(self) -> list[_Change]:
        """Changes made by others than the replicator since the last call, in order.

        A write of this region that took effect before one of ours to the same item (its record comes
        before our echo) was overwritten by ours: it is dropped, as DynamoDB drops the losing write of a
        conflict, so it cannot reach the other replicas after ours and leave them apart."""
        records: list[tuple[_Change, bool]] = []  # (change, whether its NewImage is in the record)
        for shard_id in list(self.iterators):
            while (iterator := self.iterators[shard_id]) is not None:
                response = self.streams.get_records(ShardIterator=iterator)
                self.iterators[shard_id] = response.get("NextShardIterator")
                for record in response.get("Records", []):
                    data = record["dynamodb"]
                    removed = record["eventName"] == "REMOVE"
                    # KEYS_ONLY / OLD_IMAGE streams carry no new image: an echo is then recognised by key
                    # and kind of write only, and an original is read as the item is now.
                    change = _Change(data["Keys"], None if removed else data.get("NewImage", {}))
                    records.append((change, removed or "NewImage" in data))
                if not response.get("Records"):
                    break
        last_echo: dict[str, int] = {}  # key id -> the position of our last write of it read back
        for position, (change, exact) in enumerate(records):
            if self._is_echo(change, exact=exact):
                last_echo[_key_id(change.key)] = position
        found = []
        for position, (change, exact) in enumerate(records):
            if position <= last_echo.get(_key_id(change.key), -1):
                continue  # ours, or overwritten by ours
            if not exact:
                item = self.ddb.get_item(TableName=self.table, Key=change.key, ConsistentRead=True)
                if "Item" not in item:
                    continue  # gone again: the REMOVE record that follows replicates the end state
                change.image = item["Item"]
            found.append(change)
        return found

    def _is_echo(self, change: _Change, *, exact: bool) -> bool:
        """Whether the record is one of our own writes read back; consumes the matching expectation."""
        pending = self.echoes.get(_key_id(change.key))
        for index, image in enumerate(pending or []):
            same_kind = (image is None) == (change.image is None)
            if same_kind and (not exact or image == change.image):
                del pending[index]  # type: ignore[union-attr]
                return True
        return False

    @property
    def pending_echoes(self) -> int:
        return sum(len(p) for p in self.echoes.values())

    def apply(self, change: _Change) -> None:
        """Write another region's change here, remembering it so it is not replicated back."""
        key_id = _key_id(change.key)
        if change.image is None:
            # ALL_OLD tells whether anything was deleted: deleting a missing item leaves no stream record,
            # and an echo we then waited for would never come.
            old = self.ddb.delete_item(TableName=self.table, Key=change.key, ReturnValues="ALL_OLD")
            wrote = "Attributes" in old
        else:
            self.ddb.put_item(TableName=self.table, Item=change.image)
            wrote = True
        if wrote:
            self.echoes.setdefault(key_id, []).append(change.image)

    def apply_all(self, changes: Iterable[_Change]) -> int:
        """apply() every change, each key's in order, puts grouped into BatchWriteItem requests; the count.

        Only each key's own order is kept (as in a DynamoDB stream, which orders records per item): the
        n-th put of a key in a run of puts goes in the n-th round of batches, one put per key and batch.
        A delete goes alone, after everything before it, since only DeleteItem says whether it removed
        anything (see apply)."""
        rounds: list[list[_Change]] = []
        depth: dict[str, int] = {}  # key id -> the round of its last queued put
        count = 0
        for change in changes:
            count += 1
            key_id = _key_id(change.key)
            if change.image is None:
                self._put_rounds(rounds)
                rounds, depth = [], {}
                self.apply(change)
                continue
            level = depth[key_id] = depth.get(key_id, -1) + 1
            if level == len(rounds):
                rounds.append([])
            rounds[level].append(change)
        self._put_rounds(rounds)
        return count

    def _put_rounds(self, rounds: Sequence[Sequence[_Change]]) -> None:
        for changes in rounds:
            for start in range(0, len(changes), BATCH_WRITE_ITEMS):
                self._put_batch(changes[start : start + BATCH_WRITE_ITEMS])

    def _put_batch(self, batch: Sequence[_Change]) -> None:
        """Put items of distinct keys (one request, re-sending what DynamoDB leaves unprocessed)."""
        if len(batch) == 1:
            self.apply(batch[0])
            return
        if not batch:
            return
        request: dict[str, Any] = {self.table: [{"PutRequest": {"Item": change.image}} for change in batch]}
        while request:
            request = self.ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        for change in batch:
            assert change.image is not None
            self.echoes.setdefault(_key_id(change.key), []).append(change.image)


class DynamoDbReplicator(_Poller):
    """Item replication between the replicas of global tables, like DynamoDB global tables 2019.11.21.

    Every change read from one replica is written to all others; the replicator's own writes come back
    on the other replicas' streams and are recognised (by key and image) and dropped, so nothing echoes.
    Conflicts resolve last writer wins, where "last" is the order writes took effect in each replica (AWS
    uses the write timestamps): a region's write that one of ours overwrote is dropped, one made after
    ours replicates, so all replicas converge once writes stop.
    Each key's changes are applied in the order its replica recorded them; different keys' may be
    reordered (a DynamoDB stream orders records per item only), which lets puts travel in BatchWriteItem
    requests. A pass replicates its tables side by side, so one table's backlog does not hold back
    another's.
    The aws:rep:* attributes of the 2017 version are not written: the 2019 version does not expose them.
    """

    def __init__(
        self,
        client_factory: ClientFactory,
        tables: Iterable[tuple[str, Sequence[str]]] | None = None,
        *,
        regions: Sequence[str] = (),
        poll_interval: float = 0.05,
    ) -> None:
        """tables: explicit (table name, regions); otherwise every table name found in 2+ of `regions`."""
        super().__init__(poll_interval=poll_interval, name="dynamodb-replicator")
        self._clients = client_factory
        self._explicit = [(name, list(table_regions)) for name, table_regions in tables] if tables else None
        self._discover_regions = list(regions)
        self.tables: dict[str, list[_Replica]] = {}
        self.applied = 0  # changes written to other replicas, for observability and tests
        self._pool: ThreadPoolExecutor | None = None  # replicates the tables of a pass side by side
        self._wake = threading.Event()  # set: the thread polls every table now, whatever its back-off
        self._quiet: dict[str, int] = {}  # table -> its passes in a row that found nothing
        self._due: dict[str, float] = {}  # table -> time.monotonic() when the thread next polls it

    def _prepare(self) -> None:
        with self._lock:
            if self.tables:
                return
            for name, table_regions in self._explicit if self._explicit is not None else self._discover():
                self.tables[name] = [_Replica(self._clients, name, region) for region in table_regions]

    def _discover(self) -> list[tuple[str, list[str]]]:
        found: dict[str, list[str]] = {}
        for region in self._discover_regions:
            for page in self._clients("dynamodb", region).get_paginator("list_tables").paginate():
                for name in page.get("TableNames", []):
                    found.setdefault(name, []).append(region)
        return [(name, regions) for name, regions in sorted(found.items()) if len(regions) > 1]

    def _poll(self) -> None:
        """poll_once(): a pass over every table."""
        self._replicate_tables(everything=True)

    def _replicate_tables(self, *, everything: bool) -> None:
        self._prepare()
        now = time.monotonic()
        due = [name for name in self.tables if everything or self._due.get(name, 0.0) <= now]
        if len(due) < 2:
            self.applied += sum(self._replicate_table(name) for name in due)
            return
        # Tables are independent: one table's backlog (e.g. thousands of idempotency records after a
        # burst) must not hold back another's replication. A pass ends when every table's has.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.tables), thread_name_prefix=self._name)
        self.applied += sum(self._pool.map(self._replicate_table, due))

    def _replicate_table(self, name: str) -> int:
        """One pass over one table's replicas, then when the thread should next poll it; the writes made."""
        applied = self._replicate(self.tables[name])
        quiet = 0 if applied else min(self._quiet.get(name, 0) + 1, 8)
        self._quiet[name] = quiet
        backoff = min(self.poll_interval * 2**quiet, IDLE_POLL_INTERVAL) if quiet else 0.0
        self._due[name] = time.monotonic() + backoff
        return applied

    def _replicate(self, replicas: list[_Replica]) -> int:
        """One pass over one table's replicas; the number of writes made.

        Each replica's changes are read after the earlier replicas' changes were applied to it, and its
        stream lists every write in the order it took effect, so what it says last about an item is what
        it holds: applying that everywhere leaves all replicas with the same item once writes stop."""
        applied = 0
        for origin in replicas:
            changes = origin.changes()
            for target in replicas:
                if target is not origin:
                    applied += target.apply_all(changes)
        return applied

    def _run(self) -> None:
        """_Poller's loop, except that a table whose passes find nothing is polled less and less often
        (see IDLE_POLL_INTERVAL), every table again as soon as someone waits (wait_converged)."""
        everything = True
        # A thread that outlived stop()'s join (a pass longer than its timeout) ends after that pass,
        # even when start() has run meanwhile.
        while not self._stop.is_set() and self._thread is threading.current_thread():
            try:
                with self._lock:
                    self._replicate_tables(everything=everything)
            except Exception:  # the thread must outlive one bad poll
                log.exception("%s: poll failed", self._name)
            with self._cycle_done:
                self._cycles += 1
                self._cycle_done.notify_all()
            next_due = min(self._due.values(), default=0.0) - time.monotonic()
            everything = self._wake.wait(max(self.poll_interval, next_due))
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()  # out of an idle wait at once
        super().stop()
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = None

    def wait_converged(self, timeout: float = 10.0) -> None:
        """Return once two passes found no change, no echo is outstanding and all replicas agree."""
        deadline = time.monotonic() + timeout
        self._prepare()
        while time.monotonic() < deadline:
            before = self.applied
            self._wake.set()  # no idle back-off while someone waits
            if not self._wait_cycles(self._cycles + 2, deadline):
                break
            with self._lock:
                quiet = self.applied == before and all(
                    r.pending_echoes == 0 for rs in self.tables.values() for r in rs
                )
                if quiet and all(self._same(replicas) for replicas in self.tables.values()):
                    return
            if self._thread is None:
                time.sleep(self.poll_interval)
        raise TimeoutError(f"DynamoDB replicas did not converge within {timeout} s")

    @staticmethod
    def _same(replicas: list[_Replica]) -> bool:
        states = [replica.scan() for replica in replicas]
        return all(state == states[0] for state in states[1:])
