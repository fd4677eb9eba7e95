"""DynamoDB global tables' item replication, which moto leaves out.

A global table's replicas are independent tables in moto (the provisioner creates one per replica region)
that never exchange items. DynamoDbReplicator reads each replica's DynamoDB stream and applies every change
to the other replicas, on a background loop, through ordinary boto3 clients bound to the emulator (no moto
internals), so it runs against any endpoint the client factory points at. Its tables are found through the
API too: every table name present in two or more of the regions it is given.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from localcloud.core.clients import ClientFactory
from localcloud.core.loop import BackgroundLoop
from localcloud.services.dynamodb import streams

logger = logging.getLogger(__name__)

Image = dict[str, Any]  # an item in DynamoDB JSON ({"pk": {"S": "a"}}), as put_item and streams use it
# DynamoDB's limit per BatchWriteItem request.
BATCH_WRITE_ITEMS = 25
# How often a busy table's replicas are read: a pass reads every replica's stream (a request per shard),
# and a write waits for the next pass. A quarter of a second is the rate Lambda polls a stream's shard
# at, and well inside the second or so a global table typically takes to replicate; passes every 50 ms
# made the stream reads a sixth of the emulator's requests under the events benchmark (about 10 % fewer
# events per second than at 250 ms).
POLL_INTERVAL = 0.25
# While a table's passes find nothing, the replicator's thread polls it twice as late after each, up to
# this: passes every 50 ms over an idle stack cost its process 0.4 of a core. A write to a replicated
# table wakes the thread at once (streams.TABLE_WRITES, in process), so the long idle
# interval only bounds how late a write made behind its back (another endpoint) is seen.
IDLE_POLL_INTERVAL = 2.0


def _key_id(key: Image) -> str:
    return json.dumps(key, sort_keys=True, default=repr)


@dataclass
class _Change:
    key: Image
    image: Image | None  # None: the item was removed


class _Replica:
    """One region's copy of a global table: reads its changes, applies the other regions' changes.

    Change capture is the table's DynamoDB stream (what AWS global tables run on), which lists an item's
    writes in the order they took effect (patches.py makes moto's do so).
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
                response = self.streams.get_records(ShardIterator=iterator, Limit=streams.GET_RECORDS_LIMIT)
                self.iterators[shard_id] = response.get("NextShardIterator")
                for record in response.get("Records", []):
                    data = record["dynamodb"]
                    removed = record["eventName"] == "REMOVE"
                    # KEYS_ONLY / OLD_IMAGE streams carry no new image: an echo is then recognised by key
                    # and kind of write only, and an original is read as the item is now.
                    change = _Change(data["Keys"], None if removed else data.get("NewImage", {}))
                    records.append((change, removed or "NewImage" in data))
                # A short page drained the shard as of the call: the next pass reads what came after, so a
                # pass makes one call per shard, not a second one that could only come back empty (under
                # the events benchmark those were a quarter of all the emulator's requests).
                if len(response.get("Records", [])) < streams.GET_RECORDS_LIMIT:
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


class DynamoDbReplicator(BackgroundLoop):
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
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        """tables: explicit (table name, regions); otherwise every table name found in 2+ of `regions`."""
        super().__init__(name="dynamodb-replicator", retry_seconds=poll_interval)
        self.poll_interval = poll_interval
        self._lock = threading.RLock()  # one pass at a time: the thread's or a waiter's
        self._clients = client_factory
        self._explicit = [(name, list(table_regions)) for name, table_regions in tables] if tables else None
        self._discover_regions = list(regions)
        self.tables: dict[str, list[_Replica]] = {}
        self.applied = 0  # changes written to other replicas, for observability and tests
        self._pool: ThreadPoolExecutor | None = None  # replicates the tables of a pass side by side
        self._quiet: dict[str, int] = {}  # table -> its passes in a row that found nothing
        self._due: dict[str, float] = {}  # table -> time.monotonic() when the thread next polls it

    def before_start(self) -> None:
        self._prepare()
        streams.TABLE_WRITES.add(self._table_written)

    def _table_written(self, table_name: str) -> None:
        """A write to a replicated table in idle back-off makes it due now; one polled at the normal
        interval needs nothing (a burst of writes must not turn into back-to-back passes)."""
        if (
            table_name in self.tables
            and self._due.get(table_name, 0.0) > time.monotonic() + self.poll_interval
        ):
            self._due[table_name] = 0.0
            self.wake()

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

    def poll_once(self) -> None:
        """A pass over every table on the caller's thread, whatever their back-off."""
        with self._lock:
            self._replicate_tables(everything=True)
        self._count_pass()

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
            self._pool = ThreadPoolExecutor(max_workers=len(self.tables), thread_name_prefix=self.name)
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

    def run_once(self) -> float:
        """The loop's pass: only the tables that are due, unless woken (then every table); a table whose
        passes find nothing is polled less and less often (see IDLE_POLL_INTERVAL)."""
        try:
            with self._lock:
                self._replicate_tables(everything=self.woken)
        except Exception:  # counted as a pass all the same: waiters must not hang on one bad poll
            logger.exception("%s: poll failed", self.name)
        next_due = min(self._due.values(), default=0.0) - time.monotonic()
        return max(self.poll_interval, next_due)

    def stop(self) -> None:
        streams.TABLE_WRITES.remove(self._table_written)
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
            self.wake()  # no idle back-off while someone waits
            if not self.wait_for_passes(self.passes + 2, deadline):
                break
            with self._lock:
                quiet = self.applied == before and all(
                    r.pending_echoes == 0 for rs in self.tables.values() for r in rs
                )
                if quiet and all(self._same(replicas) for replicas in self.tables.values()):
                    return
            if not self.running:
                time.sleep(self.poll_interval)
        raise TimeoutError(f"DynamoDB replicas did not converge within {timeout} s")

    @staticmethod
    def _same(replicas: list[_Replica]) -> bool:
        states = [replica.scan() for replica in replicas]
        return all(state == states[0] for state in states[1:])
