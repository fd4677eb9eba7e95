"""Shared fixtures for the handler tests: a moto-backed pipeline, events from tests/events, a fake context."""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
import pytest
from moto import mock_aws

# Set before any handler module is imported: Tracer and Metrics read these when they are created,
# and boto3 must never find real credentials or an endpoint from the developer's shell.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "regionflow"
os.environ["POWERTOOLS_DEV"] = "false"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "eu-west-1"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from handlers.transform import status_api, transform_worker, upload_api
from handlers.transform.contract import UploadSettings, WorkerSettings
from handlers.transform.rule_store import RuleStore
from handlers.transform.upload_status import UploadStatusTable
from samples import dynamodb_tables as tables
from scripts.put_rule import put_rules

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CreateBucketConfigurationTypeDef

REPO_ROOT = Path(__file__).resolve().parents[3]
EVENTS_DIR = REPO_ROOT / "tests" / "events"
RULES_DIR = REPO_ROOT / "rules"
REGION: Final = "eu-west-1"


# Any valid definition: handler tests check which executions start and with what, not what they do.
TRIVIAL_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def create_trivial_state_machine(region: str, name: str) -> str:
    """A state machine (and its Step Functions role) in moto; returns its ARN. Call inside mock_aws."""
    role_arn = boto3.client("iam", region_name=region).create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    return str(
        boto3.client("stepfunctions", region_name=region).create_state_machine(
            name=name, definition=TRIVIAL_DEFINITION, roleArn=role_arn
        )["stateMachineArn"]
    )


def change_txt_record(
    route53: Any, *, zone_id: str, name: str, action: str, value: str, ttl_seconds: int
) -> None:
    """Send one change of a TXT record (value as Route 53 stores it: quoted, or raw to test bad ones)."""
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "TXT",
                        "TTL": ttl_seconds,
                        "ResourceRecords": [{"Value": value}],
                    },
                }
            ]
        },
    )


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def upload_event(
    body: bytes,
    *,
    query: dict[str, str] | None = None,
    content_type: str | None = "application/xml",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """POST /upload as API Gateway v2 delivers it, built on tests/events/transform_upload_post.json."""
    event = copy.deepcopy(load_event("transform_upload_post.json"))
    query = {"rule": "orders-v1", "name": "orders.xml"} if query is None else query
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if content_type is None:
        event["headers"].pop("content-type", None)
    else:
        event["headers"]["content-type"] = content_type
    if base64_encoded:
        event["body"] = base64.b64encode(body).decode("ascii")
    else:
        event["body"] = body.decode("utf-8")
    event["isBase64Encoded"] = base64_encoded
    return event


def status_event(upload_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("transform_status_get.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/uploads/{upload_id}"
    event["pathParameters"] = {"id": upload_id}
    return event


def s3_notification(bucket: str, key: str) -> dict[str, Any]:
    template = load_event("transform_sqs_s3_object_created.json")["Records"][0]
    notification = json.loads(template["body"])
    s3 = notification["Records"][0]["s3"]
    s3["bucket"]["name"] = bucket
    s3["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    s3["object"]["key"] = key
    return notification


def sqs_record(body: dict[str, Any], *, message_id: str, receive_count: int = 1) -> dict[str, Any]:
    record = copy.deepcopy(load_event("transform_sqs_s3_object_created.json")["Records"][0])
    record["messageId"] = message_id
    record["body"] = json.dumps(body)
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return record


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass
class FakeLambdaContext:
    function_name: str = "regionflow-transform-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:regionflow-transform-test"
    aws_request_id: str = "5b2a1c3d-0000-4000-8000-000000000001"
    log_group_name: str = "/aws/lambda/regionflow-transform-test"
    log_stream_name: str = "2024/06/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Pipeline:
    """The transform pipeline's AWS side, in moto, plus the handlers' dependencies wired to it."""

    s3: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    input_bucket: str
    output_bucket: str
    status_table_name: str
    rules_table_name: str
    topic_arn: str
    notifications_queue_url: str
    statuses: UploadStatusTable
    rules: RuleStore
    upload_settings: UploadSettings
    worker_settings: WorkerSettings

    def upload_args(self) -> dict[str, Any]:
        return {
            "s3": self.s3,
            "statuses": self.statuses,
            "rules": self.rules,
            "settings": self.upload_settings,
        }

    def worker_args(self) -> dict[str, Any]:
        return {
            "s3": self.s3,
            "sns": self.sns,
            "statuses": self.statuses,
            "rules": self.rules,
            "settings": self.worker_settings,
        }

    def status_rows(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.Table(self.status_table_name).scan()["Items"])

    def keys(self, bucket: str) -> list[str]:
        return [item["Key"] for item in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def notifications(self) -> list[dict[str, Any]]:
        """SNS messages delivered to the test queue subscribed to the topic (SNS envelopes)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.notifications_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.notifications_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        location: CreateBucketConfigurationTypeDef = {"LocationConstraint": REGION}
        s3.create_bucket(Bucket="regionflow-transform-input", CreateBucketConfiguration=location)
        s3.create_bucket(Bucket="regionflow-transform-output", CreateBucketConfiguration=location)
        s3.put_bucket_versioning(
            Bucket="regionflow-transform-output", VersioningConfiguration={"Status": "Enabled"}
        )
        dynamodb.create_table(**tables.upload_status_table("regionflow-transform-status"))
        dynamodb.create_table(**tables.rules_table("regionflow-transform-rules"))
        topic_arn = sns.create_topic(Name="regionflow-transform-events")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="transform-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        put_rules(dynamodb.Table("regionflow-transform-rules"), sorted(RULES_DIR.glob("*.json")))
        yield Pipeline(
            s3=s3,
            sns=sns,
            sqs=sqs,
            dynamodb=dynamodb,
            input_bucket="regionflow-transform-input",
            output_bucket="regionflow-transform-output",
            status_table_name="regionflow-transform-status",
            rules_table_name="regionflow-transform-rules",
            topic_arn=topic_arn,
            notifications_queue_url=queue_url,
            statuses=UploadStatusTable(dynamodb.Table("regionflow-transform-status")),
            rules=RuleStore("regionflow-transform-rules", dynamodb_resource=dynamodb, cache_seconds=60),
            upload_settings=UploadSettings(
                input_bucket="regionflow-transform-input",
                status_table="regionflow-transform-status",
                rules_table="regionflow-transform-rules",
            ),
            worker_settings=WorkerSettings(
                output_bucket="regionflow-transform-output",
                status_table="regionflow-transform-status",
                rules_table="regionflow-transform-rules",
                topic_arn=topic_arn,
            ),
        )


@pytest.fixture
def handler_env(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """The Lambda environment the component sets, with the handlers' cached clients rebuilt under moto."""
    env = {
        "INPUT_BUCKET": pipeline.input_bucket,
        "OUTPUT_BUCKET": pipeline.output_bucket,
        "STATUS_TABLE": pipeline.status_table_name,
        "RULES_TABLE": pipeline.rules_table_name,
        "TOPIC_ARN": pipeline.topic_arn,
        "MAX_UPLOAD_BYTES": "10485760",
        "MAX_XML_DEPTH": "64",
        "RULE_CACHE_SECONDS": "60",
        "PRESIGNED_URL_TTL_SECONDS": "900",
        "MAX_RECEIVE_COUNT": "5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    modules = (upload_api, status_api, transform_worker)
    for module in modules:
        module.dependencies.cache_clear()
    yield pipeline
    for module in modules:
        module.dependencies.cache_clear()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
