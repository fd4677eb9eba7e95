"""Build worker: real zip in the global bucket, bad requests fail alone, redelivery writes nothing new."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from handlers.artifacts import build_worker
from handlers.artifacts.build_worker import InvalidBuildRequest, parse_build_request

from ..conftest import FakeLambdaContext
from .conftest import GLOBAL_BUCKET, ArtifactCloud, build_request_record

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

COMMIT = "3f9a2c17e4b8d05a6c1e2f3b4a5d6e7f8a9b0c1d"


def run(event: dict[str, Any], context: FakeLambdaContext) -> list[str]:
    response = build_worker.lambda_handler(event, context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def keys(cloud: ArtifactCloud) -> list[str]:
    return [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=GLOBAL_BUCKET).get("Contents", [])]


def test_a_build_request_uploads_a_real_zip_whose_manifest_matches_the_binary(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a POST /builds message with API Gateway's request id as the buildId attribute
    record = build_request_record(
        {"commit": COMMIT, "branch": "main", "requestedBy": "ci"},
        message_id="m-1",
        build_id="Jq3kqh8sIAMEVqg=",
    )
    # WHEN the worker processes it
    failures = run({"Records": [record]}, lambda_context)
    # THEN the batch succeeds and build-<sanitised id>.zip is in the global bucket, encrypted, with metadata
    assert failures == []
    stored = cloud.s3.get_object(Bucket=GLOBAL_BUCKET, Key="build-Jq3kqh8sIAMEVqg.zip")
    assert stored["ContentType"] == "application/zip"
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Metadata"] == {"commit": COMMIT, "build-id": "Jq3kqh8sIAMEVqg"}
    # AND it is a valid zip whose manifest describes app.bin exactly
    with zipfile.ZipFile(io.BytesIO(stored["Body"].read())) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["app.bin", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        binary = archive.read("app.bin")
    assert manifest["sha256"] == hashlib.sha256(binary).hexdigest()
    assert manifest["sizeBytes"] == len(binary) == 64 * 1024
    assert (manifest["commit"], manifest["buildId"], manifest["artifact"]) == (
        COMMIT,
        "Jq3kqh8sIAMEVqg",
        "app.bin",
    )
    assert datetime.fromisoformat(manifest["builtAt"]).tzinfo is not None
    # AND the binary is derived from the commit alone
    assert binary == build_worker.artifact_bytes(COMMIT) != build_worker.artifact_bytes("a" * 40)


def test_the_sqs_message_id_names_the_build_when_the_attribute_is_missing(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a message without a buildId attribute (sent to the queue directly)
    record = build_request_record({"commit": "abc1234"}, message_id="7d1f3a52-9c4e-4b6a-8f21-3e5d7c9a1b20")
    # WHEN the worker processes it
    assert run({"Records": [record]}, lambda_context) == []
    # THEN the build is named after the message id
    assert keys(cloud) == ["build-7d1f3a52-9c4e-4b6a-8f21-3e5d7c9a1b20.zip"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"branch": "main"}),
        json.dumps({"commit": "ABC1234"}),
        json.dumps({"commit": "abc"}),
        json.dumps({"commit": "g" * 7}),
        json.dumps({"commit": "a" * 65}),
        json.dumps({"commit": 1234567}),
    ],
)
def test_an_invalid_request_is_the_only_batch_item_failure_and_uploads_nothing(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext, body: str
) -> None:
    # GIVEN a batch with one invalid build request between two good ones
    event = {
        "Records": [
            build_request_record({"commit": "abc1234"}, message_id="good-1", build_id="good-1"),
            build_request_record(body, message_id="bad", build_id="bad"),
            build_request_record({"commit": "def5678"}, message_id="good-2", build_id="good-2"),
        ]
    }
    # WHEN the worker processes the batch
    failures = run(event, lambda_context)
    # THEN only the bad record fails (SQS redelivers it, then moves it to the DLQ) and it built nothing
    assert failures == ["bad"]
    assert sorted(keys(cloud)) == ["build-good-1.zip", "build-good-2.zip"]


def test_a_redelivered_message_creates_no_second_object_version(
    cloud: ArtifactCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a build request already processed once
    record = build_request_record({"commit": COMMIT}, message_id="m-1", build_id="b-42")
    assert run({"Records": [record]}, lambda_context) == []
    # WHEN SQS delivers the same message again
    assert run({"Records": [record]}, lambda_context) == []
    # THEN the versioned bucket still holds exactly one version (so one distribution starts)
    assert len(cloud.versions(GLOBAL_BUCKET, "build-b-42.zip")) == 1


class ExistenceCheckRacedS3:
    """S3 as seen by a delivery whose head_object ran before a concurrent delivery's upload landed."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def head_object(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    def put_object(self, **kwargs: Any) -> Any:
        return self.real.put_object(**kwargs)


def test_a_concurrent_duplicate_upload_is_refused_by_the_conditional_write(cloud: ArtifactCloud) -> None:
    # GIVEN a build uploaded by one delivery
    request = parse_build_request(json.dumps({"commit": COMMIT}), build_id_attribute="race", message_id="m")
    now = datetime.now(UTC)
    first = build_worker.publish_build(cloud.s3, GLOBAL_BUCKET, request, now=now)
    # WHEN a concurrent delivery, whose existence check saw nothing, uploads too
    # a test double: implements only the calls the code under test makes
    raced = cast("S3Client", ExistenceCheckRacedS3(cloud.s3))
    second = build_worker.publish_build(raced, GLOBAL_BUCKET, request, now=now)
    # THEN S3 refuses the second write (If-None-Match) and the bucket still holds one version
    assert (first.uploaded, second.uploaded) == (True, False)
    assert len(cloud.versions(GLOBAL_BUCKET, "build-race.zip")) == 1


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [("Jq3kqh8sIAMEVqg=", "Jq3kqh8sIAMEVqg"), ("../../etc/passwd", "etcpasswd"), ("x" * 100, "x" * 64)],
)
def test_build_ids_are_sanitised_to_safe_key_characters(attribute: str, expected: str) -> None:
    # GIVEN/WHEN a buildId attribute with unsafe or too many characters
    request = parse_build_request('{"commit": "abc1234"}', build_id_attribute=attribute, message_id="m")
    # THEN only [A-Za-z0-9-] survive, at most 64 of them
    assert request.build_id == expected


def test_an_invalid_request_error_names_the_rule() -> None:
    # GIVEN/WHEN a commit that is not hex
    with pytest.raises(InvalidBuildRequest, match="4 to 64 lowercase hex"):
        parse_build_request('{"commit": "main"}', build_id_attribute="b", message_id="m")
