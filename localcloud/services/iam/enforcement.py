"""IAM on every call: the emulator evaluates the caller's policies, and the resource's, as AWS does.

Who signs what:
- localcloud's control plane (the provisioner playing `pulumi up` with administrator rights, the demo and
  test drivers playing an administrator, and AWS's own service internals) signs with the emulator's key
  (localcloud.core.clients.DUMMY_ACCESS_KEY_ID); those calls are counted, not evaluated;
- every Lambda function signs with its execution role's session credentials (the runtime assumes the role
  as the Lambda service does, runtime.py), so each call a handler makes is authenticated (key, session
  token and SigV4 signature) and authorized against that role's identity policies and, where the service
  has them, the resource's policy (S3 bucket, SQS queue, SNS topic policies);
- every Step Functions service integration signs with a session of its state machine's role, as Step
  Functions assumes it (stepfunctions/service_roles.py), and is authorized the same way.

How: moto routes every request through `ActionAuthenticatorMixin._authenticate_and_authorize_action`.
`install()` replaces that step: the IAM checks of the request (action and resource ARN per AWS's Service
Authorization Reference, request_authorization.py; S3's from moto's own action map) are evaluated by
policy_evaluation/. A denial raises AccessDenied naming the principal, the action, the resource and why,
in the protocol's error shape, so the handler's error, the execution history and the test output all
carry it. Every decision is counted (`IamEnforcement.decisions`).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlparse

import xmltodict

from localcloud.core.clients import DEFAULT_ACCOUNT_ID, DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.moto_version import require_supported_moto
from localcloud.services.iam import signatures
from localcloud.services.iam.policy_evaluation import AuthorizationRequest, Decision, NamedPolicy, evaluate
from localcloud.services.iam.request_authorization import ApiRequest, Check, authorization_checks
from localcloud.services.iam.request_authorization.storage import missing_object_checks
from localcloud.services.iam.signatures import PresignedRequest, SignatureError

_JSON_PROTOCOLS = {"json", "rest-json"}
_RECENT_DENIALS_KEPT = 50


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    reason: str

    def message(self) -> str:
        return (
            f"User: {self.principal} is not authorized to perform: {self.action} on resource: "
            f"{self.resource} because {self.reason}"
        )


@dataclass
class IamEnforcement:
    """The decisions of one emulator: how many calls were evaluated, allowed and denied, and the denials."""

    decisions: Counter[str] = field(default_factory=Counter)
    denials: list[Denial] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: str, denial: Denial | None = None) -> None:
        with self._lock:
            self.decisions[outcome] += 1
            if denial is not None:
                self.denials.append(denial)
                del self.denials[:-_RECENT_DENIALS_KEPT]


_active: IamEnforcement | None = None
_original: Any = None


def install(enforcement: IamEnforcement) -> None:
    """Evaluate IAM on every request the emulator serves from now on (process-global, like moto)."""
    global _active, _original  # noqa: PLW0603 - moto's request handling is process-global too
    from moto.core.authorization import ActionAuthenticatorMixin  # noqa: PLC0415 - moto is slow to import

    require_supported_moto(__name__)
    if _original is None:
        _original = ActionAuthenticatorMixin._authenticate_and_authorize_action
        ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize  # type: ignore[method-assign,assignment]
    _active = enforcement


def uninstall(enforcement: IamEnforcement) -> None:
    global _active  # noqa: PLW0603
    if _active is enforcement:
        _active = None


def active() -> IamEnforcement | None:
    """The enforcement of the emulator running now, if any (a service acting as a role keys its sessions
    on it: they do not outlive the emulator that issued them)."""
    return _active


def authorize_session(access_key_id: str, checks: Sequence[Check]) -> Denial | None:
    """Decide, and count, checks for an action a role session takes that no request carries (Step
    Functions starting a Distributed Map's child executions as the machine's role): the first denial,
    else None. Nothing is decided while no emulator enforces IAM."""
    enforcement = _active
    if enforcement is None:
        return None
    if access_key_id == DUMMY_ACCESS_KEY_ID:
        # localcloud's control-plane keys (what `up` prints for other tools): counted, not evaluated, as
        # for the requests they sign.
        enforcement.record("control-plane")
        return None
    account = DEFAULT_ACCOUNT_ID
    principal = _PRINCIPALS.lookup(access_key_id, account)
    for check in checks:
        decision = _decide(principal, check, account)
        if not decision.allowed:
            denial = Denial(principal.arn, check.action, check.resource, decision.reason)
            enforcement.record("denied", denial)
            return denial
        enforcement.record("allowed")
    return None


def principal_arn(access_key_id: str) -> str:
    """The ARN of the principal holding an access key (an assumed-role session's, or a user's; the
    account's root for localcloud's control-plane keys)."""
    if access_key_id == DUMMY_ACCESS_KEY_ID:
        return f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"
    return _PRINCIPALS.lookup(access_key_id, DEFAULT_ACCOUNT_ID).arn


def record_service_decision(service: str, action: str, resource: str, decision: Decision) -> None:
    """Count a decision made outside a request (a service invoking a function on its resource policy)."""
    enforcement = _active
    if enforcement is None:
        return
    if decision.allowed:
        enforcement.record("allowed")
    else:
        enforcement.record("denied", Denial(service, action, resource, decision.reason))


# -- the replaced step ----------------------------------------------------------------------------


# Operations AWS authorizes by the caller's tokens (or lets anyone call), never by IAM: Cognito's user
# pool API for people, whose browsers hold no AWS credentials ("Understanding API, OIDC, and managed login
# pages authentication": the unauthenticated and token-authorized operations).
TOKEN_AUTHORIZED_OPERATIONS = {
    "cognito-idp": frozenset(
        {
            "AssociateSoftwareToken",
            "ChangePassword",
            "ConfirmDevice",
            "ConfirmForgotPassword",
            "ConfirmSignUp",
            "DeleteUser",
            "DeleteUserAttributes",
            "ForgetDevice",
            "ForgotPassword",
            "GetDevice",
            "GetTokensFromRefreshToken",
            "GetUser",
            "GetUserAttributeVerificationCode",
            "GlobalSignOut",
            "InitiateAuth",
            "ListDevices",
            "ResendConfirmationCode",
            "RespondToAuthChallenge",
            "RevokeToken",
            "SetUserMFAPreference",
            "SetUserSettings",
            "SignUp",
            "UpdateDeviceStatus",
            "UpdateUserAttributes",
            "VerifySoftwareToken",
            "VerifyUserAttribute",
        }
    )
}


def _outside_iam(response: Any) -> bool:
    """A request AWS does not authorize with IAM: a browser's CORS preflight (OPTIONS, which carries no
    credentials by design; S3 answers it from the bucket's CORS rules) or a token-authorized operation."""
    if str(getattr(response, "method", "")).upper() == "OPTIONS":
        return True
    operations = TOKEN_AUTHORIZED_OPERATIONS.get(getattr(response, "service_name", ""))
    if not operations:
        return False
    target = str((response.headers or {}).get("X-Amz-Target", ""))
    return target.rpartition(".")[2] in operations


def _authenticate_and_authorize(response: Any, iam_request_cls: type, resource: str = "*") -> None:
    enforcement = _active
    if enforcement is None:
        _original(response, iam_request_cls, resource)
        return
    if _outside_iam(response):
        enforcement.record("outside-iam")
        return
    credential = _credential(response)
    if credential is None:
        enforcement.record("anonymous")
        action = _first_action(response, iam_request_cls, resource)
        _deny(response, Denial("anonymous", action, resource, "the request is not signed"))
    access_key_id, service = credential
    if access_key_id == DUMMY_ACCESS_KEY_ID:
        enforcement.record("control-plane")
        if (refused := _root_denial(response, iam_request_cls, resource)) is not None:
            enforcement.record("denied", refused)
            _deny(response, refused)
        return
    account = DEFAULT_ACCOUNT_ID
    principal = _principal(response, iam_request_cls, access_key_id, account)
    for check in _checks(response, iam_request_cls, resource, service, account):
        decision = _decide(principal, check, account)
        if not decision.allowed:
            denial = Denial(principal.arn, check.action, check.resource, decision.reason)
            enforcement.record("denied", denial)
            _deny(response, denial)
        enforcement.record("allowed")


# What the account's root may do by itself: anything (AWS gives it no identity policy to limit it).
_ROOT_PERMISSIONS = (
    NamedPolicy(
        "the account root's own permissions",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    ),
)


def _root_denial(response: Any, iam_request_cls: type, resource: str) -> Denial | None:
    """The account's root (localcloud's control-plane keys) may do anything but what a bucket policy
    explicitly denies, which binds the root too on AWS (a bucket policy that denies puts outside some
    prefixes refuses them whoever sends them). Other services' resource policies are not read for it."""
    from moto.iam.access_control import S3IAMRequest  # noqa: PLC0415

    if iam_request_cls is not S3IAMRequest:
        return None
    root = _Principal(principal_arn(DUMMY_ACCESS_KEY_ID), _ROOT_PERMISSIONS)
    for check in _checks(response, iam_request_cls, resource, "s3", DEFAULT_ACCOUNT_ID):
        decision = _decide(root, check, DEFAULT_ACCOUNT_ID)
        if not decision.allowed and decision.reason.startswith("explicitly denied"):
            return Denial(root.arn, check.action, check.resource, decision.reason)
    return None


def _credential(response: Any) -> tuple[str, str] | None:
    """(access key id, signing service) of a header-signed or presigned request; None when unsigned."""
    authorization = response.headers.get("Authorization") or ""
    scope = ""
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        query = parse_qs(urlparse(response.uri).query)
        scope = (query.get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    if len(parts) < 4:
        return None
    return parts[0], parts[3]


@dataclass(frozen=True)
class _Principal:
    arn: str
    policies: tuple[NamedPolicy, ...]


def _principal(response: Any, iam_request_cls: type, access_key_id: str, account: str) -> _Principal:
    """Authenticate the caller as moto does (unknown key, wrong session token or signature: rejected) and
    collect its identity policies."""
    if "Credential=" in (response.headers.get("Authorization") or ""):
        request = iam_request_cls(
            account_id=account,
            method=response.method,
            path=_path_with_query(response),
            # The payload moto re-signs is the body, else these fields: a form POST's fields are its body
            # (werkzeug consumed it), but a GET's query fields are not a payload.
            data=response.data if response.method in {"POST", "PUT", "PATCH"} else {},
            body=response.raw_body,
            headers=response.headers,
            action=response._get_action(),
        )
        request.check_signature()
    else:
        _check_presigned(response)
    return _PRINCIPALS.lookup(access_key_id, account)


def _path_with_query(response: Any) -> str:
    query = urlparse(response.uri).query
    return str(response.raw_path) + (f"?{query}" if query else "")


def _check_presigned(response: Any) -> None:
    """A presigned URL's signature recomputed (SigV4 or SigV4A) with its key's secret, and its expiry."""
    request = PresignedRequest(
        method=str(response.method),
        raw_path=str(response.raw_path),
        query_string=urlparse(response.uri).query,
        headers=dict(response.headers),
    )
    try:
        signatures.verify(request, secret_of)
    except SignatureError as refused:
        _deny(response, Denial("presigned URL", "*", "*", str(refused)))


def secret_of(access_key_id: str) -> str:
    """The secret of an access key moto's IAM or STS issued (KeyError when none holds it): what a presigned
    URL's signature is recomputed with."""
    from moto.iam.models import iam_backends  # noqa: PLC0415
    from moto.sts.models import sts_backends  # noqa: PLC0415

    account = DEFAULT_ACCOUNT_ID
    if access_key_id == DUMMY_ACCESS_KEY_ID:
        return DUMMY_SECRET_ACCESS_KEY
    for session in sts_backends[account]["aws"].assumed_roles:
        if session.access_key_id == access_key_id:
            return str(session.secret_access_key)
    for user in iam_backends[account]["aws"].users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key_id:
                return str(key.secret_access_key)
    raise KeyError(access_key_id)


class _PrincipalLookup:
    """Access key -> principal and its identity policies, read from moto's IAM and STS state."""

    def lookup(self, access_key_id: str, account: str) -> _Principal:
        from moto.iam.models import iam_backends  # noqa: PLC0415
        from moto.sts.models import sts_backends  # noqa: PLC0415

        iam = iam_backends[account]["aws"]
        for session in sts_backends[account]["aws"].assumed_roles:
            if session.access_key_id == access_key_id:
                role_name = session.role_arn.split("/")[-1]
                arn = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session.session_name}"
                return _Principal(arn, _role_policies(iam, role_name))
        for user in iam.users.values():
            if any(key.access_key_id == access_key_id for key in user.access_keys):
                return _Principal(user.arn, _user_policies(iam, user))
        raise LookupError(f"no principal holds access key {access_key_id}")


_PRINCIPALS = _PrincipalLookup()


def _role_policies(iam: Any, role_name: str) -> tuple[NamedPolicy, ...]:
    role = iam.get_role(role_name)
    inline = [NamedPolicy(name, document) for name, document in role.policies.items()]
    managed = [
        NamedPolicy(policy.name, _default_document(policy)) for policy in role.managed_policies.values()
    ]
    return (*inline, *managed)


def _user_policies(iam: Any, user: Any) -> tuple[NamedPolicy, ...]:
    inline = [NamedPolicy(name, document) for name, document in user.policies.items()]
    managed = [
        NamedPolicy(policy.name, _default_document(policy)) for policy in user.managed_policies.values()
    ]
    return tuple(inline + managed)


def _default_document(policy: Any) -> str:
    return str(next(version.document for version in policy.versions if version.is_default))


# -- what the request asks for ----------------------------------------------------------------------


def _checks(
    response: Any, iam_request_cls: type, resource: str, service: str, account: str
) -> Sequence[Check]:
    from moto.iam.access_control import S3IAMRequest  # noqa: PLC0415

    if iam_request_cls is S3IAMRequest:
        # moto's S3 names the IAM action (its ACTION_MAP: GetObjectVersion for a version's read) and the
        # bucket or object it applies to.
        read = Check(f"s3:{response.data['Action']}", resource)
        if read.action == "s3:GetObject":
            return [read, *missing_object_checks(resource, account, _RESOLVER)]
        return [read]
    request = ApiRequest(
        service=service,
        operation=response._get_action(),
        params=_params(response),
        path=str(response.raw_path),
        body=response.raw_body if isinstance(response.raw_body, bytes) else b"",
        region=response.region,
        account=account,
    )
    return authorization_checks(request, _RESOLVER)


def _first_action(response: Any, iam_request_cls: type, resource: str) -> str:
    try:
        return _checks(response, iam_request_cls, resource, response.service_name, DEFAULT_ACCOUNT_ID)[
            0
        ].action
    except Exception:
        return "*"


def _params(response: Any) -> dict[str, Any]:
    """The request's parameters by their API names: a JSON body (some moto services hand it over already
    decoded) with the URL's query, else the query protocol's form or query fields."""
    body = response.body
    if isinstance(body, str | bytes) and body:
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            body = None
    url_query = parse_qs(urlparse(response.uri).query)
    fields = response.querystring or {} if not isinstance(body, dict) else url_query
    params: dict[str, Any] = {
        name: values[0] if isinstance(values, list) and len(values) == 1 else values
        for name, values in fields.items()
    }
    if isinstance(body, dict):
        params.update(body)
    return params


class _MotoResolver:
    """Names -> ARNs that only the emulator's state knows (a secret's random suffix, a KMS alias)."""

    def secret_arn(self, secret_id: str, region: str, account: str) -> str:
        if secret_id.startswith("arn:"):
            return secret_id
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        secrets = secretsmanager_backends[account][region].secrets
        secret = secrets.get(secret_id)
        return (
            str(secret.arn)
            if secret is not None
            else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"
        )

    def kms_key_arn(self, key_id: str, region: str, account: str) -> str:
        from moto.kms.models import kms_backends  # noqa: PLC0415

        backend = kms_backends[account][region]
        try:
            return str(backend.describe_key(key_id).arn)
        except Exception:
            return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"

    def object_exists(self, bucket: str, key: str, account: str) -> bool:
        from moto.s3.models import FakeKey, s3_backends  # noqa: PLC0415

        try:
            found = s3_backends[account]["aws"].get_bucket(bucket)
        except Exception:
            return True
        return isinstance(found.keys.get(key), FakeKey)


_RESOLVER = _MotoResolver()


# -- the decision -------------------------------------------------------------------------------------


def _decide(principal: _Principal, check: Check, account: str) -> Decision:
    request = AuthorizationRequest(
        principal_arn=principal.arn,
        principal_account=account,
        action=check.action,
        resource=check.resource,
        context={**_context(principal, account), **{key: list(values) for key, values in check.context}},
    )
    # KMS: a key is used only as its key policy allows (directly, or by delegating to the account's IAM).
    key_policy = _key_policy(check.resource, account)
    if key_policy is not None:
        return evaluate(request, principal.policies, key_policy, resource_policy_required=True)
    return evaluate(request, principal.policies, _resource_policy(check.resource, account))


def _key_policy(resource: str, account: str) -> NamedPolicy | None:
    """A KMS key's policy when `resource` is a key of the emulator; None for anything else."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[2] != "kms" or not parts[5].startswith("key/"):
        return None
    from moto.kms.models import kms_backends  # noqa: PLC0415

    try:
        key = kms_backends[account][parts[3]].keys.get(parts[5].removeprefix("key/"))
    except KeyError:
        return None
    return NamedPolicy("key policy", key.policy) if key is not None and key.policy else None


def _context(principal: _Principal, account: str) -> Mapping[str, Any]:
    return {
        # Loopback stands in for AWS's HTTPS endpoints.
        "aws:SecureTransport": True,
        "aws:PrincipalAccount": account,
        "aws:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _resource_policy(resource: str, account: str) -> NamedPolicy | None:
    """The policy attached to the resource, for the services whose resources carry one."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return None
    service, region, _, name = parts[2], parts[3], parts[4], parts[5]
    try:
        if service == "s3":
            from moto.s3.models import s3_backends  # noqa: PLC0415

            bucket = s3_backends[account]["aws"].buckets.get(name.split("/", 1)[0])
            policy = bucket.policy if bucket is not None else None
            return (
                NamedPolicy("bucket policy", policy.decode() if isinstance(policy, bytes) else policy)
                if policy
                else None
            )
        if service == "sqs":
            from moto.sqs.models import sqs_backends  # noqa: PLC0415

            queue = sqs_backends[account][region].queues.get(name)
            return NamedPolicy("queue policy", queue.policy) if queue is not None and queue.policy else None
        if service == "sns":
            from moto.sns.models import sns_backends  # noqa: PLC0415

            topic = sns_backends[account][region].topics.get(resource)
            return NamedPolicy("topic policy", topic.policy) if topic is not None and topic.policy else None
    except KeyError:
        return None
    return None


def _deny(response: Any, denial: Denial) -> NoReturn:
    """Raise AWS's AccessDenied for this protocol: S3's XML error, JSON services' AccessDeniedException,
    the query services' XML AccessDenied; 403 in every case."""
    from moto.core.exceptions import AccessDeniedError, JsonRESTError  # noqa: PLC0415
    from moto.s3.exceptions import S3ClientError  # noqa: PLC0415

    message = denial.message()
    if response.service_name == "s3":
        raise S3ClientError("AccessDenied", message)
    if _protocol(response) in _JSON_PROTOCOLS:
        error: Any = JsonRESTError("AccessDeniedException", message)
    else:
        error = AccessDeniedError(denial.principal, denial.action)
        # AccessDeniedError words its own message without the resource; build the XML body with ours.
        super(AccessDeniedError, error).__init__("AccessDenied", message)
        if _protocol(response) == "rest-xml":
            # REST XML services (Route 53) answer <ErrorResponse><Error>, without the query protocol's
            # <Errors> wrapper, or the SDKs read no error code.
            body = {
                "ErrorResponse": {"Error": {"Type": "Sender", "Code": "AccessDenied", "Message": message}}
            }
            error.description = xmltodict.unparse(body, full_document=True)
    error.code = 403
    raise error


def _protocol(response: Any) -> str:
    from moto.core.responses import get_service_model  # noqa: PLC0415

    try:
        return str(get_service_model(response.boto3_service_name).protocol)
    except Exception:
        return "query"
