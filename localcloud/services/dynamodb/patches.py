"""Fixes for moto 5.2.5's DynamoDB under concurrent requests (its threaded server runs them in parallel),
and its streams made to behave like DynamoDB Streams.

- Reads: Query, Scan and index reads iterate a table's item dict while other requests insert into it,
  which raises "dictionary changed size during iteration" and answers 500 (seen under the regional sync's
  host-log writes). The readers here iterate a snapshot; taking it (`list(d.values())`) is atomic under
  the GIL.
- Writes: moto checks a ConditionExpression, stores the item and appends its stream record as three
  unguarded steps, so two concurrent conditional writes could both pass (the events processor's versioned
  writes rely on exactly one passing) and a stream could list two writes of an item in the opposite order
  to the one they took effect in. Every write here runs under one lock: conditions are atomic and each
  stream is in the order its writes took effect, as DynamoDB guarantees per item.
- Streams: moto invokes a stream's mapped functions inside the write that made the record (the writer
  waits for them), ignores the mappings' filters, retries and failure destinations, and then empties the
  shard, so GetRecords sees nothing. Here a shard keeps its records (DynamoDB keeps them 24 hours,
  whoever reads them) and an append only wakes the readers (streams.py); Lambda's stream event source
  (localcloud/services/lambda_/event_sources/dynamodb_streams.py) delivers them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from localcloud.core.moto_version import applied_once
from localcloud.services.dynamodb import streams

# One lock for every DynamoDB write in the process (re-entrant: moto's update_item calls put_item).
_write_lock = threading.RLock()


def _snapshot(table: Any) -> list[Any]:
    """Every item of a moto Table, from snapshots of its (nested) item dicts."""
    items: list[Any] = []
    for hash_set in list(table.items.values()):
        if table.range_key_attr:
            items.extend(list(hash_set.values()))
        else:
            items.append(hash_set)
    return items


def _all_items(self: Any) -> list[Any]:
    return sorted(
        _snapshot(self), key=lambda item: (item.hash_key, item.range_key) if item.range_key else item.hash_key
    )


def _has_idx_items(self: Any, index_name: str) -> list[Any]:
    index_columns = {key["AttributeName"] for key in self.get_index(index_name).schema}
    return [item for item in _snapshot(self) if index_columns.issubset(set(item.attrs))]


def _len(self: Any) -> int:
    return sum(len(value) if self.has_range_key else 1 for value in list(self.items.values()))


def _serialized(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return write(*args, **kwargs)

    return locked


def _stream_shard_add(self: Any, old: Any, new: Any) -> None:
    """moto's StreamShard.add without its Lambda delivery and shard draining (see the module doc)."""
    from moto.dynamodb.models.table import StreamRecord  # noqa: PLC0415

    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    with _write_lock:
        sequence_number = len(self.items) + self.starting_sequence_number
        view_type = self.table.stream_specification["StreamViewType"]
        self.items.append(StreamRecord(self.table, view_type, event_name, old, new, sequence_number))
    streams.TABLE_WRITES.notify(self.table.name)
    if self.table.lambda_event_source_mappings:  # moto still records a table's mappings here
        # Only a mapped stream has readers to wake (100,000 batch rows written to unmapped tables would
        # otherwise wake every mapping's thread 100,000 times); the replicator listens by table name.
        streams.MAPPED_APPENDS.notify()


@applied_once
def apply() -> None:
    """Idempotent: table reads iterate snapshots, writes are serialized, streams keep their records."""
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto is slow to import
    from moto.dynamodb.models.table import StreamShard, Table  # noqa: PLC0415

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    StreamShard.add = _stream_shard_add  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.has_idx_items = _has_idx_items  # type: ignore[method-assign]
    Table.__len__ = _len  # type: ignore[method-assign]
