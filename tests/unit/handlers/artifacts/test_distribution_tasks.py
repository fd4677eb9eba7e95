"""The workflow's task Lambdas: validate input, copy to one regional bucket (across regions)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, cast

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from handlers.artifacts import copy_to_bucket, validate_input
from handlers.artifacts.contract import COPY_TRANSIENT_ERRORS, DistributedKeys
from handlers.artifacts.copy_to_bucket import CopyRejectedError
from handlers.artifacts.validate_input import InvalidDistributionInput, validate_distribution
from localcloud.services.elasticache.redis_server import free_port
from tests.unit.workflows.asl import retrier_for
from workflows import file_distribution

from ..conftest import FakeLambdaContext
from .conftest import DESTINATIONS, GLOBAL_BUCKET, HOME_REGION, ArtifactCloud

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY = "build-Jq3kqh8sIAMEVqg.zip"
BODY = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: the tasks never look inside


def put_source(cloud: ArtifactCloud) -> str:
    return str(
        cloud.s3.put_object(
            Bucket=GLOBAL_BUCKET,
            Key=KEY,
            Body=BODY,
            ServerSideEncryption="AES256",
            Metadata={"commit": "abc1234", "build-id": "Jq3kqh8sIAMEVqg"},
        )["VersionId"]
    )


def distribution_input(version_id: str | None) -> dict[str, Any]:
    return {
        "sourceBucket": GLOBAL_BUCKET,
        "sourceKey": KEY,
        "versionId": version_id,
        "destinations": [dict(d) for d in DESTINATIONS],
    }


# ---- validate input ----


def test_a_valid_request_is_normalised_and_describes_the_source_object(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a build in the global bucket and the input the replication worker sends, plus workflow context
    version_id = put_source(cloud)
    event = {**distribution_input(version_id), "executionArn": "arn:aws:states:...:execution:x:y"}
    event["destinations"][0]["extra"] = "ignored"
    # WHEN the task validates it
    result = validate_input.lambda_handler(event, lambda_context)
    # THEN the input comes back normalised with the object's size, ETag and version
    head = cloud.s3.head_object(Bucket=GLOBAL_BUCKET, Key=KEY)
    assert result == {
        **distribution_input(version_id),
        "executionArn": "arn:aws:states:...:execution:x:y",
        "sizeBytes": len(BODY),
        "etag": head["ETag"].strip('"'),
    }


def test_the_seeds_input_naming_buckets_alone_gets_each_buckets_region_from_s3(cloud: ArtifactCloud) -> None:
    # GIVEN the seed's own start-execution input: source and destination bucket names, no regions
    put_source(cloud)
    seed_input = {
        "sourceBucket": GLOBAL_BUCKET,
        "sourceKey": KEY,
        "destinationBuckets": [destination["bucket"] for destination in DESTINATIONS],
    }
    # WHEN the task validates it
    result = validate_distribution(seed_input, s3=cloud.s3)
    # THEN it becomes our input: each bucket with the region S3 answers (us-east-1 answers no constraint)
    assert result["destinations"] == [dict(destination) for destination in DESTINATIONS]
    assert "destinationBuckets" not in result


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"destinationBuckets": []}, "destinationBuckets must be a non-empty list of bucket names"),
        ({"destinationBuckets": ["Not_A_Bucket"]}, "destinationBuckets[0] 'Not_A_Bucket' must be 3-63"),
        (
            {"destinationBuckets": ["regionflow-nowhere"]},
            "destination bucket 'regionflow-nowhere' does not exist",
        ),
        (
            {"destinationBuckets": [DESTINATIONS[0]["bucket"]], "destinations": list(DESTINATIONS)},
            "give destinations or destinationBuckets, not both",
        ),
    ],
)
def test_a_seed_input_that_names_no_usable_buckets_is_invalid_input(
    cloud: ArtifactCloud, change: dict[str, Any], problem: str
) -> None:
    put_source(cloud)
    seed_input = {"sourceBucket": GLOBAL_BUCKET, "sourceKey": KEY, **change}
    with pytest.raises(InvalidDistributionInput, match=re.escape(problem)):
        validate_distribution(seed_input, s3=cloud.s3)


def test_a_missing_version_id_is_filled_in_from_the_current_version(cloud: ArtifactCloud) -> None:
    # GIVEN an input without a versionId
    version_id = put_source(cloud)
    # WHEN it is validated
    result = validate_distribution(distribution_input(None), s3=cloud.s3)
    # THEN the copy will use the version that exists now
    assert result["versionId"] == version_id


def broken(change: dict[str, Any], *, remove: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(distribution_input("will-be-replaced"))
    payload.update(change)
    if remove:
        payload.pop(remove)
    return payload


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (broken({}, remove="sourceBucket"), "sourceBucket is missing"),
        (broken({"sourceKey": ""}), "sourceKey is missing"),
        (broken({"sourceKey": "k" * 1025}), "sourceKey is longer than S3's 1024 bytes"),
        (broken({}, remove="destinations"), "destinations must be a non-empty list"),
        (broken({"destinations": []}), "destinations must be a non-empty list"),
        (broken({"destinations": ["regionflow-a"]}), r"destinations\[0\] must be"),
        (broken({"destinations": [{"region": "us-east-1"}]}), r"destinations\[0\].bucket None is missing"),
        (broken({"destinations": [{"bucket": "Bad_Bucket", "region": "us-east-1"}]}), "lowercase letters"),
        (broken({"destinations": [{"bucket": "a..b", "region": "us-east-1"}]}), "must not contain '..'"),
        (broken({"destinations": [{"bucket": "192.168.0.1", "region": "us-east-1"}]}), "IP address"),
        (broken({"destinations": [{"bucket": "xn--bucket", "region": "us-east-1"}]}), "reserves"),
        (broken({"destinations": [{"bucket": "regionflow-a", "region": "mars-1"}]}), "not an AWS region"),
        (broken({"destinations": [{"bucket": "regionflow-a"}]}), "not an AWS region"),
        (
            broken({"destinations": [{"bucket": "regionflow-a", "region": "us-east-1"}] * 2}),
            "'regionflow-a' is listed more than once",
        ),
        (
            broken({"destinations": [{"bucket": GLOBAL_BUCKET, "region": "eu-west-1"}]}),
            "is the source bucket",
        ),
        (broken({"versionId": ""}), "versionId must be a non-empty string"),
    ],
)
def test_each_malformed_input_raises_invalid_distribution_input_naming_the_problem(
    cloud: ArtifactCloud, payload: dict[str, Any], problem: str
) -> None:
    # GIVEN an existing build and an input with one problem
    version_id = put_source(cloud)
    if payload.get("versionId") == "will-be-replaced":
        payload["versionId"] = version_id
    # WHEN/THEN validation fails with the error type the workflow catches and a message naming it
    with pytest.raises(InvalidDistributionInput, match=problem):
        validate_distribution(payload, s3=cloud.s3)


def test_a_file_a_person_copied_in_is_distributed_like_a_build(cloud: ArtifactCloud) -> None:
    # GIVEN the seed's test-file.zip dropped into the global bucket (every key is distributed by default)
    version_id = cloud.s3.put_object(Bucket=GLOBAL_BUCKET, Key="test-file.zip", Body=BODY)["VersionId"]
    # WHEN its distribution input is validated
    result = validate_distribution({**distribution_input(None), "sourceKey": "test-file.zip"}, s3=cloud.s3)
    # THEN it goes ahead with the version just written
    assert (result["sourceKey"], result["versionId"]) == ("test-file.zip", version_id)


@pytest.mark.parametrize(
    ("key", "admitted"),
    [("releases/app.zip", True), ("releases/app.tar", False), ("app.zip", False), ("releases/.zip", True)],
)
def test_a_key_outside_the_configured_filter_is_refused_naming_the_filter(
    cloud: ArtifactCloud, key: str, admitted: bool
) -> None:
    # GIVEN a system that distributes releases/*.zip only, and an object under `key`
    keys = DistributedKeys(key_prefix="releases/", key_suffix=".zip")
    cloud.s3.put_object(Bucket=GLOBAL_BUCKET, Key=key, Body=BODY)
    payload = {**distribution_input(None), "sourceKey": key}
    # WHEN/THEN it is validated when the filter admits it, refused with the filter named when not
    if admitted:
        assert validate_distribution(payload, s3=cloud.s3, keys=keys)["sourceKey"] == key
    else:
        with pytest.raises(InvalidDistributionInput, match=r"it distributes keys like 'releases/\*\.zip'"):
            validate_distribution(payload, s3=cloud.s3, keys=keys)


def test_a_missing_source_object_is_invalid_input(cloud: ArtifactCloud) -> None:
    # GIVEN no such build in the bucket
    # WHEN/THEN validation says the object does not exist
    with pytest.raises(InvalidDistributionInput, match=f"s3://{GLOBAL_BUCKET}/{KEY} does not exist"):
        validate_distribution(distribution_input(None), s3=cloud.s3)


def test_a_missing_source_version_is_invalid_input(cloud: ArtifactCloud) -> None:
    # GIVEN the build exists but not in the version the event named
    put_source(cloud)
    # WHEN/THEN validation refuses it, naming the version
    with pytest.raises(InvalidDistributionInput, match="version"):
        validate_distribution(distribution_input("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"), s3=cloud.s3)


def test_a_missing_source_bucket_is_invalid_input(cloud: ArtifactCloud) -> None:
    payload = {**distribution_input(None), "sourceBucket": "regionflow-no-such-bucket"}
    with pytest.raises(InvalidDistributionInput, match="does not exist"):
        validate_distribution(payload, s3=cloud.s3)


# ---- copy to bucket ----


def copy_state() -> dict[str, Any]:
    """The file-distribution workflow's "Copy to bucket" task, which runs this handler."""
    definition = file_distribution.build_definition(
        validate_arn="<validate>",
        copy_arn="<copy>",
        process_results_arn="<results>",
        tracking_table="<table>",
        failure_topic_arn="<topic>",
    )
    state: dict[str, Any] = definition["States"]["Copy to every regional bucket"]["ItemProcessor"]["States"][
        "Copy to bucket"
    ]
    return state


def copy_input(version_id: str, destination: dict[str, str]) -> dict[str, Any]:
    return {
        "sourceBucket": GLOBAL_BUCKET,
        "sourceKey": KEY,
        "versionId": version_id,
        "destination": destination,
    }


@pytest.mark.parametrize("destination", DESTINATIONS, ids=lambda destination: destination["region"])
def test_a_build_is_copied_across_regions_encrypted_with_its_metadata(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext, destination: dict[str, str]
) -> None:
    # GIVEN a build in the eu-west-1 global bucket and a regional bucket in another region
    version_id = put_source(cloud)
    # WHEN the copy task runs for that destination
    result = copy_to_bucket.lambda_handler(copy_input(version_id, dict(destination)), lambda_context)
    # THEN the object is in the regional bucket, SSE-S3 encrypted, with the build's metadata
    regional = boto3.client("s3", region_name=destination["region"])
    stored = regional.get_object(Bucket=destination["bucket"], Key=KEY)
    assert stored["Body"].read() == BODY
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Metadata"] == {"commit": "abc1234", "build-id": "Jq3kqh8sIAMEVqg"}
    # AND the task reports the copy
    assert result["bucket"] == destination["bucket"] and result["region"] == destination["region"]
    assert result["status"] == "SUCCEEDED" and result["etag"] and result["copiedAt"].endswith("Z")


def test_the_copy_uses_a_client_in_the_destination_region_and_the_source_version(
    cloud: ArtifactCloud,
) -> None:
    # GIVEN a build with two versions, and a recorder of the clients asked for
    version_id = put_source(cloud)
    cloud.s3.put_object(Bucket=GLOBAL_BUCKET, Key=KEY, Body=b"a newer version")
    regions: list[str] = []

    def client_for_region(region: str) -> Any:
        regions.append(region)
        return boto3.client("s3", region_name=region)

    # WHEN the older version is copied to us-west-2
    copy_to_bucket.copy_to_bucket(
        copy_input(version_id, dict(DESTINATIONS[1])), client_for_region=client_for_region
    )
    # THEN the request went to us-west-2 and copied exactly the version named
    assert regions == ["us-west-2"]
    stored = boto3.client("s3", region_name="us-west-2").get_object(Bucket=DESTINATIONS[1]["bucket"], Key=KEY)
    assert stored["Body"].read() == BODY


def test_copying_to_a_missing_bucket_raises_a_permanent_error_naming_it(cloud: ArtifactCloud) -> None:
    # GIVEN a destination bucket that does not exist
    version_id = put_source(cloud)
    destination = {"bucket": "regionflow-artifacts-gone", "region": "us-west-2"}
    # WHEN/THEN the task raises (the workflow's Catch records the bucket as FAILED)
    with pytest.raises(
        CopyRejectedError, match=r"s3://regionflow-artifacts-gone \(us-west-2\).*NoSuchBucket"
    ) as raised:
        copy_to_bucket.copy_to_bucket(copy_input(version_id, destination))
    # AND the workflow does not retry it: no attempt can succeed
    assert retrier_for(copy_state(), type(raised.value).__name__) is None


def test_transient_copy_errors_raise_unchanged_for_the_workflow_to_retry(cloud: ArtifactCloud) -> None:
    # GIVEN S3 answering SlowDown
    class SlowS3:
        def copy_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce"}}, "CopyObject")

    slow_s3 = cast("S3Client", SlowS3())  # a test double: implements only copy_object
    # WHEN/THEN the ClientError propagates as it is
    with pytest.raises(ClientError, match="SlowDown") as raised:
        copy_to_bucket.copy_to_bucket(
            copy_input("v", dict(DESTINATIONS[0])), client_for_region=lambda _: slow_s3
        )
    # AND the workflow retries it under that name
    assert retrier_for(copy_state(), type(raised.value).__name__) is not None


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("InvalidObjectState", 403),
        ("ObjectNotInActiveTierError", 403),
        # an answer without a body: botocore has only the status for its code
        ("403", 403),
        ("404", 404),
    ],
)
def test_a_refusal_no_retry_can_change_is_raised_as_a_rejected_copy(code: str, status: int) -> None:
    # GIVEN S3 refusing the copy for good: a policy denies it, or the source is archived (needs a restore)
    # (botocore's TypedDict wants every metadata key a real response carries; only the status matters here)
    response: Any = {
        "Error": {"Code": code, "Message": "refused"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }

    class RefusingS3:
        def copy_object(self, **_: Any) -> Any:
            raise ClientError(response, "CopyObject")

    refusing_s3 = cast("S3Client", RefusingS3())  # a test double: implements only copy_object
    # WHEN the copy runs
    with pytest.raises(CopyRejectedError, match=code) as raised:
        copy_to_bucket.copy_to_bucket(
            copy_input("v", dict(DESTINATIONS[0])), client_for_region=lambda _: refusing_s3
        )
    # THEN the workflow records the bucket as failed without retrying
    assert retrier_for(copy_state(), type(raised.value).__name__) is None


def test_an_unreachable_destination_region_raises_an_error_the_workflow_retries() -> None:
    # GIVEN the destination region's S3 at an address where nothing listens (one attempt: no SDK retries)
    unreachable = boto3.client(
        "s3",
        region_name=DESTINATIONS[0]["region"],
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"total_max_attempts": 1}),
    )
    # WHEN the copy runs
    with pytest.raises(EndpointConnectionError) as raised:
        copy_to_bucket.copy_to_bucket(
            copy_input("v", dict(DESTINATIONS[0])), client_for_region=lambda _: unreachable
        )
    # THEN it fails under botocore's network error, which "Copy to bucket" retries
    assert retrier_for(copy_state(), type(raised.value).__name__) is not None


def test_every_retried_copy_error_is_lambdas_own_or_the_class_name_of_a_botocore_error() -> None:
    # GIVEN the names the workflow retries a copy on (Lambda reports an exception by its class name)
    # WHEN those not reported by Lambda itself are looked up in botocore
    unknown = [
        name
        for name in COPY_TRANSIENT_ERRORS
        if not name.startswith(("Sandbox.", "Lambda.")) and getattr(botocore.exceptions, name, None) is None
    ]
    # THEN each is an exception botocore raises: a misspelt name would never be retried
    assert unknown == []


def test_copy_input_without_a_destination_is_refused() -> None:
    with pytest.raises(copy_to_bucket.InvalidCopyInputError, match="destination") as raised:
        copy_to_bucket.copy_to_bucket({"sourceBucket": GLOBAL_BUCKET, "sourceKey": KEY})
    assert retrier_for(copy_state(), type(raised.value).__name__) is None


def signing_region(authorization: str | bytes) -> str:
    """The region of a SigV4 Authorization header's credential scope (<key>/<date>/<region>/s3/...)."""
    text = authorization.decode() if isinstance(authorization, bytes) else authorization
    scope = re.search(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/s3/aws4_request", text)
    assert scope is not None, text
    return scope.group(1)


@pytest.mark.parametrize("destination", DESTINATIONS, ids=lambda destination: destination["region"])
def test_the_task_sends_its_copy_to_the_destination_region_not_the_source_buckets(
    cloud: ArtifactCloud, destination: dict[str, str]
) -> None:
    # GIVEN a build in the home region's global bucket, and every CopyObject request of the S3 clients
    # built from now on recorded as it leaves (the task's cached clients are dropped, so it builds its own)
    version_id = put_source(cloud)
    source_region = cloud.s3.get_bucket_location(Bucket=GLOBAL_BUCKET)["LocationConstraint"]
    sent: list[tuple[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append((signing_region(request.headers["Authorization"]), request.url))

    session = boto3._get_default_session()
    session.events.register("before-send.s3.CopyObject", record)
    copy_to_bucket.s3_client.cache_clear()
    try:
        # WHEN the task copies the build with its own clients (no client factory passed)
        copy_to_bucket.copy_to_bucket(copy_input(version_id, dict(destination)))
    finally:
        session.events.unregister("before-send.s3.CopyObject", record)
        copy_to_bucket.s3_client.cache_clear()
    # THEN exactly one CopyObject left, signed for the destination's region and addressed to the destination
    # bucket: S3 pulls the source across regions, which a request in the source's region would not do
    [(region, url)] = sent
    assert (source_region, region) == (HOME_REGION, destination["region"])
    assert url.startswith(f"https://{destination['bucket']}.s3.") and url.endswith(f"/{KEY}")
