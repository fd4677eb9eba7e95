"""S3 replicates as the replication configuration's role, as AWS does: what that role must be allowed.

S3 assumes the configuration's Role (its trust policy must name s3.amazonaws.com) and acts as that session:
it reads the source's configuration and listing (s3:GetReplicationConfiguration, s3:ListBucket on the
bucket), reads each version for replication (s3:GetObjectVersionForReplication, GetObjectVersionAcl,
GetObjectVersionTagging on the object) and writes the replica (s3:ReplicateObject, s3:ReplicateTags when
the object has tags, s3:ReplicateDelete for a delete marker, on the destination object), decrypting an
SSE-KMS source (kms:Decrypt) and encrypting under the rule's replica key (kms:Encrypt).

moto cannot tell those actions apart from GetObject or PutObject, so the replicator copies through the
control plane and `ReplicationRole` decides each action here first, as AWS would: the role's identity
policies and the bucket's policy (an explicit Deny in either wins), evaluated by policy_evaluation/, every
decision counted with the emulator's IAM decisions. The role and the policies are read through the IAM
and S3 APIs like everything the replicator reads, once per replication pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from localcloud.core.clients import ClientFactory
from localcloud.services.iam.enforcement import record_service_decision
from localcloud.services.iam.policy_evaluation import AuthorizationRequest, Decision, NamedPolicy, evaluate
from localcloud.services.iam.role_sessions import trusts_service

S3_SERVICE_PRINCIPAL = "s3.amazonaws.com"
SESSION_NAME = "s3-replication"
_IAM_REGION = "us-east-1"  # IAM is global; its endpoint answers in us-east-1


@dataclass(frozen=True)
class ReplicationCheck:
    """One action S3 performs as the role while replicating a version, on a bucket, object or key ARN."""

    action: str
    resource: str


def version_checks(
    source: str, destination: str, key: str, *, delete_marker: bool, tagged: bool
) -> list[ReplicationCheck]:
    """What replicating one version (or delete marker) of `key` from `source` to `destination` takes."""
    source_object, replica = f"arn:aws:s3:::{source}/{key}", f"arn:aws:s3:::{destination}/{key}"
    checks = [
        ReplicationCheck("s3:GetReplicationConfiguration", f"arn:aws:s3:::{source}"),
        ReplicationCheck("s3:ListBucket", f"arn:aws:s3:::{source}"),
    ]
    if delete_marker:
        return [*checks, ReplicationCheck("s3:ReplicateDelete", replica)]
    checks += [
        ReplicationCheck(action, source_object)
        for action in (
            "s3:GetObjectVersionForReplication",
            "s3:GetObjectVersionAcl",
            "s3:GetObjectVersionTagging",
        )
    ]
    checks.append(ReplicationCheck("s3:ReplicateObject", replica))
    if tagged:
        checks.append(ReplicationCheck("s3:ReplicateTags", replica))
    return checks


def kms_key_arn(key_id: str, region: str, account: str) -> str:
    return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"


@dataclass(frozen=True)
class _Role:
    arn: str
    session_arn: str
    account: str
    policies: tuple[NamedPolicy, ...]


class ReplicationRefusedError(Exception):
    """S3 may not replicate as the role: the version's replication FAILED, for this reason."""


class ReplicationRole:
    """Decides the replication actions of configurations' roles; see the module docstring.

    `client_factory` is the replicator's control plane: reading the role and the bucket policies is S3's
    own business, not the role's."""

    def __init__(self, client_factory: ClientFactory) -> None:
        self._client = client_factory
        self._roles: dict[str, _Role | ReplicationRefusedError] = {}
        self._bucket_policies: dict[str, NamedPolicy | None] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Read roles and bucket policies afresh from now on (the replicator calls this every pass)."""
        with self._lock:
            self._roles.clear()
            self._bucket_policies.clear()

    def authorize(self, role_arn: str, checks: Iterable[ReplicationCheck]) -> None:
        """Decide each check as the role's session; ReplicationRefusedError at the first refusal (a role
        S3 cannot assume refuses them all). Every decision is recorded."""
        role = self._role(role_arn)
        for check in checks:
            request = AuthorizationRequest(
                principal_arn=role.session_arn,
                principal_account=role.account,
                action=check.action,
                resource=check.resource,
                context={
                    "aws:SecureTransport": True,  # S3 replicates over AWS's own TLS connections
                    "aws:PrincipalAccount": role.account,
                    "aws:PrincipalArn": role.arn,
                    "aws:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
            decision = evaluate(request, role.policies, self._resource_policy(check.resource))
            record_service_decision(role.session_arn, check.action, check.resource, decision)
            if not decision.allowed:
                raise ReplicationRefusedError(
                    f"{role.session_arn} is not authorized to perform: {check.action} on resource: "
                    f"{check.resource} because {decision.reason}"
                )

    # -- reading the role and the policies ----------------------------------------------------------

    def _role(self, role_arn: str) -> _Role:
        with self._lock:
            known = self._roles.get(role_arn)
        if known is None:
            try:
                known = self._read_role(role_arn)
            except ReplicationRefusedError as refused:
                known = refused
            with self._lock:
                self._roles[role_arn] = known
        if isinstance(known, ReplicationRefusedError):
            raise known
        return known

    def _read_role(self, role_arn: str) -> _Role:
        iam = self._client("iam", _IAM_REGION)
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
            raise self._not_assumable(role_arn, "the role does not exist") from error
        if not trusts_service(role["AssumeRolePolicyDocument"], role_arn, S3_SERVICE_PRINCIPAL):
            raise self._not_assumable(
                role_arn, f"its trust policy does not allow {S3_SERVICE_PRINCIPAL} to assume it"
            )
        account = role_arn.split(":")[4]
        return _Role(
            arn=role_arn,
            session_arn=f"arn:aws:sts::{account}:assumed-role/{name}/{SESSION_NAME}",
            account=account,
            policies=(*_inline_policies(iam, name), *_attached_policies(iam, name)),
        )

    @staticmethod
    def _not_assumable(role_arn: str, reason: str) -> ReplicationRefusedError:
        record_service_decision(S3_SERVICE_PRINCIPAL, "sts:AssumeRole", role_arn, Decision(False, reason))
        return ReplicationRefusedError(f"{S3_SERVICE_PRINCIPAL} cannot assume the role {role_arn}: {reason}")

    def _resource_policy(self, resource: str) -> NamedPolicy | None:
        """The bucket policy of an S3 ARN's bucket; KMS key policies are not evaluated (README says so)."""
        if not resource.startswith("arn:aws:s3:::"):
            return None
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        with self._lock:
            if bucket in self._bucket_policies:
                return self._bucket_policies[bucket]
        try:
            text = self._client("s3", _IAM_REGION).get_bucket_policy(Bucket=bucket)["Policy"]
            policy: NamedPolicy | None = NamedPolicy("bucket policy", text)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
                raise
            policy = None
        with self._lock:
            self._bucket_policies[bucket] = policy
        return policy


def _inline_policies(iam: Any, role_name: str) -> Sequence[NamedPolicy]:
    names = [
        name
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name)
        for name in page["PolicyNames"]
    ]
    return [
        NamedPolicy(name, iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
        for name in names
    ]


def _attached_policies(iam: Any, role_name: str) -> Sequence[NamedPolicy]:
    attached = [
        policy
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
        for policy in page["AttachedPolicies"]
    ]
    policies = []
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]
        policies.append(NamedPolicy(policy["PolicyName"], document["Document"]))
    return policies
