"""DynamoDB streams as localcloud's own readers see them: a stream's shard, and news that it grew.

moto keeps a stream's records in its table's StreamShard (patches.py stops moto from draining it), and
localcloud's Lambda stream event source reads them there, in order and in process, instead of polling
GetRecords: a reader registers a listener and is woken by every record appended to a stream that Lambda
mappings read. This module is the DynamoDB service's interface for those readers; nothing else of the
service is theirs to touch.
"""

from __future__ import annotations

from typing import Any

from localcloud.core.listeners import Listeners

# The most records one GetRecords call returns (DynamoDB Streams' limit, and its default): a shorter page
# means the shard held no more when it was read.
GET_RECORDS_LIMIT = 1000
# Every record appended to a stream that Lambda mappings read: the mappings' readers wake (the write path
# notifies; a stream without mappings has no reader to wake).
MAPPED_APPENDS: Listeners[[]] = Listeners()
# Every record appended to any table's stream, with the table's name: the global-table replicator wakes
# for its tables' writes instead of polling idle ones.
TABLE_WRITES: Listeners[[str]] = Listeners()


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
