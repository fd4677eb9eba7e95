"""DynamoDB stream records reach mapped functions as Lambda's stream poller delivers them: in order, after
the write, filtered, retried (bisected) and finally described on the on-failure destination; read as the
function's execution role, which needs the stream read actions on the stream."""

from __future__ import annotations

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from localcloud.core.emulator import Emulator
from localcloud.services.lambda_.event_sources import dynamodb_streams
from localcloud.services.lambda_.event_sources.dynamodb_streams import first_failure
from localcloud.services.lambda_.runtime import InvocationResult
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, create_queue, drain, wait_for

# What Lambda's stream poller needs of the execution role: it reads the stream as that role.
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords")


def stream_reader(*actions: str) -> dict[str, Any]:
    """An Allow of `actions` (by default every stream read action) on this region's table streams."""
    return {
        "Effect": "Allow",
        "Action": list(actions or STREAM_READ_ACTIONS),
        "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/*/stream/*",
    }


def stream_table(emulator: Emulator) -> tuple[str, str]:
    """A table with a NEW_AND_OLD_IMAGES stream: (name, stream ARN)."""
    table = f"events-{uuid.uuid4().hex[:8]}"
    stream_arn = emulator.client("dynamodb", REGION).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    return table, stream_arn


def put(emulator: Emulator, table: str, item_id: str, value: str) -> None:
    emulator.client("dynamodb", REGION).put_item(
        TableName=table, Item={"Id": {"S": item_id}, "Value": {"S": value}}
    )


def test_table_writes_reach_the_stream_mapped_function_in_a_worker(emulator, deploy):
    # GIVEN a table with a stream and a function mapped to it
    fn = deploy(
        """
        import os
        def handler(event, context):
            for change in event["Records"]:
                record({"event": change["eventName"], "id": change["dynamodb"]["Keys"]["Id"]["S"],
                        "region": change["awsRegion"], "source": change["eventSourceARN"],
                        "endpoint": os.environ.get("AWS_ENDPOINT_URL", "")})
    """,
        permissions=[stream_reader()],
    )
    table, stream_arn = stream_table(emulator)
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition="LATEST", BatchSize=10
    )
    # WHEN an item is inserted and then modified
    put(emulator, table, "a", "1")
    put(emulator, table, "a", "2")
    # THEN the handler saw both changes in order, running with the emulator as its AWS endpoint
    seen = wait_for(lambda: fn.records() if len(fn.records()) >= 2 else None, what="two stream records")
    assert [(r["event"], r["id"]) for r in seen] == [("INSERT", "a"), ("MODIFY", "a")]
    assert all(r["endpoint"] == emulator.endpoint_url for r in seen)
    assert all(r["region"] == REGION and r["source"] == stream_arn for r in seen)


def test_latest_starts_after_the_mapping_and_trim_horizon_at_the_first_record(emulator, deploy):
    # GIVEN a record written before two mappings are created, one at LATEST and one at TRIM_HORIZON
    source = "def handler(event, context):\n    record([r['eventName'] for r in event['Records']])\n"
    latest, horizon = (deploy(source, permissions=[stream_reader()]) for _ in range(2))
    table, stream_arn = stream_table(emulator)
    put(emulator, table, "before", "1")
    lambda_client = emulator.client("lambda", REGION)
    for fn, position in ((latest, "LATEST"), (horizon, "TRIM_HORIZON")):
        lambda_client.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition=position
        )
    # WHEN one more record is written
    put(emulator, table, "after", "1")
    emulator.stream_poller.wait_idle(timeout=15)
    # THEN LATEST delivered only the later record, TRIM_HORIZON both
    assert sum(len(batch) for batch in latest.records()) == 1
    assert sum(len(batch) for batch in horizon.records()) == 2


def test_records_matching_no_filter_pattern_never_invoke_the_function(emulator, deploy):
    # GIVEN a mapping whose filter passes MODIFY records only (the events repair function's)
    fn = deploy(
        "def handler(event, context):\n    record([r['eventName'] for r in event['Records']])\n",
        permissions=[stream_reader()],
    )
    table, stream_arn = stream_table(emulator)
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=fn.arn,
        StartingPosition="LATEST",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["MODIFY"]})}]},
    )
    # WHEN two items are inserted and one of them modified
    put(emulator, table, "a", "1")
    put(emulator, table, "b", "1")
    put(emulator, table, "a", "2")
    emulator.stream_poller.wait_idle(timeout=15)
    # THEN the function ran for the modification only
    assert [name for batch in fn.records() for name in batch] == ["MODIFY"]


def test_a_failing_record_is_bisected_out_retried_and_described_on_the_failure_queue(emulator, deploy):
    # GIVEN three records in the stream, the middle one poison, and a mapping that bisects failing
    # batches, retries twice and names an on-failure queue (its role may send to it, as AWS requires)
    failures_url, failures_arn = create_queue(emulator, f"stream-failures-{uuid.uuid4().hex[:8]}")
    fn = deploy(
        """
        def handler(event, context):
            values = [r["dynamodb"]["NewImage"]["Value"]["S"] for r in event["Records"]]
            record(values)
            if "poison" in values:
                raise ValueError("poison record")
    """,
        permissions=[
            stream_reader(),
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": failures_arn},
        ],
    )
    table, stream_arn = stream_table(emulator)
    for item_id, value in (("a", "ok-1"), ("b", "poison"), ("c", "ok-2")):
        put(emulator, table, item_id, value)
    # WHEN the mapping starts at the first record
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=fn.arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    [message] = drain(emulator, failures_url, expected=1)
    emulator.stream_poller.wait_idle(timeout=15)
    # THEN the batch was split until the poison record failed alone, three invocations in all for it
    batches = fn.records()
    assert batches[0] == ["ok-1", "poison", "ok-2"]
    assert sum("poison" in batch for batch in batches) == 3
    # AND the records around it succeeded, each in a batch without the poison
    assert {value for batch in batches if "poison" not in batch for value in batch} == {"ok-1", "ok-2"}
    # AND the failure queue has Lambda's description of where the poison record is in the stream
    failure = json.loads(message["Body"])
    info = failure["DDBStreamBatchInfo"]
    assert info["streamArn"] == stream_arn and info["batchSize"] == 1
    assert (
        info["startSequenceNumber"]
        == info["endSequenceNumber"]
        == poison_sequence_number(emulator, stream_arn)
    )
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"]["functionError"] == "Unhandled"


def poison_sequence_number(emulator: Emulator, stream_arn: str) -> str:
    streams = emulator.client("dynamodbstreams", REGION)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    [poison] = [r for r in records if r["dynamodb"]["NewImage"]["Value"]["S"] == "poison"]
    return str(poison["dynamodb"]["SequenceNumber"])


def test_a_stream_read_by_a_mapping_keeps_its_records_for_get_records(emulator, deploy):
    # GIVEN a stream with a mapping that has delivered a record
    fn = deploy(
        "def handler(event, context):\n    record(len(event['Records']))\n", permissions=[stream_reader()]
    )
    table, stream_arn = stream_table(emulator)
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition="LATEST"
    )
    put(emulator, table, "a", "1")
    emulator.stream_poller.wait_idle(timeout=15)
    assert fn.records() == [1]
    # WHEN the stream is read through the DynamoDB Streams API
    # THEN the record is still there (moto's own mapping empties the shard)
    streams = emulator.client("dynamodbstreams", REGION)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=iterator)["Records"]] == ["INSERT"]


def role_name_of(emulator: Emulator, function_name: str) -> str:
    role_arn = emulator.client("lambda", REGION).get_function(FunctionName=function_name)["Configuration"][
        "Role"
    ]
    return str(role_arn).rsplit("/", 1)[-1]


def test_a_mapping_reads_its_stream_as_the_functions_role_and_delivers_binary_values_base64(emulator, deploy):
    # GIVEN a function whose execution role may read the region's table streams, mapped to a stream
    fn = deploy(
        """
        def handler(event, context):
            record([change["dynamodb"]["NewImage"]["Blob"]["B"] for change in event["Records"]])
        """,
        permissions=[stream_reader()],
    )
    role_name = role_name_of(emulator, fn.name)
    table, stream_arn = stream_table(emulator)
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition="TRIM_HORIZON"
    )
    allowed_before = emulator.iam.decisions["allowed"]
    # WHEN an item with a binary attribute is written
    emulator.client("dynamodb", REGION).put_item(
        TableName=table, Item={"Id": {"S": "a"}, "Blob": {"B": b"\x00\xffbytes"}}
    )
    emulator.stream_poller.wait_idle(timeout=15)
    # THEN the function got the record, its binary value base64-encoded as Lambda delivers it
    assert fn.records() == [[base64.b64encode(b"\x00\xffbytes").decode()]]
    # AND the poller's reads (DescribeStream, GetShardIterator, GetRecords) were evaluated and allowed
    assert emulator.iam.decisions["allowed"] >= allowed_before + len(STREAM_READ_ACTIONS)
    assert not [denial for denial in emulator.iam.denials if f"/{role_name}/" in denial.principal]


@pytest.mark.parametrize("missing", STREAM_READ_ACTIONS)
def test_a_mapping_whose_role_may_not_read_the_stream_delivers_nothing_and_the_denial_is_recorded(
    emulator, deploy, missing
):
    # GIVEN a function whose execution role lacks one of the stream read actions, and a stream record
    granted = [action for action in STREAM_READ_ACTIONS if action != missing]
    fn = deploy(
        "def handler(event, context):\n    record(len(event['Records']))\n",
        permissions=[stream_reader(*granted)],
    )
    table, stream_arn = stream_table(emulator)
    put(emulator, table, "a", "1")
    lambda_client = emulator.client("lambda", REGION)
    # WHEN the function is mapped to the stream
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    try:
        # THEN the poller's read as the role is denied on the stream
        denial = wait_for(
            lambda: next(
                (
                    denial
                    for denial in emulator.iam.denials
                    if (denial.action, denial.resource) == (missing, stream_arn)
                ),
                None,
            ),
            what=f"the {missing} denial",
        )
    finally:
        lambda_client.delete_event_source_mapping(UUID=mapping)  # a mapping that cannot read stays busy
    # AND the denial names the function's role session
    role_name = role_name_of(emulator, fn.name)
    assert denial.principal == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{fn.name}"
    # AND the record never reached the function
    assert fn.records() == []


def test_concurrent_conditional_writes_let_exactly_one_pass(emulator):
    # GIVEN an item at version 1
    table, _ = stream_table(emulator)
    dynamodb = emulator.client("dynamodb", REGION)
    dynamodb.put_item(TableName=table, Item={"Id": {"S": "k"}, "Version": {"N": "1"}})

    def bump(writer: int) -> bool:
        try:
            dynamodb.put_item(
                TableName=table,
                Item={"Id": {"S": "k"}, "Version": {"N": "2"}, "Writer": {"N": str(writer)}},
                ConditionExpression="Version = :seen",
                ExpressionAttributeValues={":seen": {"N": "1"}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # WHEN 16 writers race to move it from version 1 to 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        passed = list(pool.map(bump, range(16)))
    # THEN exactly one write passed its condition
    assert passed.count(True) == 1


def _result(payload: Any = None, *, error: str | None = None) -> InvocationResult:
    return InvocationResult(payload=payload, error_type=error, error_message=error, logs="")


@pytest.mark.parametrize(
    ("result", "reports", "expected"),
    [
        (_result(None), True, None),
        (_result({"batchItemFailures": []}), True, None),
        (_result(None, error="Unhandled"), True, 0),
        (_result({"batchItemFailures": [{"itemIdentifier": "30"}, {"itemIdentifier": "20"}]}), True, 1),
        (_result({"batchItemFailures": [{"itemIdentifier": "99"}]}), True, 0),
        (_result({"batchItemFailures": [{"itemIdentifier": ""}]}), True, 0),
        (_result({"batchItemFailures": [{"itemIdentifier": "20"}]}), False, None),
    ],
    ids=[
        "success",
        "empty-failure-list",
        "function-error-fails-all",
        "checkpoint-before-lowest-failure",
        "unknown-identifier-fails-all",
        "empty-identifier-fails-all",
        "failures-ignored-without-ReportBatchItemFailures",
    ],
)
def test_a_batch_is_retried_from_where_lambda_checkpoints_it(result, reports, expected):
    assert first_failure(["10", "20", "30"], result, reports) == expected


class _Pages:
    """A DynamoDB Streams reader answering GetRecords with the pages given, counting the calls."""

    def __init__(self, *sizes: int) -> None:
        self.sizes = list(sizes)
        self.calls = 0

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls += 1
        return {"Records": [{"n": n} for n in range(self.sizes.pop(0))], "NextShardIterator": ShardIterator}


def poll_reader(
    monkeypatch: pytest.MonkeyPatch, pages: _Pages, clock: list[float]
) -> tuple[Any, list[float]]:
    """A mapping's reader of a shard holding plenty of records, on `clock`; the pauses it makes."""
    mapping = SimpleNamespace(
        uuid=str(uuid.uuid4()),
        starting_position="TRIM_HORIZON",
        source_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/none/stream/label",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:repair",
    )
    worker = dynamodb_streams._MappingWorker(mapping, runtime=None)  # type: ignore[arg-type]
    worker._reader, worker._iterator = pages, "iterator"
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(dynamodb_streams.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(worker, "pause", pause)
    return worker, pauses


def test_a_mapping_polls_its_shard_at_most_four_times_a_second_unless_a_page_was_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a mapping's reader at t=100 s over a shard with records to read, pages of at most 10
    clock = [100.0]
    pages = _Pages(3, 10, 10, 4)
    worker, pauses = poll_reader(monkeypatch, pages, clock)
    shard = SimpleNamespace(items=list(range(1000)))
    # WHEN it reads a short page (3), then at once again (a full page of 10), at once again (full),
    # then 0.1 s later again (4)
    sizes = [len(worker._read(shard, 10)), len(worker._read(shard, 10)), len(worker._read(shard, 10))]
    clock[0] += 0.1
    sizes.append(len(worker._read(shard, 10)))
    # THEN the read after the short page waited out Lambda's quarter-second poll interval, the reads
    # after full pages did not wait, and every page was delivered in order
    assert sizes == [3, 10, 10, 4]
    assert pauses == [pytest.approx(0.25)]
    assert pages.calls == 4
    assert worker.position == 27
