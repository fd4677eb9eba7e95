"""Bucket policies in localcloud: TLS-only denies nothing over loopback; other denies still deny."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.s3 import notifications
from moto.s3.models import s3_backends

from localcloud.services.s3 import notification_permissions
from localcloud.services.s3 import patches as s3_patches
from localcloud.services.s3.patches import applicable_policy, condition_holds

TLS_ONLY: dict[str, Any] = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_tls_only_deny_does_not_apply_to_loopback_requests() -> None:
    assert not condition_holds(TLS_ONLY["Condition"])
    assert applicable_policy({"Version": "2012-10-17", "Statement": [TLS_ONLY]})["Statement"] == []


def test_a_deny_requiring_tls_applies_and_loses_only_its_resolved_condition() -> None:
    statement = {**TLS_ONLY, "Condition": {"Bool": {"aws:SecureTransport": ["true"]}}}
    [kept] = applicable_policy({"Statement": statement})["Statement"]
    assert kept == {key: value for key, value in statement.items() if key != "Condition"}


def test_conditions_on_unknown_keys_keep_the_statement_so_denies_err_towards_denying() -> None:
    statement = {**TLS_ONLY, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    assert len(applicable_policy({"Statement": [statement]})["Statement"]) == 1


def bucket_announcing_to_a_queue(s3: Any, sqs: Any, *, versioned: bool = False) -> str:
    """Bucket `events-bucket` sending its ObjectCreated events to a new queue; returns the queue's URL."""
    s3.create_bucket(Bucket="events-bucket")
    if versioned:
        s3.put_bucket_versioning(Bucket="events-bucket", VersioningConfiguration={"Status": "Enabled"})
    url: str = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="events-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return url


def test_event_notifications_carry_the_version_id_and_a_sequencer() -> None:
    s3_patches.apply()
    with mock_aws():
        # GIVEN a versioned bucket announcing new objects to a queue
        s3, sqs = boto3.client("s3", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        url = bucket_announcing_to_a_queue(s3, sqs, versioned=True)
        # WHEN an object is written
        version = s3.put_object(Bucket="events-bucket", Key="k", Body=b"x")["VersionId"]
        # THEN its event names that version, as S3's events do
        bodies = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        ]
        [record] = [r for body in bodies for r in body.get("Records", [])]
        assert record["s3"]["object"]["versionId"] == version
        assert record["s3"]["object"]["sequencer"]


def test_an_event_notification_goes_out_once_its_put_has_set_the_objects_metadata_and_tags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_patches.apply()
    notification_permissions.apply()
    with mock_aws():
        # GIVEN a bucket announcing new objects to a queue, and what the object is when its event is sent
        s3, sqs = boto3.client("s3", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        bucket_announcing_to_a_queue(s3, sqs)
        at_send: list[tuple[str | None, list[dict[str, str]]]] = []
        send = notifications._send_sqs_message

        def observed(account_id: str, event: Any, queue_name: str, region: str) -> None:
            backend = s3_backends[account_id]["aws"]
            written = backend.get_object("events-bucket", "k")
            assert written is not None
            at_send.append(
                (written.metadata.get("x-amz-meta-upload-id"), backend.get_object_tagging(written)["Tags"])
            )
            send(account_id, event, queue_name, region)

        monkeypatch.setattr(notifications, "_send_sqs_message", observed)
        # WHEN an object is written with metadata and tags
        s3.put_object(
            Bucket="events-bucket", Key="k", Body=b"x", Metadata={"upload-id": "u1"}, Tagging="team=ops"
        )
        # THEN its one event went out when both were set, as S3 announces a version once it is whole
        assert at_send == [("u1", [{"Key": "team", "Value": "ops"}])]


def test_listing_versions_copies_no_object_bytes_and_still_marks_the_latest() -> None:
    s3_patches.apply()
    with mock_aws():
        # GIVEN a versioned bucket holding 16 MB in two versions of eight objects
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="big-bucket")
        s3.put_bucket_versioning(Bucket="big-bucket", VersioningConfiguration={"Status": "Enabled"})
        megabyte = b"x" * 1_000_000
        newest = {}
        for number in range(8):
            s3.put_object(Bucket="big-bucket", Key=f"k{number}", Body=megabyte)
            newest[f"k{number}"] = s3.put_object(Bucket="big-bucket", Key=f"k{number}", Body=megabyte)[
                "VersionId"
            ]
        # WHEN the versions are listed (twice: the first listing must not have changed the stored keys)
        tracemalloc.start()
        s3.list_object_versions(Bucket="big-bucket")
        listed = s3.list_object_versions(Bucket="big-bucket")["Versions"]
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # THEN far less than the bucket's 16 MB was allocated
        assert peak < 4_000_000
        # AND each key's newest version, and only it, is the latest, with its bytes intact
        assert {v["Key"]: v["VersionId"] for v in listed if v["IsLatest"]} == newest
        assert sum(1 for v in listed if not v["IsLatest"]) == 8
        assert s3.get_object(Bucket="big-bucket", Key="k3")["Body"].read() == megabyte
