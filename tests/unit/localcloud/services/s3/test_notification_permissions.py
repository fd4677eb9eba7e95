"""S3 sends a bucket's events only where the destination's policy lets s3.amazonaws.com send them for that
bucket: checked when the configuration is put (as S3 validates it) and on every event."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

from localcloud.core.emulator import Emulator
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, create_queue, drain


def bucket(emulator: Emulator) -> str:
    name = f"events-{uuid.uuid4().hex[:10]}"
    emulator.client("s3", REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def queue_policy(queue_arn: str, source_bucket: str) -> str:
    """The policy S3 needs: s3.amazonaws.com may send to the queue for events of `source_bucket`."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{source_bucket}"},
                        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                    },
                }
            ],
        }
    )


def notify(emulator: Emulator, bucket_name: str, queue_arn: str) -> None:
    emulator.client("s3", REGION).put_bucket_notification_configuration(
        Bucket=bucket_name,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )


def object_keys(messages: list[dict[str, Any]]) -> list[str]:
    bodies = [json.loads(message["Body"]) for message in messages]
    return [record["s3"]["object"]["key"] for body in bodies for record in body.get("Records", [])]


def test_a_queue_whose_policy_lets_s3_send_for_the_bucket_receives_its_events(emulator: Emulator) -> None:
    # GIVEN a queue whose policy lets S3 send this bucket's events, and the bucket notifying it
    source = bucket(emulator)
    queue_url, queue_arn = create_queue(emulator, f"events-{uuid.uuid4().hex[:8]}")
    emulator.client("sqs", REGION).set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, source)}
    )
    notify(emulator, source, queue_arn)
    drain(emulator, queue_url, expected=1)  # S3's test event

    # WHEN an object is written THEN its event arrives
    emulator.client("s3", REGION).put_object(Bucket=source, Key="a.xml", Body=b"<a/>")
    assert object_keys(drain(emulator, queue_url, expected=1)) == ["a.xml"]


@pytest.mark.parametrize("policy_for", [None, "another-bucket"])
def test_a_configuration_naming_a_queue_that_does_not_let_s3_send_is_refused(
    emulator: Emulator, policy_for: str | None
) -> None:
    # GIVEN a queue with no policy, or one that lets S3 send for another bucket only
    source = bucket(emulator)
    queue_url, queue_arn = create_queue(emulator, f"events-{uuid.uuid4().hex[:8]}")
    if policy_for:
        emulator.client("sqs", REGION).set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, policy_for)}
        )

    # WHEN the bucket is configured to notify it THEN S3 refuses, naming the destination, and keeps none
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(InvalidArgument\)") as refused:
        notify(emulator, source, queue_arn)
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    assert queue_arn in refused.value.response["Error"]["Message"]
    configuration = emulator.client("s3", REGION).get_bucket_notification_configuration(Bucket=source)
    assert "QueueConfigurations" not in configuration


def test_events_stop_when_the_queue_policy_stops_allowing_s3_and_the_refusal_is_a_denial(
    emulator: Emulator,
) -> None:
    # GIVEN a working notification
    source = bucket(emulator)
    queue_url, queue_arn = create_queue(emulator, f"events-{uuid.uuid4().hex[:8]}")
    sqs = emulator.client("sqs", REGION)
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, source)})
    notify(emulator, source, queue_arn)
    drain(emulator, queue_url, expected=1)  # S3's test event

    # WHEN the queue's policy is replaced by one for another bucket, and an object is written
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, "another-bucket")}
    )
    denials_before = len(emulator.iam.denials)
    emulator.client("s3", REGION).put_object(Bucket=source, Key="input/b.xml", Body=b"<b/>")

    # THEN S3 does not deliver it, and the refusal is counted naming S3, the action and the queue
    denials = emulator.iam.denials[denials_before:]
    assert [(denial.principal, denial.action, denial.resource) for denial in denials] == [
        ("s3.amazonaws.com", "sqs:SendMessage", queue_arn)
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_function_destination_without_s3_permission_is_refused_at_configuration(
    emulator: Emulator, deploy: Any
) -> None:
    source = bucket(emulator)
    fn = deploy("def handler(event, context):\n    return 1\n")
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(InvalidArgument\)") as refused:
        emulator.client("s3", REGION).put_bucket_notification_configuration(
            Bucket=source,
            NotificationConfiguration={
                "LambdaFunctionConfigurations": [
                    {"LambdaFunctionArn": fn.arn, "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    assert fn.arn in refused.value.response["Error"]["Message"]
