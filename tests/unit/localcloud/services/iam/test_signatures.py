"""Presigned URLs are honoured only as signed: the signature is recomputed (SigV4 and SigV4A) with the
key's secret, so a changed URL, another secret or an expired link is refused, as S3 refuses them."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.config import Config

from localcloud.core.emulator import Emulator
from localcloud.services.iam.role_sessions import RoleSessions
from localcloud.services.iam.signatures import PresignedRequest, SignatureError, verify
from tests.unit.localcloud.conftest import REGION, role_with

ACCESS_KEY_ID = "ASIAEXAMPLEKEY000001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MRAP_ARN = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"


def presigned_url(signature_version: str, *, key: str = "output/a b+c~d.csv", expires: int = 600) -> str:
    """A presigned GET as botocore makes it: SigV4 on a bucket, SigV4A through a Multi-Region Access Point."""
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:4566" if signature_version == "s3v4" else None,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET,
        aws_session_token="session/token+=",
        config=Config(signature_version=signature_version),
    )
    bucket = "reports" if signature_version == "s3v4" else MRAP_ARN
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )
    return url


def as_received(url: str) -> PresignedRequest:
    parts = urlsplit(url)
    return PresignedRequest("GET", parts.path, parts.query, {"Host": parts.netloc})


def secret_of(access_key_id: str) -> str:
    return {ACCESS_KEY_ID: SECRET}[access_key_id]


@pytest.mark.parametrize("signature_version", ["s3v4", "s3v4a"])
def test_a_url_as_signed_verifies_and_names_its_key(signature_version: str) -> None:
    assert verify(as_received(presigned_url(signature_version)), secret_of) == ACCESS_KEY_ID


@pytest.mark.parametrize("signature_version", ["s3v4", "s3v4a"])
@pytest.mark.parametrize("change", ["path", "query", "host"])
def test_a_url_changed_after_signing_is_refused(signature_version: str, change: str) -> None:
    # GIVEN a valid presigned URL WHEN one part is changed (another object, a longer expiry, another host)
    request = as_received(presigned_url(signature_version))
    if change == "path":
        request = PresignedRequest(
            "GET", request.raw_path.replace("output", "secrets"), request.query_string, request.headers
        )
    elif change == "query":
        longer = request.query_string.replace("X-Amz-Expires=600", "X-Amz-Expires=6000")
        request = PresignedRequest("GET", request.raw_path, longer, request.headers)
    else:
        request = PresignedRequest(
            "GET", request.raw_path, request.query_string, {"Host": "evil.example.com"}
        )

    # THEN the recomputed signature does not match
    with pytest.raises(SignatureError, match="signature we calculated does not match") as refused:
        verify(request, secret_of)
    assert refused.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("signature_version", ["s3v4", "s3v4a"])
def test_another_secret_unknown_keys_and_expired_links_are_refused(signature_version: str) -> None:
    request = as_received(presigned_url(signature_version, expires=60))
    with pytest.raises(SignatureError) as other_secret:
        verify(request, lambda _key: "another-secret")
    with pytest.raises(SignatureError) as unknown:
        no_secrets: dict[str, str] = {}
        verify(request, no_secrets.__getitem__)
    with pytest.raises(SignatureError, match="expired") as expired:
        verify(request, secret_of, now=time.time() + 61)
    assert (other_secret.value.code, unknown.value.code, expired.value.code) == (
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "AccessDenied",
    )


def test_a_url_valid_for_more_than_seven_days_is_refused() -> None:
    request = as_received(presigned_url("s3v4", expires=7 * 24 * 3600 + 1))
    with pytest.raises(SignatureError, match="between 1 and 604800 seconds"):
        verify(request, secret_of)


def test_the_emulator_serves_a_role_presigned_link_only_as_signed(emulator: Emulator) -> None:
    # GIVEN an object, and a role allowed to read it that presigns a GET (as the email-link handler does)
    bucket = f"links-{uuid.uuid4().hex[:10]}"
    s3_admin = emulator.client("s3", REGION)
    s3_admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key in ("output/report.csv", "output/other.csv"):
        s3_admin.put_object(Bucket=bucket, Key=key, Body=b"id\n1\n")
    role_arn = role_with(
        emulator, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]
    )
    session = RoleSessions(emulator.client).credentials(role_arn, "lambda.amazonaws.com", "email-link")
    s3_role = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=session["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=session["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=session["AWS_SESSION_TOKEN"],
        config=Config(signature_version="s3v4"),
    )
    link = s3_role.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "output/report.csv"})

    # WHEN the link is followed THEN the object comes back
    assert requests.get(link, timeout=10).content == b"id\n1\n"

    # WHEN the link is edited to name another object THEN S3 refuses it: the signature no longer matches
    parts = urlsplit(link)
    edited = urlunsplit(parts._replace(path=parts.path.replace("report", "other")))
    refused = requests.get(edited, timeout=10)
    assert refused.status_code == 403
    assert "does not match" in refused.text
