"""How regionflow's clients authenticate at its doors: SigV4 for AWS_IAM routes, a bearer token for JWT ones.

Machine producers sign with the credentials of a principal allowed to invoke the route (each system
exports a caller role, `<system>CallerRoleArn`, to assume): API Gateway routes are signed for
`execute-api`, function URLs for `lambda`, each in the endpoint's region. People sign in to the upload
routes' user pool and send its ID token. Both kinds of caller answer `headers(...)` for one request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_FUNCTION_URL_HOST = re.compile(r"^[a-z0-9]+\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$")
# localcloud serves a function URL at {gateway}/lambda-url/{region}/{function}/.
_LOCAL_FUNCTION_URL_PATH = re.compile(r"^/lambda-url/(?P<region>[a-z0-9-]+)/")
CALLER_SESSION_SECONDS = 3600


class Caller(Protocol):
    def headers(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, region: str | None = None
    ) -> dict[str, str]:
        """`headers` plus what authenticates this request; `region` is the endpoint's where its address
        does not say (localcloud's loopback URLs)."""
        ...


def signing_scope(url: str, default_region: str) -> tuple[str, str]:
    """(service, region) a request to `url` is signed for: a function URL's is `lambda`, an API's
    `execute-api`; the region is the endpoint's where its address names it, else `default_region`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for pattern, service in ((_FUNCTION_URL_HOST, "lambda"), (_EXECUTE_API_HOST, "execute-api")):
        if matched := pattern.match(host):
            return service, matched["region"]
    if matched := _LOCAL_FUNCTION_URL_PATH.match(parts.path):
        return "lambda", matched["region"]
    return "execute-api", default_region


@dataclass(frozen=True)
class IamCaller:
    """Signs each request with SigV4 as `credentials` (e.g. an assumed caller role's session)."""

    credentials: Credentials
    region: str  # for endpoints whose address does not name theirs

    def headers(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, region: str | None = None
    ) -> dict[str, str]:
        service, signing_region = signing_scope(url, region or self.region)
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(self.credentials, service, signing_region).add_auth(request)
        return dict(request.headers.items())


@dataclass(frozen=True)
class TokenCaller:
    """Sends a JWT (the user pool's ID token) as `Authorization: Bearer`."""

    token: str

    def headers(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, region: str | None = None
    ) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self.token}"}


def assume_caller_role(sts: Any, role_arn: str, *, session_name: str, region: str) -> IamCaller:
    """A caller signing as a session of `role_arn` (what a producer does with its system's caller role)."""
    granted = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=CALLER_SESSION_SECONDS
    )["Credentials"]
    return IamCaller(
        Credentials(granted["AccessKeyId"], granted["SecretAccessKey"], granted["SessionToken"]), region
    )


def sign_in(cognito: Any, *, user_pool_id: str, client_id: str, username: str, password: str) -> TokenCaller:
    """A person's caller: signed in with the back-end flow (ADMIN_USER_PASSWORD_AUTH, IAM credentials
    needed), as a trusted script or test does; a browser uses SRP instead."""
    result = cognito.admin_initiate_auth(
        UserPoolId=user_pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]
    return TokenCaller(result["IdToken"])
