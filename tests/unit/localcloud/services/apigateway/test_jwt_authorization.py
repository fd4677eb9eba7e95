"""An HTTP API route with a JWT authorizer answers only requests bearing a token its issuer signed, for one
of its audiences, within its validity, as API Gateway does; the claims reach the function.

The issuer is a Cognito user pool in the emulator: moto signs its tokens and serves its JWKS. Tokens with
one thing wrong are signed with that pool's own key (moto's), so only the claim under test is at fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource

from localcloud.core.emulator import Emulator
from localcloud.core.http_client import request
from localcloud.services.apigateway.definitions import HttpApiEndpoint
from localcloud.services.apigateway.gateway import HttpGateway
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION
from tests.unit.localcloud.services.apigateway.recording_lambda import RecordingLambda

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:upload"
PASSWORD = "Correct-Horse-9-Battery"


@dataclass
class People:
    gateway: HttpGateway
    api_id: str
    pool_id: str
    client_id: str
    tokens: dict[str, str]  # IdToken, AccessToken of a signed-in user
    functions: RecordingLambda

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def get(self, path: str, token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response = request("GET", f"{self.gateway.base_url}/apis/{self.api_id}{path}", headers=headers)
        return response.status, response.json(), {k.lower(): v for k, v in response.headers.items()}


@pytest.fixture(scope="module")
def people(emulator: Emulator) -> Iterator[People]:
    """GET /uploads/{id} behind a JWT authorizer for a user pool's app client; GET /scoped needs a scope."""
    cognito = emulator.client("cognito-idp", REGION)
    pool_id = cognito.create_user_pool(PoolName="people")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="page", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ana", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="ana", Password=PASSWORD, Permanent=True)
    tokens = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    apigatewayv2 = emulator.client("apigatewayv2", REGION)
    api_id = apigatewayv2.create_api(Name="people", ProtocolType="HTTP")["ApiId"]
    integration = apigatewayv2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FUNCTION_ARN, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    authorizer = apigatewayv2.create_authorizer(
        ApiId=api_id,
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        Name="pool",
        JwtConfiguration={
            "Audience": [client_id],
            "Issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        },
    )["AuthorizerId"]
    for route_key, scopes in (("GET /uploads/{id}", []), ("GET /scoped", ["uploads/write"])):
        apigatewayv2.create_route(
            ApiId=api_id,
            RouteKey=route_key,
            Target=f"integrations/{integration}",
            AuthorizationType="JWT",
            AuthorizerId=authorizer,
            AuthorizationScopes=scopes,
        )
    apigatewayv2.create_stage(ApiId=api_id, StageName="$default")
    functions = RecordingLambda({"statusCode": 200, "body": "{}"})
    with HttpGateway(invoke=functions, may_invoke=lambda *_: True, client_factory=emulator.client) as gateway:
        gateway.apis.http_apis[api_id] = HttpApiEndpoint(
            api_id=api_id, name="people", region=REGION, account_id=ACCOUNT_ID, endpoint=""
        )
        yield People(gateway, api_id, pool_id, client_id, dict(tokens), functions)


def pool_signed(claims: dict[str, Any]) -> str:
    """A token signed with the key moto signs every user pool's tokens with."""
    key = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)


def claims_for(people: People, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "user-1",
        "iss": people.issuer,
        "aud": people.client_id,
        "token_use": "id",
        "iat": now - 60,
        "exp": now + 3600,
        **overrides,
    }


def test_a_signed_in_users_id_token_reaches_the_function_with_its_claims(people: People) -> None:
    # GIVEN a user signed in to the pool WHEN they send their ID token
    status, _, _ = people.get("/uploads/42", people.tokens["IdToken"])
    # THEN the function runs, and the event carries the token's claims as API Gateway passes them
    assert status == 200
    claims = people.functions.events[-1]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["iss"] == people.issuer
    assert claims["aud"] == people.client_id
    assert claims["cognito:username"] == "ana"


def test_an_access_token_is_accepted_by_its_client_id(people: People) -> None:
    assert people.get("/uploads/42", people.tokens["AccessToken"])[0] == 200


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        # exp and nbf are seconds from now, made absolute when the test runs (not at collection).
        ({"exp": -10}, "the token has expired"),
        ({"nbf": 600}, "the token is not valid yet"),
        ({"aud": "another-client"}, "the token's audience is not one the authorizer accepts"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}, "issuer"),
    ],
    ids=["expired", "not-yet-valid", "other-audience", "other-issuer"],
)
def test_a_token_wrong_in_one_claim_is_401_naming_why_and_reaches_nothing(
    people: People, overrides: dict[str, Any], description: str
) -> None:
    before = len(people.functions.events)
    now = int(time.time())
    claims = {name: now + value if name in ("exp", "nbf") else value for name, value in overrides.items()}
    status, body, headers = people.get("/uploads/42", pool_signed(claims_for(people, **claims)))
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert description in headers["www-authenticate"]
    assert len(people.functions.events) == before


def test_anonymous_forged_and_malformed_tokens_are_401(people: People) -> None:
    before = len(people.functions.events)
    # GIVEN a token with valid claims signed by a key that is not the pool's
    forger = RSAKey.generate_key(2048, parameters={"kid": "dummy"})
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims_for(people), forger)
    # AND a token whose payload was changed after signing
    header, payload, signature = people.tokens["IdToken"].split(".")
    altered = ".".join((header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature))
    for token in (None, forged, altered, "not-a-jwt", ""):
        status, body, _ = people.get("/uploads/42", token)
        assert (status, body) == (401, {"message": "Unauthorized"}), token
    assert len(people.functions.events) == before


def test_a_valid_token_without_the_routes_scope_is_403(people: People) -> None:
    assert people.get("/scoped", people.tokens["IdToken"])[:2] == (403, {"message": "Forbidden"})
    scoped = pool_signed(claims_for(people, scope="uploads/write openid"))
    assert people.get("/scoped", scoped)[0] == 200
