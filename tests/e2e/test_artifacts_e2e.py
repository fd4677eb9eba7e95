"""ArtifactDistribution deployed by localcloud: a build request ends as copies and host deployments."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest

from demos.artifacts import (
    final_tracking_row,
    manifest_of,
    post_build,
    wait_for_hosts,
    wait_for_object,
    wait_until,
)
from localcloud.core.cloud import LocalCloud
from tests.e2e.conftest import E2E_CONFIG
from tests.e2e.faults import history, invocations, service_unreachable, task_errors, task_function

pytestmark = pytest.mark.e2e
HOSTS = int(E2E_CONFIG["regionflow:artifactHostsPerRegion"])


FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends unless told otherwise


def build(cloud: LocalCloud, commit: str, content_type: str = "application/json") -> tuple[str, bytes]:
    accepted = post_build(cloud, {"commit": commit}, content_type=content_type)
    assert accepted.status == 202, accepted.body
    build_id = accepted.json()["buildId"]
    # The answer names the key the build will have (the host log's build_id)
    key = accepted.json()["artifactKey"]
    assert key == f"build-{build_id}.zip"
    archive = wait_for_object(cloud, cloud.exports["artifactGlobalBucket"], key)
    return build_id, archive


def test_a_build_request_reaches_every_region_and_every_host(cloud: LocalCloud) -> None:
    # GIVEN the deployed system WHEN a build is requested
    build_id, archive = build(cloud, "abc1234")
    key = f"build-{build_id}.zip"
    # THEN the global bucket holds a real zip whose manifest names the commit and the artifact's sha256
    manifest = manifest_of(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        artifact = opened.read(manifest["artifact"])
    assert (manifest["commit"], manifest["buildId"]) == ("abc1234", build_id)
    assert manifest["sha256"] == hashlib.sha256(artifact).hexdigest()
    # AND every regional bucket holds the same bytes
    regions = cloud.exports["artifactRegionalBuckets"]
    for region, bucket in regions.items():
        assert wait_for_object(cloud, bucket, key, region) == archive
    # AND the tracking row says SUCCEEDED with the counts
    row = final_tracking_row(cloud, key)
    assert row["status"] == "SUCCEEDED"
    assert (int(row["totalBuckets"]), int(row["successfulCopies"]), int(row["failedCopies"])) == (
        len(regions),
        len(regions),
        0,
    )
    assert row["executionArn"].startswith("arn:aws:states:")
    # AND one deployment record per host per region
    assert wait_for_hosts(cloud, key, HOSTS * len(regions)) == HOSTS * len(regions)


def test_the_seeds_own_request_a_short_commit_sent_as_curl_d_sends_it_is_built(cloud: LocalCloud) -> None:
    # GIVEN the seed's `curl -X POST .../builds -d '{"commit": "abc123"}'`: a 6-digit commit, curl's
    # default form content type, a JSON body
    # WHEN it reaches POST /builds THEN it is accepted and built like any request
    build_id, archive = build(cloud, "abc123", content_type=FORM)
    assert manifest_of(archive)["commit"] == "abc123"
    assert build_id


@pytest.mark.parametrize("content_type", ["application/json", FORM])
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"branch": "main"}, "commit"),
        ({"commit": "not-hex!"}, "does not match"),
        ({"commit": "abc"}, "does not match"),
        (b"{not json", "Invalid JSON"),
    ],
)
def test_a_request_without_a_valid_commit_is_refused_and_nothing_is_queued(
    cloud: LocalCloud, body: object, problem: str, content_type: str
) -> None:
    # GIVEN a body that is not a build request, as JSON or as curl's default form type, and the build
    # queue drained of the earlier tests' requests
    cloud.wait_idle()
    response = post_build(cloud, body, content_type=content_type)
    assert response.status == 400
    assert problem in response.json()["message"]
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.exports["artifactBuildQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_a_duplicate_s3_event_starts_no_second_execution(cloud: LocalCloud) -> None:
    build_id, _ = build(cloud, "def5678")
    key = f"build-{build_id}.zip"
    final_tracking_row(cloud, key)
    machine = cloud.exports["artifactStateMachineArn"]
    sfn = cloud.client("stepfunctions")
    before = sfn.list_executions(stateMachineArn=machine)["executions"]
    # WHEN S3 delivers the same ObjectCreated event again
    head = cloud.client("s3").head_object(Bucket=cloud.exports["artifactGlobalBucket"], Key=key)
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "awsRegion": "us-east-1",
                "s3": {
                    "bucket": {
                        "name": cloud.exports["artifactGlobalBucket"],
                        "arn": f"arn:aws:s3:::{cloud.exports['artifactGlobalBucket']}",
                    },
                    "object": {"key": key, "versionId": head.get("VersionId"), "size": head["ContentLength"]},
                },
            }
        ]
    }
    worker = next(
        f
        for f in cloud.client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith("artifacts-replication-worker")
    )
    result = cloud.client("lambda").invoke(FunctionName=worker["FunctionName"], Payload=json.dumps(event))
    assert "FunctionError" not in result
    # THEN no execution was added
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == len(before)


def distribution_of(cloud: LocalCloud, key: str) -> str | None:
    """The ARN of the file-distribution execution of `key`, once it has started."""
    sfn = cloud.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=cloud.exports["artifactStateMachineArn"])[
        "executions"
    ]:
        started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        if started["sourceKey"] == key:
            return str(execution["executionArn"])
    return None


def copy_function(cloud: LocalCloud) -> str:
    return task_function(
        cloud, cloud.exports["artifactStateMachineArn"], "Copy to every regional bucket", "Copy to bucket"
    )


def test_a_rejected_destination_is_not_retried_and_is_reported_partial_with_a_message(
    cloud: LocalCloud,
) -> None:
    # GIVEN one regional bucket that refuses writes (its policy denies them: no attempt can succeed)
    regions = cloud.exports["artifactRegionalBuckets"]
    region, bucket = sorted(regions.items())[-1]
    s3 = cloud.client("s3", region)
    original_policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    try:
        # WHEN a build is distributed
        build_id, _ = build(cloud, "0badc0de")
        row = final_tracking_row(cloud, f"build-{build_id}.zip")
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=original_policy)
    # THEN the tracking row is PARTIAL with one failed copy
    assert row["status"] == "PARTIAL"
    assert (int(row["successfulCopies"]), int(row["failedCopies"])) == (len(regions) - 1, 1)
    # AND the refused bucket was tried exactly once: the rejection went to the Catch, not through the Retry
    events = history(cloud, row["executionArn"])
    copies = invocations(events, copy_function(cloud))
    assert sorted(copy["destination"]["bucket"] for copy in copies) == sorted(regions.values())
    assert task_errors(events) == ["CopyRejectedError"]
    # AND the failure topic got a message naming the bucket
    # (published after the row is written, so wait for it rather than read once)
    topic_arn = cloud.exports["artifactFailureTopicArn"]
    key = f"build-{build_id}.zip"
    wait_until(
        lambda: any(bucket in m["message"] and key in m["message"] for m in cloud.sns_messages(topic_arn)),
        f"a failure message naming {bucket}",
    )


def test_a_copy_that_fails_transiently_is_retried_and_every_region_gets_the_build(cloud: LocalCloud) -> None:
    # GIVEN a copy function that cannot reach S3 in any region
    regions = cloud.exports["artifactRegionalBuckets"]
    copy = copy_function(cloud)
    with service_unreachable(cloud, copy, "s3"):
        # WHEN a build is distributed and a copy fails once
        build_id, archive = build(cloud, "5eed1e55")
        key = f"build-{build_id}.zip"
        execution_arn: str = wait_until(lambda: distribution_of(cloud, key), f"the distribution of {key}")
        wait_until(lambda: task_errors(history(cloud, execution_arn)), f"a copy of {key} failing")
    # (the fault is lifted as soon as the first failure shows, while the Retry waits out its jittered
    # backoff of up to 2 s; a retry that comes sooner fails the same way and is retried again, up to 4
    # times, so the outcome does not hang on timing)
    row = final_tracking_row(cloud, key)
    # THEN every regional bucket gets the build and the distribution SUCCEEDED
    assert row["status"] == "SUCCEEDED"
    assert (int(row["successfulCopies"]), int(row["failedCopies"])) == (len(regions), 0)
    for region, bucket in regions.items():
        assert wait_for_object(cloud, bucket, key, region) == archive
    # AND the history shows copies failing on the network, each run again by the Retry until it passed
    events = history(cloud, execution_arn)
    errors = task_errors(events)
    assert errors and set(errors) == {"EndpointConnectionError"}
    assert len(invocations(events, copy)) == len(regions) + len(errors)


def test_a_body_of_another_content_type_is_refused_415_and_nothing_is_queued(cloud: LocalCloud) -> None:
    # GIVEN a build request sent as plain text, a type POST /builds does not take
    response = post_build(cloud, {"commit": "abc1234"}, content_type="text/plain")
    # THEN API Gateway refuses it (no template for the type), and the queue stays empty
    assert response.status == 415
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.exports["artifactBuildQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_the_seeds_own_workflow_input_naming_buckets_alone_distributes_the_build_again(
    cloud: LocalCloud,
) -> None:
    # GIVEN a build the system has distributed, and the seed's start-execution input: bucket names alone
    build_id, _ = build(cloud, "5eed000")
    key = f"build-{build_id}.zip"
    assert final_tracking_row(cloud, key)["status"] == "SUCCEEDED"
    regional = cloud.exports["artifactRegionalBuckets"]
    seed_input = {
        "sourceBucket": cloud.exports["artifactGlobalBucket"],
        "sourceKey": key,
        "destinationBuckets": list(regional.values()),
    }
    # WHEN an operator starts the workflow with it, as the seed does
    sfn = cloud.client("stepfunctions")
    execution_arn = sfn.start_execution(
        stateMachineArn=cloud.exports["artifactStateMachineArn"],
        name=f"seed-{build_id}",
        input=json.dumps(seed_input),
    )["executionArn"]

    # THEN it succeeds: each bucket's region looked up, every copy made, the tracking row its own
    def final() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return execution if execution["status"] != "RUNNING" else None

    finished = wait_until(final, "the seed's distribution")
    assert finished["status"] == "SUCCEEDED", finished
    row = final_tracking_row(cloud, key)
    assert (row["executionArn"], row["status"]) == (execution_arn, "SUCCEEDED")
    assert int(row["successfulCopies"]) == len(regional)


def seeds_host_scan_count(cloud: LocalCloud, build_id: str) -> int:
    """The seed's check: `scan --filter-expression "build_id = :build_id" --select COUNT`, every page."""
    pages = (
        cloud.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=cloud.exports["artifactHostLogTable"],
            FilterExpression="build_id = :build_id",
            ExpressionAttributeValues={":build_id": {"S": build_id}},
            Select="COUNT",
            ConsistentRead=True,
        )
    )
    return sum(int(page["Count"]) for page in pages)


def test_a_file_copied_into_the_global_bucket_is_distributed_and_counted_the_seeds_way(
    cloud: LocalCloud,
) -> None:
    # GIVEN the seed's step 5: `aws s3 cp test-file.zip s3://global-builds/`, a file no build wrote
    regional = cloud.exports["artifactRegionalBuckets"]
    body = b"PK\x05\x06" + bytes(18)
    global_bucket = cloud.exports["artifactGlobalBucket"]
    cloud.client("s3").put_object(Bucket=global_bucket, Key="test-file.zip", Body=body)
    # WHEN the bucket's event has run its course
    row = final_tracking_row(cloud, "test-file.zip")
    # THEN it was copied to every regional bucket and tracked as any build is
    assert (row["status"], int(row["successfulCopies"])) == ("SUCCEEDED", len(regional))
    for region, bucket in regional.items():
        assert wait_for_object(cloud, bucket, "test-file.zip", region) == body
    # AND every host logged it, which the seed's scan on build_id = "test-file.zip" counts
    assert wait_for_hosts(cloud, "test-file.zip", HOSTS * len(regional)) == HOSTS * len(regional)
    assert seeds_host_scan_count(cloud, "test-file.zip") == HOSTS * len(regional)


def test_the_seeds_host_log_scan_counts_a_requested_build_by_its_key(cloud: LocalCloud) -> None:
    # GIVEN a build requested through POST /builds and rolled out
    accepted = post_build(cloud, {"commit": "5ca9"})
    key = accepted.json()["artifactKey"]
    regional = cloud.exports["artifactRegionalBuckets"]
    wait_for_hosts(cloud, key, HOSTS * len(regional))
    # WHEN the seed's scan asks for build_id = "build-<id>.zip" (its "build-123.zip")
    # THEN it counts every host of every region, and nothing under the bare id
    assert seeds_host_scan_count(cloud, key) == HOSTS * len(regional)
    assert seeds_host_scan_count(cloud, accepted.json()["buildId"]) == 0
