"""DynamoDB streams as localcloud's own readers see them: a stream's shard, and news that it grew.

moto keeps a stream's records in its table's StreamShard (patches.py stops moto from draining it), and
localcloud's Lambda stream event source reads them there, in order and in process, instead of polling
GetRecords: a reader registers a listener and is woken by every record appended to a stream that Lambda
mappings read. This module is the DynamoDB service's interface for those readers; nothing else of the
service is theirs to touch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Listener = Callable[[], None]

_listeners: tuple[Listener, ...] = ()
_listeners_lock = threading.Lock()


def add_append_listener(listener: Listener) -> None:
    """Call `listener` (cheap and non-blocking, e.g. an Event's set) after every append to a mapped stream."""
    global _listeners  # noqa: PLW0603 - one registry for the process, like moto's backends
    with _listeners_lock:
        _listeners = (*_listeners, listener)


def remove_append_listener(listener: Listener) -> None:
    global _listeners  # noqa: PLW0603
    with _listeners_lock:
        _listeners = tuple(known for known in _listeners if known is not listener)


TableListener = Callable[[str], None]
_table_listeners: tuple[TableListener, ...] = ()


def add_table_write_listener(listener: TableListener) -> None:
    """Call `listener(table_name)` after every record appended to any table's stream, mapped or not (the
    global-table replicator is woken by its tables' writes instead of polling idle ones)."""
    global _table_listeners  # noqa: PLW0603
    with _listeners_lock:
        _table_listeners = (*_table_listeners, listener)


def remove_table_write_listener(listener: TableListener) -> None:
    global _table_listeners  # noqa: PLW0603
    with _listeners_lock:
        _table_listeners = tuple(known for known in _table_listeners if known is not listener)


def notify_table_write(table_name: str) -> None:
    """A record was appended to `table_name`'s stream (the write path calls this)."""
    for listener in _table_listeners:
        listener(table_name)


def notify_append() -> None:
    """A record was appended to a stream with mappings: wake every reader (the write path calls this)."""
    for listener in _listeners:
        listener()


def is_dynamodb_stream(arn: str) -> bool:
    return arn.startswith("arn:aws:dynamodb:") and "/stream/" in arn


def stream_shard(stream_arn: str) -> Any:
    """The moto StreamShard of the table whose current stream `stream_arn` is; None when the table or that
    stream is gone. Its `items` are the stream's records in order (StreamRecord, `.to_json()`)."""
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - moto is slow to import

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    table_name, _, label = resource.removeprefix("table/").partition("/stream/")
    table = dynamodb_backends[account][region].tables.get(table_name)
    if table is None or table.latest_stream_label != label:
        return None
    return table.stream_shard
