"""DynamoDB stream records reach a mapped function, run by localcloud's Lambda runtime."""

from __future__ import annotations

import uuid

from tests.unit.localcloud.conftest import REGION, wait_for


def test_table_writes_reach_the_stream_mapped_function_in_a_worker(emulator, deploy):
    # GIVEN a table with a stream and a function mapped to it
    fn = deploy("""
        import os
        def handler(event, context):
            for change in event["Records"]:
                record({"event": change["eventName"], "id": change["dynamodb"]["Keys"]["Id"]["S"],
                        "endpoint": os.environ.get("AWS_ENDPOINT_URL", "")})
    """)
    dynamodb = emulator.client("dynamodb", REGION)
    table = f"events-{uuid.uuid4().hex[:8]}"
    stream_arn = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    emulator.client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=fn.arn, StartingPosition="LATEST", BatchSize=10
    )
    # WHEN an item is inserted and then modified
    dynamodb.put_item(TableName=table, Item={"Id": {"S": "a"}, "Value": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"Id": {"S": "a"}, "Value": {"N": "2"}})
    # THEN the handler saw both changes, running with the emulator as its AWS endpoint
    seen = wait_for(lambda: fn.records() if len(fn.records()) >= 2 else None, what="two stream records")
    assert [(r["event"], r["id"]) for r in seen] == [("INSERT", "a"), ("MODIFY", "a")]
    assert all(r["endpoint"] == emulator.endpoint_url for r in seen)
