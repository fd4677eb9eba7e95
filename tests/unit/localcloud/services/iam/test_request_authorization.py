"""Each emulated API call maps to the IAM checks AWS makes for it: action names per the Service
Authorization Reference (which differ from operation names in places) on the resource ARNs AWS evaluates."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from localcloud.services.iam.request_authorization import (
    ApiRequest,
    Check,
    authorization_checks,
    iam_prefix,
    is_mapped,
    mapped_operations,
)

REGION = "eu-west-1"
ACCOUNT = "111122223333"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
STREAM = f"{TABLE}/orders/stream/2024-01-01T00:00:00.000"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:flow"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:flow:run-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group"
OTHER_FUNCTION = "arn:aws:lambda:us-east-1:999999999999:function:other"


class FakeResolver:
    """Secrets get a fixed random suffix; KMS aliases resolve to key 1234."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def secret_arn(self, secret_id: str, region: str, account: str) -> str:
        self.asked.append(secret_id)
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-AbCdEf"

    def kms_key_arn(self, key_id: str, region: str, account: str) -> str:
        self.asked.append(key_id)
        return f"arn:aws:kms:{region}:{account}:key/{'1234' if key_id.startswith('alias/') else key_id}"

    def object_exists(self, bucket: str, key: str, account: str) -> bool:
        return not key.startswith("absent")


def checks(service: str, operation: str, params: dict[str, Any] | None = None, path: str = "") -> list[Check]:
    request = ApiRequest(
        service=service, operation=operation, params=params or {}, path=path, region=REGION, account=ACCOUNT
    )
    return authorization_checks(request, FakeResolver())


def pairs(
    service: str, operation: str, params: dict[str, Any] | None = None, path: str = ""
) -> list[tuple[str, str]]:
    """The (action, resource) pairs of a request this module maps (none of them the unmapped fallback)."""
    found = checks(service, operation, params, path)
    assert not any(check.unmapped for check in found)
    return [(check.action, check.resource) for check in found]


# -- DynamoDB -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable", "CreateTable"],
)
def test_dynamodb_item_and_table_operations_are_authorized_on_the_table_arn(operation: str) -> None:
    # GIVEN a request naming a table by name
    # WHEN its checks are computed
    # THEN the operation's own action applies to the table's ARN in the request's region and account
    assert pairs("dynamodb", operation, {"TableName": "orders"}) == [
        (f"dynamodb:{operation}", f"{TABLE}/orders")
    ]


@pytest.mark.parametrize(
    "operation",
    ["UpdateTable", "DeleteTable", "DescribeContinuousBackups", "DescribeTimeToLive", "UpdateTimeToLive"],
)
def test_dynamodb_table_management_is_authorized_on_the_table_arn(operation: str) -> None:
    assert pairs("dynamodb", operation, {"TableName": "orders"}) == [
        (f"dynamodb:{operation}", f"{TABLE}/orders")
    ]


def test_a_table_given_by_its_arn_is_authorized_on_that_arn() -> None:
    # GIVEN a newer SDK's request naming the table by ARN, in another account
    other = "arn:aws:dynamodb:us-east-1:999999999999:table/shared"
    # THEN the ARN is used as given, not rebuilt from the request's region and account
    assert pairs("dynamodb", "GetItem", {"TableName": other}) == [("dynamodb:GetItem", other)]
    assert pairs("dynamodb", "Query", {"TableName": other, "IndexName": "byDate"}) == [
        ("dynamodb:Query", f"{other}/index/byDate")
    ]


def test_queries_and_scans_of_an_index_are_authorized_on_the_index_arn() -> None:
    # GIVEN a Query and a Scan reading a global secondary index
    params = {"TableName": "orders", "IndexName": "byCustomer"}
    # THEN each is authorized on table/NAME/index/INDEX, not on the table
    assert pairs("dynamodb", "Query", params) == [("dynamodb:Query", f"{TABLE}/orders/index/byCustomer")]
    assert pairs("dynamodb", "Scan", params) == [("dynamodb:Scan", f"{TABLE}/orders/index/byCustomer")]


def test_tagging_a_table_is_authorized_on_the_resource_arn() -> None:
    params = {"ResourceArn": f"{TABLE}/orders", "Tags": [{"Key": "team", "Value": "core"}]}
    assert pairs("dynamodb", "TagResource", params) == [("dynamodb:TagResource", f"{TABLE}/orders")]


def test_batch_operations_check_their_own_action_on_every_table_they_touch() -> None:
    # GIVEN batches spanning two tables, one named by ARN
    items: dict[str, Any] = {"orders": [{"PutRequest": {}}], f"{TABLE}/customers": [{"DeleteRequest": {}}]}
    # THEN dynamodb:BatchWriteItem / BatchGetItem is checked once per table
    assert pairs("dynamodb", "BatchWriteItem", {"RequestItems": items}) == [
        ("dynamodb:BatchWriteItem", f"{TABLE}/orders"),
        ("dynamodb:BatchWriteItem", f"{TABLE}/customers"),
    ]
    assert pairs("dynamodb", "BatchGetItem", {"RequestItems": {"orders": {"Keys": []}}}) == [
        ("dynamodb:BatchGetItem", f"{TABLE}/orders")
    ]


def test_transactional_writes_check_each_items_own_action_on_its_table() -> None:
    # GIVEN a transaction putting, updating, deleting and condition-checking across tables
    items = [
        {"Put": {"TableName": "orders", "Item": {}}},
        {"Update": {"TableName": "customers", "Key": {}}},
        {"Delete": {"TableName": "orders", "Key": {}}},
        {"ConditionCheck": {"TableName": "limits", "Key": {}}},
        {"Put": {"TableName": "orders", "Item": {}}},
    ]
    # WHEN its checks are computed
    # THEN TransactWriteItems (no IAM action of its own) becomes the items' actions, each pair once
    assert pairs("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        ("dynamodb:PutItem", f"{TABLE}/orders"),
        ("dynamodb:UpdateItem", f"{TABLE}/customers"),
        ("dynamodb:DeleteItem", f"{TABLE}/orders"),
        ("dynamodb:ConditionCheckItem", f"{TABLE}/limits"),
    ]


def test_transactional_reads_check_get_item_on_each_table() -> None:
    items = [{"Get": {"TableName": "orders", "Key": {}}}, {"Get": {"TableName": "customers", "Key": {}}}]
    assert pairs("dynamodb", "TransactGetItems", {"TransactItems": items}) == [
        ("dynamodb:GetItem", f"{TABLE}/orders"),
        ("dynamodb:GetItem", f"{TABLE}/customers"),
    ]


def test_partiql_statements_are_authorized_as_partiql_actions_on_their_table_or_index() -> None:
    # GIVEN PartiQL statements of each verb, quoted and bare, one reading an index
    select = 'SELECT * FROM "orders"."byCustomer" WHERE customer = ?'
    assert pairs("dynamodb", "ExecuteStatement", {"Statement": select}) == [
        ("dynamodb:PartiQLSelect", f"{TABLE}/orders/index/byCustomer")
    ]
    statements = [
        {"Statement": "INSERT INTO orders VALUE {'id': 1}"},
        {"Statement": 'UPDATE "orders" SET total = 2 WHERE id = 1'},
        {"Statement": "delete from orders where id = 1"},
    ]
    # THEN each maps to dynamodb:PartiQL<Verb> on the table
    assert pairs("dynamodb", "BatchExecuteStatement", {"Statements": statements}) == [
        ("dynamodb:PartiQLInsert", f"{TABLE}/orders"),
        ("dynamodb:PartiQLUpdate", f"{TABLE}/orders"),
        ("dynamodb:PartiQLDelete", f"{TABLE}/orders"),
    ]


def test_stream_reads_are_authorized_on_the_stream_arn_on_either_endpoint_name() -> None:
    # GIVEN stream calls on the streams endpoint (dynamodbstreams) and on dynamodb
    for service in ("dynamodbstreams", "dynamodb"):
        assert pairs(service, "DescribeStream", {"StreamArn": STREAM}) == [
            ("dynamodb:DescribeStream", STREAM)
        ]
        assert pairs(service, "GetShardIterator", {"StreamArn": STREAM, "ShardId": "s"}) == [
            ("dynamodb:GetShardIterator", STREAM)
        ]
        assert pairs(service, "ListStreams") == [("dynamodb:ListStreams", "*")]


def test_get_records_is_authorized_on_the_stream_its_iterator_belongs_to() -> None:
    # GIVEN an iterator as AWS and moto issue them: "<stream arn>|1|<token>"
    assert pairs("dynamodbstreams", "GetRecords", {"ShardIterator": f"{STREAM}|1|AAAAopaque"}) == [
        ("dynamodb:GetRecords", STREAM)
    ]
    # AND an opaque iterator, with the stream named by the caller, or not at all
    assert pairs(
        "dynamodbstreams", "GetRecords", {"ShardIterator": "opaque", "localcloud:StreamArn": STREAM}
    ) == [("dynamodb:GetRecords", STREAM)]
    assert pairs("dynamodbstreams", "GetRecords", {"ShardIterator": "opaque"}) == [
        ("dynamodb:GetRecords", "*")
    ]


# -- SQS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue_url", "queue_arn"),
    [
        (f"http://127.0.0.1:4566/{ACCOUNT}/jobs", QUEUE),  # localcloud: region from the request
        (f"https://sqs.us-west-2.amazonaws.com/{ACCOUNT}/jobs", f"arn:aws:sqs:us-west-2:{ACCOUNT}:jobs"),
        (
            f"https://eu-central-1.queue.amazonaws.com/{ACCOUNT}/jobs",
            f"arn:aws:sqs:eu-central-1:{ACCOUNT}:jobs",
        ),
        ("http://localhost:4566/999999999999/jobs.fifo", f"arn:aws:sqs:{REGION}:999999999999:jobs.fifo"),
    ],
)
def test_a_queue_url_in_either_form_names_the_queue_arn(queue_url: str, queue_arn: str) -> None:
    assert pairs("sqs", "SendMessage", {"QueueUrl": queue_url}) == [("sqs:SendMessage", queue_arn)]


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("SendMessageBatch", "sqs:SendMessage"),
        ("DeleteMessageBatch", "sqs:DeleteMessage"),
        ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
        ("ReceiveMessage", "sqs:ReceiveMessage"),
        ("GetQueueAttributes", "sqs:GetQueueAttributes"),
    ],
)
def test_sqs_batch_operations_are_authorized_as_their_single_message_actions(
    operation: str, action: str
) -> None:
    assert pairs("sqs", operation, {"QueueUrl": f"http://localhost:4566/{ACCOUNT}/jobs"}) == [(action, QUEUE)]


def test_a_query_protocol_call_posted_to_the_queue_url_is_authorized_on_that_queue() -> None:
    # GIVEN a query-protocol call without QueueUrl, posted to the queue's own URL path
    assert pairs("sqs", "ReceiveMessage", {"Action": "ReceiveMessage"}, path=f"/{ACCOUNT}/jobs") == [
        ("sqs:ReceiveMessage", QUEUE)
    ]
    # AND one posted to the endpoint's root names no queue
    assert pairs("sqs", "ReceiveMessage", path="/") == [("sqs:ReceiveMessage", "*")]


def test_creating_a_queue_is_authorized_on_the_named_queue_and_tagging_it_needs_tag_queue() -> None:
    assert pairs("sqs", "CreateQueue", {"QueueName": "jobs"}) == [("sqs:CreateQueue", QUEUE)]
    # GIVEN tags on creation, in the query protocol's flattened form
    assert pairs("sqs", "CreateQueue", {"QueueName": "jobs", "Tag.1.Key": "team", "Tag.1.Value": "x"}) == [
        ("sqs:CreateQueue", QUEUE),
        ("sqs:TagQueue", QUEUE),
    ]


def test_get_queue_url_is_authorized_on_the_queue_of_the_owner_account_when_given() -> None:
    assert pairs("sqs", "GetQueueUrl", {"QueueName": "jobs"}) == [("sqs:GetQueueUrl", QUEUE)]
    assert pairs("sqs", "GetQueueUrl", {"QueueName": "jobs", "QueueOwnerAWSAccountId": "999999999999"}) == [
        ("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:999999999999:jobs")
    ]


def test_listing_queues_is_authorized_on_every_resource() -> None:
    assert pairs("sqs", "ListQueues", {"QueueNamePrefix": "j"}) == [("sqs:ListQueues", "*")]


# -- SNS ----------------------------------------------------------------------------------------------


def test_publishing_is_authorized_on_the_topic_or_target_and_batches_as_publish() -> None:
    endpoint = f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/GCM/app/1"
    assert pairs("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}) == [("sns:Publish", TOPIC)]
    assert pairs("sns", "Publish", {"TargetArn": endpoint, "Message": "m"}) == [("sns:Publish", endpoint)]
    assert pairs("sns", "Publish", {"PhoneNumber": "+15555550100", "Message": "m"}) == [("sns:Publish", "*")]
    assert pairs("sns", "PublishBatch", {"TopicArn": TOPIC}) == [("sns:Publish", TOPIC)]


def test_topic_operations_are_authorized_on_the_topic_and_create_topic_on_its_name() -> None:
    for operation in ("Subscribe", "GetTopicAttributes", "SetTopicAttributes", "ListSubscriptionsByTopic"):
        assert pairs("sns", operation, {"TopicArn": TOPIC}) == [(f"sns:{operation}", TOPIC)]
    assert pairs("sns", "CreateTopic", {"Name": "alerts"}) == [("sns:CreateTopic", TOPIC)]


def test_unsubscribing_is_authorized_on_the_subscriptions_topic() -> None:
    # GIVEN a subscription ARN: the topic's ARN and a subscription id
    subscription = f"{TOPIC}:0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"
    # THEN sns:Unsubscribe applies to the topic
    assert pairs("sns", "Unsubscribe", {"SubscriptionArn": subscription}) == [("sns:Unsubscribe", TOPIC)]


# -- Step Functions -----------------------------------------------------------------------------------


def test_starting_executions_is_authorized_on_the_state_machine() -> None:
    for operation in ("StartExecution", "StartSyncExecution", "DescribeStateMachine", "DeleteStateMachine"):
        assert pairs("states", operation, {"stateMachineArn": MACHINE}) == [(f"states:{operation}", MACHINE)]
    # AND a qualified machine (version or alias) keeps its qualifier
    assert pairs("stepfunctions", "StartExecution", {"stateMachineArn": f"{MACHINE}:prod"}) == [
        ("states:StartExecution", f"{MACHINE}:prod")
    ]


def test_execution_operations_are_authorized_on_the_execution_arn_as_given() -> None:
    express = f"arn:aws:states:{REGION}:{ACCOUNT}:express:flow:run-1:8f1c"
    map_child = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:flow/map-run-1:child-1"
    for execution in (EXECUTION, express, map_child):
        for operation in ("DescribeExecution", "StopExecution", "GetExecutionHistory"):
            assert pairs("states", operation, {"executionArn": execution}) == [
                (f"states:{operation}", execution)
            ]


def test_listing_executions_is_authorized_on_the_machine_or_the_map_run() -> None:
    map_run = f"arn:aws:states:{REGION}:{ACCOUNT}:mapRun:flow/map-run-1:1a2b"
    assert pairs("states", "ListExecutions", {"stateMachineArn": MACHINE}) == [
        ("states:ListExecutions", MACHINE)
    ]
    assert pairs("states", "ListExecutions", {"mapRunArn": map_run}) == [("states:ListExecutions", map_run)]
    assert pairs("states", "DescribeMapRun", {"mapRunArn": map_run}) == [("states:DescribeMapRun", map_run)]
    assert pairs("states", "ListMapRuns", {"executionArn": EXECUTION}) == [("states:ListMapRuns", EXECUTION)]


def test_task_tokens_and_listing_machines_are_authorized_on_every_resource() -> None:
    for operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat", "ListStateMachines"):
        assert pairs("states", operation, {"taskToken": "t"}) == [(f"states:{operation}", "*")]


def test_creating_a_state_machine_passes_its_role() -> None:
    params = {"name": "flow", "definition": "{}", "roleArn": ROLE}
    assert pairs("states", "CreateStateMachine", params) == [
        ("states:CreateStateMachine", MACHINE),
        ("iam:PassRole", ROLE),
    ]


# -- Lambda -------------------------------------------------------------------------------------------


def test_invoking_from_the_url_path_is_authorized_as_invoke_function_on_the_function() -> None:
    # GIVEN the REST path of Invoke, with the function's name only in the path
    path = "/2015-03-31/functions/worker/invocations"
    # THEN lambda:InvokeFunction (not lambda:Invoke) applies to the function's ARN
    assert pairs("lambda", "Invoke", path=path) == [("lambda:InvokeFunction", FUNCTION)]


@pytest.mark.parametrize(
    ("function", "qualifier", "expected"),
    [
        ("worker:live", None, f"{FUNCTION}:live"),
        (f"{ACCOUNT}:function:worker", None, FUNCTION),  # a partial ARN
        ("arn%3Aaws%3Alambda%3Aeu-west-1%3A111122223333%3Afunction%3Aworker%3A7", None, f"{FUNCTION}:7"),
        ("worker", "live", f"{FUNCTION}:live"),  # the Qualifier query parameter
        ("arn:aws:lambda:us-east-1:999999999999:function:other", None, OTHER_FUNCTION),
    ],
)
def test_a_function_keeps_its_qualifier_and_any_name_form_becomes_its_arn(
    function: str, qualifier: str | None, expected: str
) -> None:
    query = f"?Qualifier={qualifier}" if qualifier else ""
    path = f"/2015-03-31/functions/{function}/invocations{query}"
    assert pairs("awslambda", "Invoke", path=path) == [("lambda:InvokeFunction", expected)]
    # AND the same from the parameters, as a caller that decoded them passes them
    params = {"FunctionName": function.replace("%3A", ":"), **({"Qualifier": qualifier} if qualifier else {})}
    assert pairs("lambda", "Invoke", params) == [("lambda:InvokeFunction", expected)]


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("InvokeAsync", "lambda:InvokeAsync"),
        ("GetFunction", "lambda:GetFunction"),
        ("GetFunctionConfiguration", "lambda:GetFunctionConfiguration"),
        ("UpdateFunctionCode", "lambda:UpdateFunctionCode"),
        ("AddPermission", "lambda:AddPermission"),
        ("RemovePermission", "lambda:RemovePermission"),
        ("GetPolicy", "lambda:GetPolicy"),
        ("PutFunctionConcurrency", "lambda:PutFunctionConcurrency"),
        ("CreateFunctionUrlConfig", "lambda:CreateFunctionUrlConfig"),
        ("GetFunctionUrlConfig", "lambda:GetFunctionUrlConfig"),
    ],
)
def test_function_operations_are_authorized_on_the_function(operation: str, action: str) -> None:
    assert pairs("lambda", operation, {"FunctionName": "worker"}) == [(action, FUNCTION)]


def test_configuring_a_function_passes_its_role_and_reads_its_layers() -> None:
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:3"
    params = {"FunctionName": "worker", "Role": ROLE, "Layers": [layer]}
    assert pairs("lambda", "UpdateFunctionConfiguration", params) == [
        ("lambda:UpdateFunctionConfiguration", FUNCTION),
        ("iam:PassRole", ROLE),
        ("lambda:GetLayerVersion", layer),
    ]


def test_event_source_mappings_follow_the_reference_create_and_list_on_every_resource() -> None:
    # GIVEN CreateEventSourceMapping, which the reference scopes by condition key, not resource
    params = {"FunctionName": "worker", "EventSourceArn": QUEUE}
    assert pairs("lambda", "CreateEventSourceMapping", params) == [("lambda:CreateEventSourceMapping", "*")]
    assert pairs("lambda", "ListEventSourceMappings") == [("lambda:ListEventSourceMappings", "*")]
    assert pairs("lambda", "ListFunctions") == [("lambda:ListFunctions", "*")]
    # AND an existing mapping is authorized on its own ARN
    path = "/2015-03-31/event-source-mappings/1a2b3c4d-0000-1111-2222-333344445555"
    assert pairs("lambda", "DeleteEventSourceMapping", path=path) == [
        (
            "lambda:DeleteEventSourceMapping",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:1a2b3c4d-0000-1111-2222-333344445555",
        )
    ]


def test_layers_are_authorized_on_the_layer_and_its_versions_on_the_version() -> None:
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps"
    assert pairs("lambda", "PublishLayerVersion", path="/2018-10-31/layers/deps/versions") == [
        ("lambda:PublishLayerVersion", layer)
    ]
    assert pairs("lambda", "GetLayerVersion", path="/2018-10-31/layers/deps/versions/3") == [
        ("lambda:GetLayerVersion", f"{layer}:3")
    ]


# -- S3 -----------------------------------------------------------------------------------------------


def test_object_reads_are_authorized_on_the_object_and_as_version_reads_when_a_version_is_named() -> None:
    # GIVEN a path-style GetObject and HeadObject, with and without a versionId
    assert pairs("s3", "GetObject", path="/bucket/dir/report%20v1.csv") == [
        ("s3:GetObject", "arn:aws:s3:::bucket/dir/report v1.csv")
    ]
    assert pairs("s3", "GetObject", path="/bucket/key?versionId=v1") == [
        ("s3:GetObjectVersion", "arn:aws:s3:::bucket/key")
    ]
    assert pairs("s3", "HeadObject", {"Bucket": "bucket", "Key": "key"}) == [
        ("s3:GetObject", "arn:aws:s3:::bucket/key")
    ]
    assert pairs("s3", "HeadObject", {"Bucket": "bucket", "Key": "key", "VersionId": "v1"}) == [
        ("s3:GetObjectVersion", "arn:aws:s3:::bucket/key")
    ]


def test_reading_a_missing_key_also_takes_listbucket_as_s3_decides_404_or_403() -> None:
    # GIVEN GetObject and HeadObject of a key the bucket does not hold
    for operation in ("GetObject", "HeadObject"):
        # THEN the caller needs s3:ListBucket on the bucket besides the read: without it S3 answers 403
        assert pairs("s3", operation, {"Bucket": "bucket", "Key": "absent.csv"}) == [
            ("s3:GetObject", "arn:aws:s3:::bucket/absent.csv"),
            ("s3:ListBucket", "arn:aws:s3:::bucket"),
        ]
    # AND a request for a version is decided on the version's action alone
    assert pairs("s3", "GetObject", {"Bucket": "bucket", "Key": "absent.csv", "VersionId": "v1"}) == [
        ("s3:GetObjectVersion", "arn:aws:s3:::bucket/absent.csv")
    ]


def test_object_writes_deletes_and_tagging_have_version_forms() -> None:
    located = {"Bucket": "bucket", "Key": "key"}
    versioned = {**located, "VersionId": "v1"}
    assert pairs("s3", "PutObject", located) == [("s3:PutObject", "arn:aws:s3:::bucket/key")]
    assert pairs("s3", "DeleteObject", located) == [("s3:DeleteObject", "arn:aws:s3:::bucket/key")]
    assert pairs("s3", "DeleteObject", versioned) == [("s3:DeleteObjectVersion", "arn:aws:s3:::bucket/key")]
    assert pairs("s3", "GetObjectTagging", versioned) == [
        ("s3:GetObjectVersionTagging", "arn:aws:s3:::bucket/key")
    ]
    assert pairs("s3", "PutObjectTagging", located) == [("s3:PutObjectTagging", "arn:aws:s3:::bucket/key")]
    assert pairs("s3", "RestoreObject", located) == [("s3:RestoreObject", "arn:aws:s3:::bucket/key")]


def test_multipart_uploads_are_authorized_as_put_object_except_aborting() -> None:
    located = {"Bucket": "bucket", "Key": "key", "UploadId": "u"}
    for operation in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        assert pairs("s3", operation, located) == [("s3:PutObject", "arn:aws:s3:::bucket/key")]
    assert pairs("s3", "AbortMultipartUpload", located) == [
        ("s3:AbortMultipartUpload", "arn:aws:s3:::bucket/key")
    ]


@pytest.mark.parametrize(
    ("copy_source", "read"),
    [
        ("source/dir/a%20b.txt", ("s3:GetObject", "arn:aws:s3:::source/dir/a b.txt")),
        ("/source/a.txt?versionId=v1", ("s3:GetObjectVersion", "arn:aws:s3:::source/a.txt")),
        (
            {"Bucket": "source", "Key": "a.txt", "VersionId": "v1"},
            ("s3:GetObjectVersion", "arn:aws:s3:::source/a.txt"),
        ),
    ],
)
def test_copying_reads_the_source_and_writes_the_destination(copy_source: Any, read: tuple[str, str]) -> None:
    # GIVEN a CopyObject whose x-amz-copy-source is in any of its forms
    # THEN the source is read (its version, if named) and the destination written
    assert pairs("s3", "CopyObject", {"CopySource": copy_source}, path="/target/copied.txt") == [
        read,
        ("s3:PutObject", "arn:aws:s3:::target/copied.txt"),
    ]


def test_bucket_operations_are_authorized_on_the_bucket_with_their_iam_action_names() -> None:
    assert pairs("s3", "ListObjectsV2", path="/bucket?list-type=2") == [
        ("s3:ListBucket", "arn:aws:s3:::bucket")
    ]
    assert pairs("s3", "ListObjects", {"Bucket": "bucket"}) == [("s3:ListBucket", "arn:aws:s3:::bucket")]
    assert pairs("s3", "ListObjectVersions", {"Bucket": "bucket"}) == [
        ("s3:ListBucketVersions", "arn:aws:s3:::bucket")
    ]
    for operation in ("GetBucketVersioning", "PutBucketPolicy", "GetBucketLocation"):
        assert pairs("s3", operation, {"Bucket": "bucket"}) == [(f"s3:{operation}", "arn:aws:s3:::bucket")]
    assert pairs("s3", "ListBuckets") == [("s3:ListAllMyBuckets", "*")]


# -- Secrets Manager and KMS --------------------------------------------------------------------------


def test_secrets_are_authorized_on_the_full_arn_the_resolver_gives() -> None:
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-password-AbCdEf"
    # GIVEN secrets named by name, whose ARNs carry a random suffix only the emulator knows
    for operation in ("GetSecretValue", "DescribeSecret", "PutSecretValue"):
        assert pairs("secretsmanager", operation, {"SecretId": "db-password"}) == [
            (f"secretsmanager:{operation}", secret)
        ]
    assert pairs("secretsmanager", "CreateSecret", {"Name": "db-password"}) == [
        ("secretsmanager:CreateSecret", secret)
    ]


def test_the_resolver_is_asked_with_the_request_region_and_account() -> None:
    resolver = FakeResolver()
    request = ApiRequest(
        service="secretsmanager",
        operation="GetSecretValue",
        params={"SecretId": "s"},
        region=REGION,
        account=ACCOUNT,
    )
    authorization_checks(request, resolver)
    assert resolver.asked == ["s"]


def test_kms_operations_are_authorized_on_the_key_an_alias_resolves_to() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    for operation in ("Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey", "CreateGrant"):
        assert pairs("kms", operation, {"KeyId": "alias/app"}) == [(f"kms:{operation}", key)]
    for operation in ("CreateKey", "ListKeys", "ListAliases"):
        assert pairs("kms", operation) == [(f"kms:{operation}", "*")]


def test_decrypt_without_a_key_id_uses_the_callers_key_from_the_ciphertext_else_every_resource() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5678"
    assert pairs("kms", "Decrypt", {"CiphertextBlob": "x", "localcloud:KeyArn": key}) == [
        ("kms:Decrypt", key)
    ]
    assert pairs("kms", "Decrypt", {"CiphertextBlob": "x"}) == [("kms:Decrypt", "*")]


# -- SES ----------------------------------------------------------------------------------------------


def test_sending_is_authorized_on_the_senders_address_identity_and_the_configuration_set() -> None:
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/noreply@example.com"
    configuration_set = f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/tracked"
    # GIVEN v1 (Source, with a display name) and v2 (FromEmailAddress) sends
    v1 = {"Source": "Example <noreply@example.com>", "ConfigurationSetName": "tracked"}
    v2 = {"FromEmailAddress": "noreply@example.com", "Content": {"Simple": {}}}
    assert pairs("ses", "SendEmail", v1) == [
        ("ses:SendEmail", identity),
        ("ses:SendEmail", configuration_set),
    ]
    for service in ("ses", "sesv2"):
        assert pairs(service, "SendEmail", v2) == [("ses:SendEmail", identity)]


def test_raw_messages_are_sent_as_send_raw_email_from_their_from_header() -> None:
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/noreply@example.com"
    message = b"From: noreply@example.com\r\nTo: someone@example.org\r\nSubject: hi\r\n\r\nbody"
    # GIVEN a v1 SendRawEmail without Source (query protocol: base64) and a v2 raw SendEmail
    v1 = {"RawMessage.Data": base64.b64encode(message).decode()}
    v2 = {"Content": {"Raw": {"Data": message}}}
    assert pairs("ses", "SendRawEmail", v1) == [("ses:SendRawEmail", identity)]
    assert pairs("sesv2", "SendEmail", v2) == [("ses:SendRawEmail", identity)]


# -- Route 53, Route 53 ARC ---------------------------------------------------------------------------


def test_hosted_zone_operations_are_authorized_on_the_zone_from_the_path_or_parameters() -> None:
    zone = "arn:aws:route53:::hostedzone/Z0123456789"
    assert pairs("route53", "ChangeResourceRecordSets", path="/2013-04-01/hostedzone/Z0123456789/rrset/") == [
        ("route53:ChangeResourceRecordSets", zone)
    ]
    assert pairs("route53", "ListResourceRecordSets", {"HostedZoneId": "/hostedzone/Z0123456789"}) == [
        ("route53:ListResourceRecordSets", zone)
    ]
    assert pairs("route53", "GetHostedZone", path="/2013-04-01/hostedzone/Z0123456789") == [
        ("route53:GetHostedZone", zone)
    ]
    assert pairs("route53", "GetChange", path="/2013-04-01/change/C0001") == [
        ("route53:GetChange", "arn:aws:route53:::change/C0001")
    ]
    assert pairs("route53", "ListHostedZones", path="/2013-04-01/hostedzone") == [
        ("route53:ListHostedZones", "*")
    ]


def test_routing_control_updates_are_authorized_on_each_routing_control() -> None:
    control = "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def"
    other = "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/ghi"
    service = "route53-recovery-cluster"
    assert pairs(service, "GetRoutingControlState", {"RoutingControlArn": control}) == [
        ("route53-recovery-cluster:GetRoutingControlState", control)
    ]
    entries = [{"RoutingControlArn": control, "RoutingControlState": "On"}, {"RoutingControlArn": other}]
    assert pairs(service, "UpdateRoutingControlStates", {"UpdateRoutingControlStateEntries": entries}) == [
        ("route53-recovery-cluster:UpdateRoutingControlStates", control),
        ("route53-recovery-cluster:UpdateRoutingControlStates", other),
    ]


# -- CloudWatch, Logs, X-Ray --------------------------------------------------------------------------


def test_cloudwatch_metrics_are_unscoped_and_alarms_scoped_to_the_alarm() -> None:
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm"
    assert pairs("monitoring", "PutMetricData", {"Namespace": "App"}) == [("cloudwatch:PutMetricData", "*")]
    assert pairs("monitoring", "PutMetricAlarm", {"AlarmName": "errors"}) == [
        ("cloudwatch:PutMetricAlarm", f"{alarm}:errors")
    ]
    # GIVEN DescribeAlarms by names (query protocol), by prefix and unfiltered
    named = {"AlarmNames.member.1": "errors", "AlarmNames.member.2": "latency"}
    assert pairs("monitoring", "DescribeAlarms", named) == [
        ("cloudwatch:DescribeAlarms", f"{alarm}:errors"),
        ("cloudwatch:DescribeAlarms", f"{alarm}:latency"),
    ]
    assert pairs("monitoring", "DescribeAlarms", {"AlarmNamePrefix": "app-"}) == [
        ("cloudwatch:DescribeAlarms", f"{alarm}:app-*")
    ]
    assert pairs("cloudwatch", "DescribeAlarms") == [("cloudwatch:DescribeAlarms", f"{alarm}:*")]


def test_log_actions_are_authorized_on_the_group_or_stream_arn_aws_evaluates() -> None:
    # GIVEN group-level and stream-level calls
    group = {"logGroupName": "/aws/lambda/worker"}
    stream = {**group, "logStreamName": "2024/01/01/[$LATEST]abc"}
    # THEN groups are evaluated as "...:log-group:NAME:log-stream:" and streams with the stream's name
    for operation in ("CreateLogGroup", "DescribeLogStreams"):
        assert pairs("logs", operation, group) == [
            (f"logs:{operation}", f"{LOGS}:/aws/lambda/worker:log-stream:")
        ]
    for operation in ("CreateLogStream", "PutLogEvents"):
        assert pairs("logs", operation, stream) == [
            (f"logs:{operation}", f"{LOGS}:/aws/lambda/worker:log-stream:2024/01/01/[$LATEST]abc")
        ]
    assert pairs("logs", "DescribeLogGroups") == [("logs:DescribeLogGroups", f"{LOGS}::log-stream:")]


def test_xray_telemetry_is_authorized_on_every_resource() -> None:
    for operation in ("PutTraceSegments", "PutTelemetryRecords"):
        assert pairs("xray", operation, {"TraceSegmentDocuments": []}) == [(f"xray:{operation}", "*")]


# -- STS, EventBridge, SSM ----------------------------------------------------------------------------


def test_assuming_a_role_is_authorized_on_the_role_and_who_am_i_needs_nothing() -> None:
    assert pairs("sts", "AssumeRole", {"RoleArn": ROLE, "RoleSessionName": "s"}) == [("sts:AssumeRole", ROLE)]
    # GIVEN session tags in the query protocol's flattened form
    tagged = {"RoleArn": ROLE, "Tags.member.1.Key": "team", "Tags.member.1.Value": "core"}
    assert pairs("sts", "AssumeRole", tagged) == [("sts:AssumeRole", ROLE), ("sts:TagSession", ROLE)]
    assert checks("sts", "GetCallerIdentity") == []


def test_events_are_authorized_on_each_bus_they_go_to_and_rules_on_the_rule() -> None:
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule"
    entries = [
        {"Source": "app"},
        {"Source": "app", "EventBusName": "orders"},
        {"EventBusName": f"{bus}/orders"},
    ]
    assert pairs("events", "PutEvents", {"Entries": entries}) == [
        ("events:PutEvents", f"{bus}/default"),
        ("events:PutEvents", f"{bus}/orders"),
    ]
    assert pairs("events", "PutRule", {"Name": "nightly"}) == [("events:PutRule", f"{rule}/nightly")]
    assert pairs("events", "DescribeRule", {"Name": "nightly", "EventBusName": "orders"}) == [
        ("events:DescribeRule", f"{rule}/orders/nightly")
    ]
    targets = [{"Id": "1", "Arn": QUEUE}, {"Id": "2", "Arn": MACHINE, "RoleArn": ROLE}]
    assert pairs("events", "PutTargets", {"Rule": "nightly", "Targets": targets}) == [
        ("events:PutTargets", f"{rule}/nightly"),
        ("iam:PassRole", ROLE),
    ]


def test_parameters_are_authorized_on_their_arn_for_rooted_and_plain_names() -> None:
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    assert pairs("ssm", "GetParameter", {"Name": "/app/db/url"}) == [
        ("ssm:GetParameter", f"{parameter}/app/db/url")
    ]
    assert pairs("ssm", "GetParameter", {"Name": "flag:3"}) == [("ssm:GetParameter", f"{parameter}/flag")]
    assert pairs("ssm", "GetParameters", {"Names": ["/a", "b"]}) == [
        ("ssm:GetParameters", f"{parameter}/a"),
        ("ssm:GetParameters", f"{parameter}/b"),
    ]


# -- The fallback and the registry --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("ec2", "RunInstances", "ec2:RunInstances"),
        ("apigateway", "GetRestApi", "apigateway:GetRestApi"),
        ("dynamodb", "RestoreTableFromBackup", "dynamodb:RestoreTableFromBackup"),
        ("monitoring", "PutMetricStream", "cloudwatch:PutMetricStream"),
        ("sesv2", "PutAccountDetails", "ses:PutAccountDetails"),
        ("states", "CreateStateMachineAlias", "states:CreateStateMachineAlias"),
    ],
)
def test_unknown_operations_fall_back_to_their_iam_prefix_on_every_resource_marked_unmapped(
    service: str, operation: str, action: str
) -> None:
    # GIVEN an operation no table maps
    # THEN the check is <IAM prefix>:<Operation> on "*", marked so callers can list such operations
    assert checks(service, operation, {"Anything": "x"}) == [Check(action, "*", unmapped=True)]
    assert not is_mapped(service, operation)


def test_endpoint_names_map_to_their_iam_prefixes() -> None:
    expected = {
        "states": "states",
        "stepfunctions": "states",
        "monitoring": "cloudwatch",
        "sesv2": "ses",
        "dynamodbstreams": "dynamodb",
        "route53-recovery-cluster": "route53-recovery-cluster",
        "elasticache": "elasticache",
        "apigateway": "apigateway",
        "awslambda": "lambda",
    }
    assert {service: iam_prefix(service) for service in expected} == expected


def test_every_mapped_operation_yields_checks_even_from_an_empty_request() -> None:
    # GIVEN every operation of every table, called without any parameter
    for service, operations in mapped_operations().items():
        for operation in operations:
            found = checks(service, operation)
            # THEN none raises, and each check names an action and a resource
            assert all(":" in check.action and check.resource for check in found), (service, operation)
            assert is_mapped(service, operation)
