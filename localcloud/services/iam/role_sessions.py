"""Service role sessions: how an AWS service acts as the role a resource names.

Lambda runs a function as its execution role, Step Functions calls services as the state machine's role,
API Gateway's AWS integrations as their credentials role, S3 replicates as the replication role. Each
assumes the role through STS, which it may only do when the role's trust policy names the service; the
emulator then authenticates and authorizes every call made with the session (iam/enforcement.py).
`RoleSessions` is that one step for every service: trust evaluated, role assumed, credentials cached.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from localcloud.core.clients import ClientFactory
from localcloud.services.iam.policy_evaluation import AuthorizationRequest, NamedPolicy, evaluate

SESSION_SECONDS = 12 * 3600  # the longest session STS grants; a session here lives as long as the emulator


class RoleNotAssumableError(Exception):
    """The role's trust policy does not let the service assume it: AWS refuses to act as it."""

    def __init__(self, role_arn: str, service_principal: str) -> None:
        super().__init__(
            f"{service_principal} cannot assume the role {role_arn}: its trust policy does not allow it"
        )
        self.role_arn = role_arn
        self.service_principal = service_principal


# Services that say which account they act for (aws:SourceAccount) when they assume a role, so a trust
# policy may require it (each one's "confused deputy prevention" guidance). Others send no such key: a
# trust policy conditioned on it locks them out, on AWS and here. localcloud runs one account, the role's.
SOURCE_ACCOUNT_SENDING_SERVICES = frozenset(
    {"states.amazonaws.com", "ssm.amazonaws.com", "fis.amazonaws.com"}
)


def trusts_service(trust_policy: str | Mapping[str, Any], role_arn: str, service_principal: str) -> bool:
    """Whether a role's trust policy lets `service_principal` (e.g. lambda.amazonaws.com) assume it."""
    account = role_arn.split(":")[4]
    request = AuthorizationRequest(
        principal_arn=service_principal,
        principal_account=account,
        action="sts:AssumeRole",
        resource=role_arn,
        service_principal=service_principal,
        context={"aws:SourceAccount": account}
        if service_principal in SOURCE_ACCOUNT_SENDING_SERVICES
        else {},
    )
    document = trust_policy if isinstance(trust_policy, str) else dict(trust_policy)
    return evaluate(request, [], NamedPolicy("trust policy", document)).allowed


class RoleSessions:
    """Session credentials per (role, service, session name), assumed once through the emulator's STS.

    `client_factory` is a control-plane (service, region) -> client callable: reading the trust policy and
    calling AssumeRole are the service's own calls, not the role's."""

    def __init__(self, client_factory: ClientFactory, region: str = "us-east-1") -> None:
        self._client = client_factory
        self._region = region
        self._sessions: dict[tuple[str, str, str], dict[str, str]] = {}
        self._lock = threading.Lock()

    def credentials(self, role_arn: str, service_principal: str, session_name: str) -> dict[str, str]:
        """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN of a session of `role_arn`, as
        `service_principal` assumes it; RoleNotAssumableError when the trust policy does not allow it."""
        key = (role_arn, service_principal, session_name)
        with self._lock:
            cached = self._sessions.get(key)
        if cached is not None:
            return cached
        iam = self._client("iam", self._region)
        try:
            role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except iam.exceptions.NoSuchEntityException as missing:
            raise RoleNotAssumableError(role_arn, service_principal) from missing
        if not trusts_service(role["AssumeRolePolicyDocument"], role_arn, service_principal):
            raise RoleNotAssumableError(role_arn, service_principal)
        credentials = self._client("sts", self._region).assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=SESSION_SECONDS
        )["Credentials"]
        session = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
        with self._lock:
            return self._sessions.setdefault(key, session)
