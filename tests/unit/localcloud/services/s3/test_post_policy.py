"""Browser-based uploads: a presigned POST stores its file only within its policy and its signer's rights."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud.core.emulator import Emulator
from localcloud.core.http_client import HttpResponse, request
from localcloud.services.s3.post_policy import PostForm, PostPolicyRefused, verify
from tests.unit.localcloud.conftest import REGION, role_with

ACCESS_KEY_ID = "ASIAEXAMPLEPOSTKEY01"
SECRET = "post-policy-test-secret"
TOKEN = "session-token-of-the-test-key"
BUCKET = "uploads-bucket"
KEY = "incoming/0000.xml"
MAX_BYTES = 100


def presigned_post(
    client: Any, *, key: str = KEY, bucket: str = BUCKET, expires_seconds: int = 60
) -> dict[str, Any]:
    """What an upload API hands out: the key, the content type and a size range fixed by the policy."""
    post: dict[str, Any] = client.generate_presigned_post(
        bucket,
        key,
        Fields={"Content-Type": "application/xml"},
        Conditions=[["content-length-range", 1, MAX_BYTES], {"Content-Type": "application/xml"}],
        ExpiresIn=expires_seconds,
    )
    return post


def offline_client(region: str = REGION, secret: str = SECRET) -> Any:
    """boto3's own signer, with credentials no emulator holds: a form is built without any request."""
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        aws_session_token=TOKEN,
        config=Config(signature_version="s3v4"),
    )


def form_of(post: dict[str, Any], *, size: int = 10, changes: dict[str, str] | None = None) -> PostForm:
    fields = {**post["fields"], **(changes or {})}
    return PostForm(
        bucket=BUCKET,
        bucket_region=REGION,
        file_size=size,
        fields={name.lower(): value for name, value in fields.items()},
    )


def checked(form: PostForm, *, now: datetime | None = None) -> str:
    """The signer's key when the form passes, else the refusal's code."""
    try:
        accepted = verify(
            form,
            secret_lookup={ACCESS_KEY_ID: SECRET}.__getitem__,
            session_token_of={ACCESS_KEY_ID: TOKEN}.get,
            now=now,
        )
    except PostPolicyRefused as refused:
        return refused.code
    return accepted.access_key_id


# -- the checks, on forms boto3 signs --------------------------------------------------------------------


def test_a_form_within_its_policy_is_accepted_as_its_signer() -> None:
    assert checked(form_of(presigned_post(offline_client()))) == ACCESS_KEY_ID


@pytest.mark.parametrize(
    ("size", "code"), [(MAX_BYTES + 1, "EntityTooLarge"), (0, "EntityTooSmall"), (MAX_BYTES, ACCESS_KEY_ID)]
)
def test_the_file_size_must_lie_within_the_content_length_range(size: int, code: str) -> None:
    assert checked(form_of(presigned_post(offline_client()), size=size)) == code


def test_a_file_too_large_is_refused_with_s3s_error_and_sizes() -> None:
    # GIVEN a policy allowing at most 100 bytes WHEN 101 are posted
    with pytest.raises(PostPolicyRefused) as refused:
        verify(
            form_of(presigned_post(offline_client()), size=MAX_BYTES + 1),
            secret_lookup={ACCESS_KEY_ID: SECRET}.__getitem__,
            session_token_of={ACCESS_KEY_ID: TOKEN}.get,
        )
    # THEN S3's 400 EntityTooLarge names the size proposed and the size allowed
    status, _, body = refused.value.response()
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body
    assert b"<ProposedSize>101</ProposedSize><MaxSizeAllowed>100</MaxSizeAllowed>" in body


@pytest.mark.parametrize(
    "changes",
    [{"Content-Type": "text/html"}, {"key": "uploads/0000.xml"}, {"x-amz-meta-owner": "someone-else"}],
    ids=["content type changed", "key changed", "field the policy does not name"],
)
def test_a_field_the_policy_does_not_allow_is_refused(changes: dict[str, str]) -> None:
    assert checked(form_of(presigned_post(offline_client()), changes=changes)) == "AccessDenied"


def test_fields_named_x_ignore_need_no_condition() -> None:
    assert (
        checked(form_of(presigned_post(offline_client()), changes={"x-ignore-progress": "1"}))
        == ACCESS_KEY_ID
    )


def test_a_policy_signed_with_another_secret_does_not_match() -> None:
    assert checked(form_of(presigned_post(offline_client(secret="another")))) == "SignatureDoesNotMatch"


def test_a_policy_changed_after_signing_does_not_match() -> None:
    # GIVEN a signed form WHEN its policy is swapped for another (which names another key)
    other_policy = presigned_post(offline_client(), key="incoming/other.xml")["fields"]["policy"]
    # THEN the signature no longer matches
    assert (
        checked(form_of(presigned_post(offline_client()), changes={"policy": other_policy}))
        == "SignatureDoesNotMatch"
    )


def test_an_expired_policy_is_refused() -> None:
    form = form_of(presigned_post(offline_client(), expires_seconds=60))
    assert checked(form, now=datetime.now(UTC) + timedelta(seconds=61)) == "AccessDenied"


def test_a_credential_scoped_to_another_region_is_refused() -> None:
    form = form_of(presigned_post(offline_client(region="us-west-2")))
    assert checked(form) == "AuthorizationQueryParametersError"


def test_a_session_key_without_its_sessions_token_is_refused() -> None:
    assert checked(form_of(presigned_post(offline_client()), changes={"x-amz-security-token": "forged"})) == (
        "InvalidToken"
    )


def test_a_sigv2_form_is_refused() -> None:
    sigv2 = {"key": KEY, "AWSAccessKeyId": ACCESS_KEY_ID, "policy": "e30=", "signature": "c2ln"}
    assert (
        checked(PostForm(bucket=BUCKET, bucket_region=REGION, file_size=1, fields=sigv2)) == "InvalidRequest"
    )


# -- the emulator, end to end ----------------------------------------------------------------------------


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it: the fields, then the file."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(post: dict[str, Any], content: bytes) -> HttpResponse:
    body, content_type = multipart(post["fields"], content)
    return request("POST", post["url"], body=body, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def bucket(emulator: Emulator) -> str:
    name = f"post-{uuid.uuid4().hex[:12]}"
    emulator.client("s3", REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def signer(emulator: Emulator, bucket: str, prefix: str) -> Any:
    """An S3 client signing as a session of a role that may put objects under `prefix` only."""
    role_arn = role_with(
        emulator,
        [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"}],
    )
    credentials = emulator.client("sts", REGION).assume_role(RoleArn=role_arn, RoleSessionName="uploader")[
        "Credentials"
    ]
    return boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(signature_version="s3v4"),
    )


def stored(emulator: Emulator, bucket: str, key: str) -> dict[str, Any] | None:
    s3 = emulator.client("s3", REGION)
    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        return None
    return head


def test_a_presigned_post_within_its_policy_stores_the_file_as_its_signer(
    emulator: Emulator, bucket: str
) -> None:
    # GIVEN a POST policy signed by a role session that may put objects under incoming/
    form = presigned_post(signer(emulator, bucket, "incoming/"), bucket=bucket, key="incoming/ok.xml")
    denials_before = len(emulator.iam.denials)
    # WHEN a browser posts a file within it
    response = post(form, b"<a>fits</a>")
    # THEN S3's 204 answers, and the file is stored with the content type the policy fixed
    assert response.status == 204, response.body
    head = stored(emulator, bucket, "incoming/ok.xml")
    assert head is not None and head["ContentType"] == "application/xml" and head["ContentLength"] == 11
    assert len(emulator.iam.denials) == denials_before


def test_a_file_over_the_policys_size_is_refused_by_s3_and_not_stored(
    emulator: Emulator, bucket: str
) -> None:
    form = presigned_post(signer(emulator, bucket, "incoming/"), bucket=bucket, key="incoming/big.xml")
    response = post(form, b"<a>" + b"x" * MAX_BYTES + b"</a>")
    assert response.status == 400
    assert b"<Code>EntityTooLarge</Code>" in response.body
    assert stored(emulator, bucket, "incoming/big.xml") is None


def test_a_policy_its_signer_may_not_use_is_refused_naming_the_signer(
    emulator: Emulator, bucket: str
) -> None:
    # GIVEN a valid policy for a key outside what its signer's role may put
    form = presigned_post(signer(emulator, bucket, "incoming/"), bucket=bucket, key="quarantine/x.xml")
    # WHEN the file is posted THEN S3 refuses it as the role's session, and stores nothing
    response = post(form, b"<a/>")
    assert response.status == 403
    assert b"AccessDenied" in response.body and b"assumed-role/" in response.body
    assert b"s3:PutObject" in response.body
    assert stored(emulator, bucket, "quarantine/x.xml") is None


def test_a_form_without_a_policy_is_anonymous_and_refused(emulator: Emulator, bucket: str) -> None:
    body, content_type = multipart({"key": "incoming/anonymous.xml"}, b"<a/>")
    response = request(
        "POST", f"{emulator.endpoint_url}/{bucket}", body=body, headers={"Content-Type": content_type}
    )
    assert response.status == 403
    assert stored(emulator, bucket, "incoming/anonymous.xml") is None


def test_the_policy_names_the_bucket_it_may_be_posted_to(emulator: Emulator, bucket: str) -> None:
    # GIVEN a policy signed for another bucket WHEN it is posted to this one THEN S3 refuses it
    form = presigned_post(
        signer(emulator, bucket, "incoming/"), bucket="another-bucket", key="incoming/b.xml"
    )
    form["url"] = f"{emulator.endpoint_url}/{bucket}"
    response = post(form, b"<a/>")
    assert response.status == 403
    assert b"Policy Condition failed" in response.body and b"another-bucket" in response.body
    assert stored(emulator, bucket, "incoming/b.xml") is None
