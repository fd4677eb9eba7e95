"""DynamoDB global-table replication on top of a real emulator: both ways, converging, without echoes."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from localcloud.core.emulator import Emulator
from localcloud.services.dynamodb import replication, streams
from localcloud.services.dynamodb.replication import DynamoDbReplicator
from tests.unit.localcloud.conftest import Deployed, wait_for

EAST, WEST = "us-east-1", "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/replication"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_global_table(emulator: Emulator, regions: tuple[str, ...] = (EAST, WEST)) -> str:
    """The same table in each region, as the provisioner creates a table with replicas."""
    name = _name("table")
    for region in regions:
        emulator.client("dynamodb", region).create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    return name


def items(emulator: Emulator, table: str, region: str) -> dict[str, dict[str, Any]]:
    scanned = emulator.client("dynamodb", region).scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["pk"]["S"]: item for item in scanned}


@pytest.fixture
def ddb_replicator(emulator: Emulator) -> Iterator[Callable[..., DynamoDbReplicator]]:
    started: list[DynamoDbReplicator] = []

    def _start(*tables: str, regions: tuple[str, ...] = (EAST, WEST)) -> DynamoDbReplicator:
        replicator = DynamoDbReplicator(emulator.client, [(table, regions) for table in tables])
        started.append(replicator)
        replicator.start()
        return replicator

    yield _start
    for replicator in started:
        replicator.stop()


def test_items_replicate_both_ways_with_updates_and_deletes(
    emulator: Emulator, ddb_replicator: Callable[..., DynamoDbReplicator]
) -> None:
    table = make_global_table(emulator)
    replicator = ddb_replicator(table)
    east, west = emulator.client("dynamodb", EAST), emulator.client("dynamodb", WEST)
    east.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    wait_for(lambda: "a" in items(emulator, table, WEST), timeout=5, what="a in us-west-2")
    west.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"S": "west"}})
    wait_for(lambda: "b" in items(emulator, table, EAST), timeout=5, what="b in us-east-1")
    east.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    wait_for(lambda: items(emulator, table, WEST)["a"]["v"] == {"N": "2"}, timeout=5, what="the update")
    west.delete_item(TableName=table, Key={"pk": {"S": "b"}})
    wait_for(lambda: "b" not in items(emulator, table, EAST), timeout=5, what="the delete")
    replicator.wait_converged(timeout=5)
    assert (
        items(emulator, table, EAST)
        == items(emulator, table, WEST)
        == {"a": {"pk": {"S": "a"}, "v": {"N": "2"}}}
    )


def test_items_written_before_start_replicate_and_tables_are_discovered(emulator: Emulator) -> None:
    table = make_global_table(emulator)
    emulator.client("dynamodb", EAST).put_item(TableName=table, Item={"pk": {"S": "seed"}})
    replicator = DynamoDbReplicator(emulator.client, regions=[EAST, WEST])
    replicator.start()
    try:
        replicator.wait_converged(timeout=10)
    finally:
        replicator.stop()
    assert table in replicator.tables
    assert items(emulator, table, WEST) == {"seed": {"pk": {"S": "seed"}}}


def test_concurrent_writes_to_one_key_converge_without_echoes(
    emulator: Emulator, ddb_replicator: Callable[..., DynamoDbReplicator]
) -> None:
    table = make_global_table(emulator)
    east, west = emulator.client("dynamodb", EAST), emulator.client("dynamodb", WEST)
    # Both regions write the key before the replicator sees either write: a true conflict.
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "by": {"S": "east"}})
    west.put_item(TableName=table, Item={"pk": {"S": "k"}, "by": {"S": "west"}})
    replicator = ddb_replicator(table)

    def hammer(client: Any, region: str) -> None:
        for n in range(30):
            client.put_item(TableName=table, Item={"pk": {"S": "k"}, "by": {"S": f"{region}-{n}"}})
            client.put_item(TableName=table, Item={"pk": {"S": f"{region}-{n}"}})

    writers = [threading.Thread(target=hammer, args=(c, r)) for c, r in ((east, EAST), (west, WEST))]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    replicator.wait_converged(timeout=15)
    final = items(emulator, table, EAST)
    assert final == items(emulator, table, WEST)
    assert len(final) == 61
    assert final["k"]["by"]["S"] in {"us-east-1-29", "us-west-2-29"}  # a last write of either region wins
    # No echo loop: more passes apply nothing and leave both replicas as they are.
    applied = replicator.applied
    replicator.wait_converged(timeout=5)
    assert replicator.applied == applied
    assert items(emulator, table, EAST) == items(emulator, table, WEST) == final


def test_a_stream_with_a_lambda_mapping_replicates_and_the_function_sees_the_replicated_writes(
    emulator: Emulator, deploy: Callable[..., Deployed], ddb_replicator: Callable[..., DynamoDbReplicator]
) -> None:
    # GIVEN a global table whose eu-west-1 stream also feeds a function (as the events repair's does)
    regions = ("eu-west-1", EAST)  # conftest deploys functions in eu-west-1
    table = make_global_table(emulator, regions)
    stream_arn = emulator.client("dynamodb", "eu-west-1").describe_table(TableName=table)["Table"][
        "LatestStreamArn"
    ]
    # Lambda's stream poller reads the stream as the function's execution role.
    stream_read = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"]
    function = deploy(
        "def handler(event, context):\n    record([r['eventName'] for r in event['Records']])\n",
        permissions=[{"Effect": "Allow", "Action": stream_read, "Resource": stream_arn}],
    )
    emulator.client("lambda", "eu-west-1").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function.name, StartingPosition="TRIM_HORIZON"
    )
    replicator = ddb_replicator(table, regions=regions)
    # WHEN each region writes an item and us-east-1 then deletes the other's
    emulator.client("dynamodb", "eu-west-1").put_item(TableName=table, Item={"pk": {"S": "x"}})
    emulator.client("dynamodb", EAST).put_item(TableName=table, Item={"pk": {"S": "y"}})
    replicator.wait_converged(timeout=10)
    assert set(items(emulator, table, EAST)) == set(items(emulator, table, "eu-west-1")) == {"x", "y"}
    emulator.client("dynamodb", EAST).delete_item(TableName=table, Key={"pk": {"S": "x"}})
    replicator.wait_converged(timeout=10)
    emulator.stream_poller.wait_idle(timeout=10)
    # THEN both replicas agree, and the function saw its region's write and both replicated ones
    assert set(items(emulator, table, "eu-west-1")) == {"y"}
    assert sorted(name for batch in function.records() for name in batch) == ["INSERT", "INSERT", "REMOVE"]


def test_a_regions_write_that_a_replicated_one_overwrote_is_not_replicated(emulator: Emulator) -> None:
    # GIVEN a key written in us-east-1 and then, before any replication, in us-west-2
    table = make_global_table(emulator)
    east, west = emulator.client("dynamodb", EAST), emulator.client("dynamodb", WEST)
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "by": {"S": "east"}})
    west.put_item(TableName=table, Item={"pk": {"S": "k"}, "by": {"S": "west"}})
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST))])
    # WHEN one pass replicates us-east-1's write over us-west-2's, then reads us-west-2's stream
    replicator.poll_once()
    # THEN us-west-2's earlier write, overwritten there, did not travel: one write made, replicas agree
    assert replicator.applied == 1
    assert items(emulator, table, EAST) == items(emulator, table, WEST)
    assert items(emulator, table, WEST)["k"]["by"] == {"S": "east"}


def counting_client_factory(emulator: Emulator, calls: Counter[str]) -> Callable[[str, str], Any]:
    """Fresh clients bound to the emulator that count the operations they send (by name)."""

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    def factory(service: str, region: str) -> Any:
        # boto3-stubs type boto3.client per literal service name; this one is a str
        new_client: Callable[..., Any] = boto3.client
        client = new_client(
            service,
            region_name=region,
            endpoint_url=emulator.endpoint_url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.meta.events.register("before-call.*.*", count)
        return client

    return factory


def test_a_burst_travels_in_batches_each_key_ending_on_its_last_write(emulator: Emulator) -> None:
    table = make_global_table(emulator)
    east = emulator.client("dynamodb", EAST)
    for version in range(3):  # 60 keys written three times, interleaved: 180 stream records
        for n in range(60):
            east.put_item(TableName=table, Item={"pk": {"S": f"k{n:02d}"}, "v": {"N": str(version)}})
    calls: Counter[str] = Counter()
    replicator = DynamoDbReplicator(counting_client_factory(emulator, calls), [(table, (EAST, WEST))])
    replicator.poll_once()  # one pass, on this thread
    assert items(emulator, table, WEST) == items(emulator, table, EAST)
    assert {item["v"]["N"] for item in items(emulator, table, WEST).values()} == {"2"}
    # Each key's three puts in order, one per key and request: 3 rounds of 25 + 25 + 10 items, and no
    # reads of items: the streams say all there is.
    assert (calls["BatchWriteItem"], calls["PutItem"]) == (9, 0)
    assert (calls["BatchGetItem"], calls["GetItem"]) == (0, 0)
    applied = replicator.applied
    replicator.poll_once()  # the 180 echoes are recognised: nothing is written back
    assert replicator.applied == applied
    assert all(replica.pending_echoes == 0 for replica in replicator.tables[table])


def test_a_pass_reads_each_shard_once_unless_a_full_page_says_there_may_be_more(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a global table with 5 writes in us-east-1 and a GetRecords page of at most 2 records
    monkeypatch.setattr(streams, "GET_RECORDS_LIMIT", 2)
    table = make_global_table(emulator)
    east = emulator.client("dynamodb", EAST)
    for n in range(5):
        east.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})
    calls: Counter[str] = Counter()
    replicator = DynamoDbReplicator(counting_client_factory(emulator, calls), [(table, (EAST, WEST))])
    # WHEN one pass runs
    replicator.poll_once()
    # THEN us-east-1's shard is read in pages of 2, 2 and 1 (the short page ends it), then us-west-2's,
    # which by then holds the 5 copies (its echoes), the same way; every write is in us-west-2
    assert calls["GetRecords"] == 3 + 3
    assert set(items(emulator, table, WEST)) == {f"k{n}" for n in range(5)}
    # WHEN the next pass finds both shards drained
    calls.clear()
    replicator.poll_once()
    # THEN it makes one call per shard (an empty page is short too) and writes nothing
    assert calls["GetRecords"] == 1 + 1
    assert calls["BatchWriteItem"] + calls["PutItem"] == 0


def test_deletes_between_puts_keep_each_keys_order(emulator: Emulator) -> None:
    table = make_global_table(emulator)
    east = emulator.client("dynamodb", EAST)

    def put(key: str, value: str) -> None:
        east.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"S": value}})

    put("gone", "1")
    put("back", "1")
    put("kept", "1")
    east.delete_item(TableName=table, Key={"pk": {"S": "gone"}})
    east.delete_item(TableName=table, Key={"pk": {"S": "back"}})
    put("back", "2")
    put("kept", "2")
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST))])
    replicator.poll_once()
    assert items(emulator, table, WEST) == items(emulator, table, EAST)
    assert {key: item["v"]["S"] for key, item in items(emulator, table, WEST).items()} == {
        "back": "2",
        "kept": "2",
    }
    applied = replicator.applied
    replicator.poll_once()
    assert replicator.applied == applied


def test_one_pass_replicates_every_table(emulator: Emulator) -> None:
    tables = [make_global_table(emulator) for _ in range(3)]
    for n, table in enumerate(tables):
        emulator.client("dynamodb", WEST if n % 2 else EAST).put_item(
            TableName=table, Item={"pk": {"S": f"in-{n}"}}
        )
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST)) for table in tables])
    try:
        replicator.poll_once()
        for n, table in enumerate(tables):
            assert set(items(emulator, table, EAST)) == set(items(emulator, table, WEST)) == {f"in-{n}"}
    finally:
        replicator.stop()  # the pass ran the tables side by side on the replicator's own workers


def test_an_idle_tables_polls_back_off_doubling_to_the_idle_interval_and_a_change_resets_them(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a replicator of one quiet global table, on a clock that stands still (so each pass's wait is
    # exactly its back-off, not the back-off less the pass's own duration)
    monkeypatch.setattr(replication, "time", SimpleNamespace(monotonic=lambda: 1_000.0, sleep=time.sleep))
    table = make_global_table(emulator)
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST))])
    replicator.before_start()
    try:
        # WHEN passes find nothing
        waits = [replicator.run_once() for _ in range(8)]
        # THEN the wait before the next pass doubles from the 250 ms poll interval up to the 2 s idle
        # interval, and stays there: 8 polls in the first 13.5 idle seconds instead of 54
        assert waits == pytest.approx([0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
        # WHEN a pass finds a change THEN the next pass is one poll interval away, and the doubling
        # starts again after it
        emulator.client("dynamodb", EAST).put_item(TableName=table, Item={"pk": {"S": "x"}})
        assert [replicator.run_once() for _ in range(3)] == pytest.approx([0.25, 0.5, 1.0])
        assert "x" in items(emulator, table, WEST)
    finally:
        replicator.stop()


def test_a_write_to_an_idle_table_is_replicated_by_the_running_replicator_without_its_idle_wait(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a running replicator whose table has been quiet long enough that its next poll is minutes
    # away (a 1 s poll interval, doubled by eight quiet passes to 256 s: only a wake-up can bring the
    # write over in the seconds this test waits)
    monkeypatch.setattr(replication, "IDLE_POLL_INTERVAL", 3600.0)
    table = make_global_table(emulator)
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST))], poll_interval=1.0)
    try:
        for _ in range(8):
            replicator.poll_once()
        replicator.start()
        # (its thread's first pass, which every start makes, has run: the wait after it is the long one)
        assert replicator.wait_for_passes(9, time.monotonic() + 10)
        # WHEN the table is written in one region
        emulator.client("dynamodb", EAST).put_item(TableName=table, Item={"pk": {"S": "late"}})
        # THEN the write reaches the other region: the write woke the replicator
        wait_for(lambda: "late" in items(emulator, table, WEST), timeout=10, what="late in us-west-2")
        replicator.wait_converged(timeout=5)
    finally:
        replicator.stop()


def test_a_write_to_a_table_in_idle_back_off_wakes_the_replicator_and_others_do_not(
    emulator: Emulator,
) -> None:
    # GIVEN a replicator whose one global table has been idle long enough to be backed off
    table, other = make_global_table(emulator), make_global_table(emulator)
    replicator = DynamoDbReplicator(emulator.client, [(table, (EAST, WEST))])
    replicator.before_start()
    woken: list[bool] = []
    replicator.wake = lambda: woken.append(True)  # type: ignore[method-assign]
    try:
        waits = [replicator.run_once() for _ in range(8)]
        assert waits[-1] > waits[0]
        # WHEN a table it does not replicate is written THEN it sleeps on
        emulator.client("dynamodb", EAST).put_item(TableName=other, Item={"pk": {"S": "x"}})
        assert woken == []
        # WHEN its table is written THEN it wakes, and its next pass replicates the write
        emulator.client("dynamodb", EAST).put_item(TableName=table, Item={"pk": {"S": "y"}})
        assert woken == [True]
        replicator.run_once()
        assert "y" in items(emulator, table, WEST)
    finally:
        replicator.stop()
