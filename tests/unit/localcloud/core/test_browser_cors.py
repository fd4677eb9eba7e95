"""Browsers are answered as AWS answers them: S3 by the bucket's CORS rules, the service APIs (Cognito's
sign-in among them) from any origin; preflights and Cognito's token-authorized operations need no
signature, everything else still does."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config

from localcloud.core.emulator import Emulator
from tests.unit.localcloud.conftest import REGION

PAGE_ORIGIN = "http://127.0.0.1:8080"
OTHER_ORIGIN = "https://elsewhere.example"
PASSWORD = "Aa1!correct-horse-battery"


def preflight(url: str, origin: str, headers: str | None = None) -> requests.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return requests.options(url, headers=request_headers, timeout=10)


@pytest.fixture(scope="module")
def buckets(emulator: Emulator) -> dict[str, str]:
    """A bucket whose CORS rules allow POST from PAGE_ORIGIN, and one without rules."""
    s3 = emulator.client("s3", REGION)
    location = {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
    s3.create_bucket(Bucket="with-page-cors", **location)
    s3.put_bucket_cors(
        Bucket="with-page-cors",
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["POST"], "AllowedOrigins": [PAGE_ORIGIN]}]},
    )
    s3.create_bucket(Bucket="without-cors", **location)
    return {
        "allowed": f"{emulator.endpoint_url}/with-page-cors",
        "none": f"{emulator.endpoint_url}/without-cors",
    }


def test_a_bucket_answers_a_preflight_from_an_origin_its_rules_allow(buckets: dict[str, str]) -> None:
    answer = preflight(buckets["allowed"], PAGE_ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN


@pytest.mark.parametrize(("bucket", "origin"), [("allowed", OTHER_ORIGIN), ("none", PAGE_ORIGIN)])
def test_a_bucket_refuses_a_browser_its_rules_do_not_name(
    buckets: dict[str, str], bucket: str, origin: str
) -> None:
    # GIVEN an origin the bucket's rules do not allow, or a bucket with no rules at all
    # WHEN a browser asks before posting THEN no allowance comes back (moto alone allows every origin)
    answer = preflight(buckets[bucket], origin)
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.fixture(scope="module")
def user_pool_client(emulator: Emulator) -> dict[str, str]:
    cognito = emulator.client("cognito-idp", REGION)
    pool_id = cognito.create_user_pool(PoolName="people")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="page", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ana", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="ana", Password=PASSWORD, Permanent=True)
    return {"pool_id": pool_id, "client_id": client_id}


def unsigned_cognito(emulator: Emulator) -> Any:
    """Cognito as a browser calls it: no AWS credentials at all."""
    return boto3.client(
        "cognito-idp",
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        config=Config(signature_version=UNSIGNED),
    )


def test_a_browser_may_ask_the_service_endpoint_for_a_sign_in_call(emulator: Emulator) -> None:
    answer = preflight(f"{emulator.endpoint_url}/", PAGE_ORIGIN, headers="content-type,x-amz-target")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type,x-amz-target"


def test_people_sign_in_without_aws_credentials_as_cognito_allows(
    emulator: Emulator, user_pool_client: dict[str, str]
) -> None:
    # WHEN a person signs in with their password, unsigned, as the upload page does
    result = unsigned_cognito(emulator).initiate_auth(
        ClientId=user_pool_client["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": PASSWORD},
    )
    # THEN Cognito checks the password, not IAM, and hands out tokens
    assert result["AuthenticationResult"]["IdToken"]


def test_a_wrong_password_is_refused_without_aws_credentials_too(
    emulator: Emulator, user_pool_client: dict[str, str]
) -> None:
    cognito = unsigned_cognito(emulator)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            ClientId=user_pool_client["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ana", "PASSWORD": "Aa1!not-the-password"},
        )


def test_cognitos_administrative_operations_still_need_a_signature(
    emulator: Emulator, user_pool_client: dict[str, str]
) -> None:
    cognito = unsigned_cognito(emulator)
    with pytest.raises(cognito.exceptions.ClientError, match="not signed") as refused:
        cognito.admin_get_user(UserPoolId=user_pool_client["pool_id"], Username="ana")
    assert "not signed" in str(refused.value)
