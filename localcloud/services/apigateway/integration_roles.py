"""API Gateway calls an integration's backend as the integration's credentials role, as AWS does.

A REST API's AWS service integration (SQS SendMessage here) and a Lambda integration that names
`credentials` are called as that role: API Gateway assumes it (its trust policy must name
apigateway.amazonaws.com, through `RoleSessions`) and the backend authorizes the session
(iam/enforcement.py), so the role needs, e.g., sqs:SendMessage on the queue. A role API Gateway cannot act
as (none named, missing, not trusting it) is AWS's "Execution failed due to configuration error": the
caller gets a 500 and the refusal is counted as an IAM denial.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from botocore.exceptions import ClientError

from localcloud.core.clients import ClientFactory, emulator_client
from localcloud.services.apigateway.http import APIGATEWAY_PRINCIPAL
from localcloud.services.iam.enforcement import record_service_decision
from localcloud.services.iam.policy_evaluation import Decision
from localcloud.services.iam.role_sessions import RoleNotAssumableError, RoleSessions

# The session name API Gateway gives the roles it assumes (AWS's AccessDenied messages name it).
SESSION_NAME = "BackplaneAssumeRoleSession"


@dataclass(frozen=True)
class RoleInvocation:
    """What Lambda answered an invocation made as the role: its payload, and its FunctionError if any."""

    payload: bytes
    error_type: str | None


class IntegrationRoleError(Exception):
    """API Gateway cannot act as the integration's role; the message is the execution log's line."""


class IntegrationRoles:
    """Clients signing as integrations' credentials roles, one per (role, service, region).

    `client_factory` is the gateway's control-plane factory: reading the trust policy and assuming the
    role are API Gateway's own calls, and its clients say where the emulator is."""

    def __init__(self, client_factory: ClientFactory) -> None:
        self._control_plane = client_factory
        self._sessions = RoleSessions(client_factory)
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, role_arn: str | None, service: str, region: str) -> Any:
        """A client of `service` signing as a session of `role_arn`; IntegrationRoleError (and a recorded
        denial) when API Gateway cannot assume it."""
        if not role_arn:
            raise _refuse("*", "the integration names no credentials role")
        key = (role_arn, service, region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        try:
            credentials = self._sessions.credentials(role_arn, APIGATEWAY_PRINCIPAL, SESSION_NAME)
        except RoleNotAssumableError as refused:
            # RoleSessions chains the IAM lookup's NoSuchEntity when the role does not exist.
            reason = (
                "the role does not exist"
                if refused.__cause__ is not None
                else f"its trust policy does not allow {APIGATEWAY_PRINCIPAL} to assume it"
            )
            raise _refuse(role_arn, reason) from refused
        endpoint_url = self._control_plane(service, region).meta.endpoint_url
        client = emulator_client(endpoint_url, service, region, credentials)
        with self._lock:
            return self._clients.setdefault(key, client)

    def invoke(self, role_arn: str, function_arn: str, region: str, event: Any) -> RoleInvocation:
        """Invoke a function synchronously as `role_arn`: Lambda authorizes the role's
        lambda:InvokeFunction, and its refusal is a configuration error (IntegrationRoleError) to AWS."""
        try:
            answer = self.client(role_arn, "lambda", region).invoke(
                FunctionName=function_arn, Payload=json.dumps(event).encode()
            )
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != HTTPStatus.FORBIDDEN:
                raise
            why = f"Invalid permissions on Lambda function: {error}"
            raise IntegrationRoleError(f"Execution failed due to configuration error: {why}") from error
        return RoleInvocation(payload=answer["Payload"].read(), error_type=answer.get("FunctionError"))


def _refuse(role_arn: str, reason: str) -> IntegrationRoleError:
    record_service_decision(APIGATEWAY_PRINCIPAL, "sts:AssumeRole", role_arn, Decision(False, reason))
    if role_arn == "*":
        return IntegrationRoleError(f"Execution failed due to configuration error: {reason}")
    return IntegrationRoleError(
        "Execution failed due to configuration error: API Gateway does not have permission to assume "
        f"the provided role {role_arn} ({reason})"
    )
