"""API Gateway's AWS_IAM authorization, as API Gateway applies it before a route's integration runs.

A route (HTTP API) or method (REST API) with authorization type AWS_IAM answers only a request signed with
SigV4 for `execute-api` whose signer may perform `execute-api:Invoke` on the route's ARN
(`arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`): the signature is recomputed
from the signer's secret (iam/signatures.py) and the signer's policies evaluated (iam/enforcement.py).
Unsigned requests, bad or stale signatures and denied signers get API Gateway's 403 with its message, and
nothing reaches the integration. An allowed request's identity is what `requestContext.authorizer.iam`
carries to the function. A WebSocket API's $connect is authorized the same way, for `execute-api:Connect`,
and its Management API for `execute-api:ManageConnections` (websocket.py); API Gateway also takes the
signature in the query string (presigned), which is how a browser signs an upgrade request.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localcloud.services.apigateway.http import Request, Response, json_response
from localcloud.services.iam.enforcement import authorize_session, principal_arn, secret_of
from localcloud.services.iam.request_authorization import Check
from localcloud.services.iam.signatures import (
    PresignedRequest,
    SignatureError,
    SignedRequest,
    is_presigned,
    verify,
    verify_header_signed,
)

logger = logging.getLogger(__name__)

AWS_IAM = "AWS_IAM"


@dataclass(frozen=True)
class IamCaller:
    access_key_id: str
    account_id: str
    arn: str

    def authorizer_context(self) -> dict[str, Any]:
        """`requestContext.authorizer.iam` of a payload 2.0 event, as API Gateway fills it."""
        caller_id = self.arn.split(":", 5)[5].split("/", 1)[-1]
        return {
            "accessKey": self.access_key_id,
            "accountId": self.account_id,
            "callerId": caller_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": self.arn,
            "userId": caller_id,
        }

    def rest_identity(self) -> dict[str, str]:
        """The `$context.identity` fields a REST API fills for an IAM-authorized request."""
        caller_id = self.authorizer_context()["callerId"]
        return {
            "accessKey": self.access_key_id,
            "accountId": self.account_id,
            "caller": caller_id,
            "user": caller_id,
            "userArn": self.arn,
        }


def _signer(request: Request, service: str, region: str) -> str:
    """The access key that signed `request` for `service` in `region` (SignatureError otherwise)."""
    signed = SignedRequest(
        method=request.method, url=request.url, headers=dict(request.headers), body=request.body
    )
    return verify_header_signed(signed, secret_of, service, region=region)


def _presigned_signer(request: Request, service: str, region: str) -> str:
    """The access key that presigned `request` (SigV4 in its query string) for `service` in `region`."""
    signed = PresignedRequest(
        method=request.method,
        raw_path=urlsplit(request.url).path or request.raw_path,
        query_string=request.raw_query,
        headers=dict(request.headers),
    )
    scope = dict(parse_qsl(request.raw_query)).get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or scope[3] != service or scope[2] != region:
        raise SignatureError(
            "InvalidSignatureException", f"Credential should be scoped to service '{service}' in '{region}'"
        )
    # Not S3: the canonical request ends with the hash of the (empty) payload, not UNSIGNED-PAYLOAD.
    return verify(signed, secret_of, payload_hash=hashlib.sha256(b"").hexdigest())


def authorize(
    request: Request, route_arn: str, account_id: str, *, action: str = "execute-api:Invoke"
) -> IamCaller | Response:
    """The caller of a request to an AWS_IAM route (who may `action` on `route_arn`), or the 403 API
    Gateway answers instead."""
    region = route_arn.split(":")[3]
    try:
        if is_presigned(request.raw_query):
            access_key_id = _presigned_signer(request, "execute-api", region)
        else:
            access_key_id = _signer(request, "execute-api", region)
    except SignatureError as refused:
        message = "Forbidden" if refused.code == "MissingAuthenticationToken" else str(refused)
        return json_response(403, {"message": message}, [("x-amzn-ErrorType", refused.code)])
    denial = authorize_session(access_key_id, [Check(action, route_arn)])
    if denial is not None:
        message = f"User: {denial.principal} is not authorized to perform: {action} on resource: {route_arn}"
        return json_response(403, {"message": message}, [("x-amzn-ErrorType", "AccessDeniedException")])
    return IamCaller(access_key_id, account_id, principal_arn(access_key_id))


# What a function URL answers any refused request, as Lambda does (it names no reason).
FUNCTION_URL_FORBIDDEN_BODY = {"Message": "Forbidden"}


def authorize_function_url(
    request: Request, function_arn: str, region: str, account_id: str
) -> IamCaller | Response:
    """The caller of a request to an AWS_IAM function URL, or Lambda's 403 instead: the request must be
    signed for `lambda` in the URL's region, and the signer allowed both lambda:InvokeFunctionUrl (for auth
    type AWS_IAM) and, since October 2025, lambda:InvokeFunction through the URL."""
    try:
        access_key_id = _signer(request, "lambda", region)
    except SignatureError as refused:
        logger.info(
            "gateway: function URL %s refused an unsigned or badly signed request: %s", function_arn, refused
        )
        return json_response(
            403, FUNCTION_URL_FORBIDDEN_BODY, [("x-amzn-ErrorType", "AccessDeniedException")]
        )
    denial = authorize_session(
        access_key_id,
        [
            Check(
                "lambda:InvokeFunctionUrl",
                function_arn,
                context=(("lambda:FunctionUrlAuthType", (AWS_IAM,)),),
            ),
            Check(
                "lambda:InvokeFunction", function_arn, context=(("lambda:InvokedViaFunctionUrl", ("true",)),)
            ),
        ],
    )
    if denial is not None:
        logger.info("gateway: function URL %s refused %s: %s", function_arn, denial.principal, denial.reason)
        return json_response(
            403, FUNCTION_URL_FORBIDDEN_BODY, [("x-amzn-ErrorType", "AccessDeniedException")]
        )
    return IamCaller(access_key_id, account_id, principal_arn(access_key_id))
