"""S3 Multi-Region Access Points in the emulator: object reads through the global name, authorized as the
signer on the access point and its bucket, as on AWS."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.config import Config

from localcloud.core.emulator import Emulator
from localcloud.services.iam.role_sessions import RoleSessions
from localcloud.services.s3control.multi_region_access_points import MultiRegionAccessPoint, current
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, role_with

KEY = "output/report 1.csv"
BODY = b"id,total\n1,42\n"


@pytest.fixture
def access_point(emulator: Emulator) -> tuple[MultiRegionAccessPoint, str]:
    """An MRAP over a bucket in this region (first) and one in another, the object only in the first."""
    buckets = [f"mrap-{uuid.uuid4().hex[:10]}", f"mrap-{uuid.uuid4().hex[:10]}"]
    for bucket, region in zip(buckets, (REGION, "us-west-2"), strict=True):
        emulator.client("s3", region).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )
    emulator.client("s3", REGION).put_object(Bucket=buckets[0], Key=KEY, Body=BODY, ContentType="text/csv")
    return current().create(f"reports-{uuid.uuid4().hex[:8]}", ACCOUNT_ID, buckets), buckets[0]


def reader_credentials(emulator: Emulator, resources: list[str]) -> dict[str, str]:
    role_arn = role_with(emulator, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}])
    return RoleSessions(emulator.client).credentials(role_arn, "lambda.amazonaws.com", "email-link")


def presigned(point: MultiRegionAccessPoint, credentials: dict[str, str], expires: int = 300) -> str:
    """A SigV4A presigned GET, made as the email-link handler makes it (the global name, not the emulator)."""
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(signature_version="s3v4a"),
    )
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": point.arn, "Key": KEY}, ExpiresIn=expires
    )
    return url


def get(emulator: Emulator, url: str, method: str = "GET") -> requests.Response:
    """Send a request for the MRAP's global name to the emulator, as DNS would send it to AWS."""
    parsed = urlsplit(url)
    local = urlunsplit(("http", urlsplit(emulator.endpoint_url).netloc, parsed.path, parsed.query, ""))
    return requests.request(method, local, headers={"Host": str(parsed.hostname)}, timeout=10)


def test_an_access_point_has_a_global_name_and_an_arn_of_its_alias(access_point: Any) -> None:
    point, _ = access_point
    assert point.alias.endswith(".mrap")
    assert point.arn == f"arn:aws:s3::{ACCOUNT_ID}:accesspoint/{point.alias}"
    assert point.domain_name == f"{point.alias}.accesspoint.s3-global.amazonaws.com"


def test_a_presigned_get_by_a_role_allowed_on_the_access_point_and_bucket_reads_the_object(
    emulator: Emulator, access_point: Any
) -> None:
    # GIVEN a role allowed to read through the access point and from its bucket
    point, bucket = access_point
    credentials = reader_credentials(
        emulator, [f"{point.arn}/object/output/*", f"arn:aws:s3:::{bucket}/output/*"]
    )

    # WHEN it presigns a GET and someone follows the link
    answer = get(emulator, presigned(point, credentials))

    # THEN the object comes back with its headers, from the first bucket of the configuration
    assert answer.status_code == 200, answer.text
    assert answer.content == BODY
    assert answer.headers["Content-Type"] == "text/csv"
    assert answer.headers["Content-Length"] == str(len(BODY))
    assert answer.headers["ETag"].strip('"')


def test_a_role_allowed_on_the_bucket_but_not_the_access_point_is_denied(
    emulator: Emulator, access_point: Any
) -> None:
    point, bucket = access_point
    credentials = reader_credentials(emulator, [f"arn:aws:s3:::{bucket}/output/*"])
    denials_before = len(emulator.iam.denials)

    answer = get(emulator, presigned(point, credentials))

    assert answer.status_code == 403
    assert "<Code>AccessDenied</Code>" in answer.text
    assert f"{point.arn}/object/{KEY}" in answer.text and "assumed-role/" in answer.text
    assert len(emulator.iam.denials) == denials_before + 1


def test_a_role_allowed_on_the_access_point_but_not_the_bucket_is_denied(
    emulator: Emulator, access_point: Any
) -> None:
    point, bucket = access_point
    credentials = reader_credentials(emulator, [f"{point.arn}/object/output/*"])

    answer = get(emulator, presigned(point, credentials))

    assert answer.status_code == 403
    assert f"arn:aws:s3:::{bucket}/{KEY}" in answer.text


def test_an_expired_link_is_refused(emulator: Emulator, access_point: Any) -> None:
    point, bucket = access_point
    credentials = reader_credentials(emulator, [f"{point.arn}/object/*", f"arn:aws:s3:::{bucket}/*"])
    url = presigned(point, credentials, expires=1)
    # Rewrite the signing time an hour back: the link is as old as an expired one, with no waiting.
    parsed = urlsplit(url)
    query = "&".join(
        "X-Amz-Date=20200101T000000Z" if part.startswith("X-Amz-Date=") else part
        for part in parsed.query.split("&")
    )
    answer = get(emulator, urlunsplit(parsed._replace(query=query)))

    assert answer.status_code == 403
    assert "expired" in answer.text


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/output/report%201.csv", 403, "AccessDenied"),  # unsigned
        ("PUT", "/output/new.csv", 501, "NotImplemented"),
    ],
)
def test_unsigned_reads_and_writes_through_the_access_point_are_refused_by_name(
    emulator: Emulator, access_point: Any, method: str, path: str, status: int, code: str
) -> None:
    point, _ = access_point
    answer = get(emulator, f"https://{point.domain_name}{path}", method)
    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text


def test_an_unknown_access_point_and_a_missing_key_are_404(emulator: Emulator, access_point: Any) -> None:
    point, bucket = access_point
    credentials = reader_credentials(emulator, [f"{point.arn}/object/*", f"arn:aws:s3:::{bucket}/*"])
    unknown = presigned(point, credentials).replace(point.alias, "nosuchalias00.mrap")
    assert get(emulator, unknown).status_code == 404
    emulator.client("s3", REGION).delete_object(Bucket=bucket, Key=KEY)
    missing = get(emulator, presigned(point, credentials))
    assert (missing.status_code, "<Code>NoSuchKey</Code>" in missing.text) == (404, True)


def test_a_link_edited_after_signing_is_refused(emulator: Emulator, access_point: Any) -> None:
    # GIVEN a valid SigV4A link WHEN it is edited to name another object of the bucket
    point, bucket = access_point
    credentials = reader_credentials(emulator, [f"{point.arn}/object/*", f"arn:aws:s3:::{bucket}/*"])
    edited = presigned(point, credentials).replace("report%201", "report%202")

    # THEN the access point refuses it: the recomputed signature does not match
    answer = get(emulator, edited)
    assert answer.status_code == 403
    assert "SignatureDoesNotMatch" in answer.text
