"""POST Object (browser-based uploads) as S3 authenticates it: a SigV4-signed POST policy, its expiration and
every condition, content-length-range included, then the signer's own s3:PutObject on the key.

moto 5.2.5 (`S3Response._bucket_response_post`) stores whatever a form POST carries: it reads no policy and
checks no signature, expiration or condition, so a 1 GB file posted under a 10 MB content-length-range is
stored. Under localcloud's IAM enforcement the same form, which carries no Authorization header, is refused
as anonymous instead, so no presigned POST works at all. This patch does what S3 does with such a form
(Amazon S3 API Reference: "Authenticating Requests in Browser-Based Uploads Using POST (AWS Signature
Version 4)", "Creating a POST Policy"), in this order:

1. the form is SigV4 (x-amz-algorithm AWS4-HMAC-SHA256, x-amz-credential, x-amz-date, policy,
   x-amz-signature); a SigV2 form (AWSAccessKeyId, signature) is refused, as S3 refuses SigV2 for every
   bucket created since June 2020;
2. the credential is scoped to the date signed, to s3 and to the bucket's region; its access key is known,
   and a session key comes with that session's token;
3. the signature, HMAC-SHA256 of the base64 policy under the credential's signing key, is recomputed with
   the key's secret;
4. the policy has not expired;
5. every form field (except policy, x-amz-signature, file and x-ignore-*) is named by a condition, and
   every condition holds (exact match, eq, starts-with; the bucket condition against the bucket posted to);
6. the file's size lies within content-length-range: EntityTooLarge or EntityTooSmall (400) otherwise;
7. the signer may s3:PutObject the key: its identity policies and the bucket policy decide, as for any call.

Only then does moto store the object (and send its event). A form without a policy is not a browser-based
upload and is left to moto and the enforcement (anonymous: refused). Refusals answer in S3's XML error
shape with S3's status codes and messages. The patch is process-global, like moto, but acts only while an
emulator enforces IAM: moto alone (mock_aws in another test of the same process) keeps its behaviour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from localcloud.core.clients import DEFAULT_ACCOUNT_ID, DUMMY_ACCESS_KEY_ID
from localcloud.core.moto_version import applied_once
from localcloud.services.iam.enforcement import active, authorize_session, secret_of
from localcloud.services.iam.request_authorization import Check

SIGV4 = "AWS4-HMAC-SHA256"
# Fields S3 reads without a condition naming them: the policy, its signature and the file itself.
UNCONDITIONED_FIELDS = frozenset({"policy", "x-amz-signature", "file"})
IGNORED_FIELD_PREFIX = "x-ignore-"
_EXPIRATION_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")

SessionTokenLookup = Callable[[str], str | None]  # access key id -> its session's token; None: a user key


class PostPolicyRefused(Exception):  # noqa: N818 - named as S3 words it: the POST is refused
    """The POST is refused; `status`, `code`, the message and `details` make S3's XML error."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})

    def response(self) -> tuple[int, dict[str, str], bytes]:
        elements = {"Code": self.code, "Message": self.message, **self.details}
        elements["RequestId"] = secrets.token_hex(8).upper()
        body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements.items())
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'
        return self.status, {"content-type": "application/xml"}, xml.encode()


def _policy_refusal(message: str) -> PostPolicyRefused:
    return PostPolicyRefused(403, "AccessDenied", f"Invalid according to Policy: {message}")


@dataclass(frozen=True)
class PostForm:
    """A browser-based upload as S3 receives it: the form's fields (names lower-cased, as S3 matches them
    without regard to case), the bucket posted to and its region, the file's size in bytes."""

    bucket: str
    bucket_region: str
    file_size: int
    fields: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.fields.get(name.lower(), "")


@dataclass(frozen=True)
class AcceptedPost:
    """Who signed an accepted POST, and the key it may write."""

    access_key_id: str
    key: str


def verify(
    form: PostForm,
    *,
    secret_lookup: Callable[[str], str],
    session_token_of: SessionTokenLookup,
    now: datetime | None = None,
) -> AcceptedPost:
    """Steps 1-6 of the module's list: the signer of a valid form, else PostPolicyRefused."""
    if form.get("AWSAccessKeyId") or form.get("signature"):
        raise PostPolicyRefused(
            400,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        )
    missing = [
        name
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key")
        if not form.get(name)
    ]
    if missing:
        raise PostPolicyRefused(
            400, "InvalidArgument", f"Bucket POST must contain a field named '{missing[0]}'."
        )
    if form.get("x-amz-algorithm") != SIGV4:
        raise PostPolicyRefused(
            400, "InvalidArgument", f"Unsupported x-amz-algorithm {form.get('x-amz-algorithm')!r}."
        )
    access_key_id, scope = _credential(form)
    secret = _secret(access_key_id, secret_lookup)
    _check_session_token(form, access_key_id, session_token_of)
    encoded_policy = form.get("policy")
    expected = _signature(secret, scope, encoded_policy)
    if not hmac.compare_digest(expected, form.get("x-amz-signature")):
        raise PostPolicyRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key "
            "and signing method.",
        )
    policy = _decoded_policy(encoded_policy)
    _check_expiration(policy, now or datetime.now(UTC))
    _check_conditions(form, _conditions(policy))
    return AcceptedPost(access_key_id=access_key_id, key=form.get("key"))


def _credential(form: PostForm) -> tuple[str, str]:
    """(access key id, scope) of x-amz-credential, refused unless scoped to the date signed, the bucket's
    region and s3."""
    parts = form.get("x-amz-credential").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3":
        raise PostPolicyRefused(
            400,
            "AuthorizationQueryParametersError",
            "x-amz-credential must be <access key id>/<date>/<region>/s3/aws4_request.",
        )
    access_key_id, date, region = parts[0], parts[1], parts[2]
    if not form.get("x-amz-date").startswith(date):
        raise PostPolicyRefused(
            400,
            "AuthorizationQueryParametersError",
            f"The credential's date {date} is not the date of x-amz-date {form.get('x-amz-date')}.",
        )
    if region != form.bucket_region:
        raise PostPolicyRefused(
            400,
            "AuthorizationQueryParametersError",
            f"Error parsing the X-Amz-Credential parameter; the region '{region}' is wrong; expecting "
            f"'{form.bucket_region}'",
            {"Region": form.bucket_region},
        )
    return access_key_id, "/".join(parts[1:])


def _secret(access_key_id: str, secret_lookup: Callable[[str], str]) -> str:
    try:
        return secret_lookup(access_key_id)
    except KeyError:
        raise PostPolicyRefused(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            {"AWSAccessKeyId": access_key_id},
        ) from None


def _check_session_token(form: PostForm, access_key_id: str, session_token_of: SessionTokenLookup) -> None:
    expected = session_token_of(access_key_id)
    if expected is not None and not hmac.compare_digest(expected, form.get("x-amz-security-token")):
        raise PostPolicyRefused(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")


def _signature(secret: str, scope: str, encoded_policy: str) -> str:
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, encoded_policy.encode(), hashlib.sha256).hexdigest()


def _decoded_policy(encoded_policy: str) -> Mapping[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded_policy, validate=True))
    except (binascii.Error, ValueError):
        raise PostPolicyRefused(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON or not base64."
        ) from None
    if not isinstance(policy, dict):
        raise PostPolicyRefused(400, "InvalidPolicyDocument", "Invalid Policy: the policy must be an object.")
    return policy


def _check_expiration(policy: Mapping[str, Any], now: datetime) -> None:
    text = policy.get("expiration")
    expires = None
    for layout in _EXPIRATION_FORMATS:
        try:
            expires = datetime.strptime(str(text), layout).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    if expires is None:
        raise PostPolicyRefused(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: " + repr(text)
        )
    if now >= expires:
        raise _policy_refusal("Policy expired.")


def _conditions(policy: Mapping[str, Any]) -> Sequence[Any]:
    conditions = policy.get("conditions")
    if not isinstance(conditions, list):
        raise PostPolicyRefused(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
    return conditions


def _check_conditions(form: PostForm, conditions: Sequence[Any]) -> None:
    """Step 5, then step 6 (the size), as S3 reports a policy mismatch before the size of the file."""
    covered: set[str] = set()
    size_range: tuple[int, int] | None = None
    for condition in conditions:
        if isinstance(condition, dict):
            for name, value in condition.items():
                _require(form, condition, name.lower(), "eq", value)
                covered.add(name.lower())
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] == "content-length-range":
            size_range = _size_range(condition)
        elif (
            isinstance(condition, list)
            and len(condition) == 3
            and str(condition[0]).lower() in ("eq", "starts-with")
            and isinstance(condition[1], str)
            and condition[1].startswith("$")
        ):
            name = condition[1][1:].lower()
            _require(form, condition, name, str(condition[0]).lower(), condition[2])
            covered.add(name)
        else:
            raise PostPolicyRefused(
                400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}"
            )
    extra = sorted(
        name
        for name in form.fields
        if name not in covered
        and name not in UNCONDITIONED_FIELDS
        and not name.startswith(IGNORED_FIELD_PREFIX)
    )
    if extra:
        raise _policy_refusal(f"Extra input fields: {', '.join(extra)}")
    if size_range is not None:
        _check_size(form.file_size, size_range)


def _require(form: PostForm, condition: object, name: str, operator: str, expected: object) -> None:
    actual = form.bucket if name == "bucket" else form.get(name)
    holds = actual == str(expected) if operator == "eq" else actual.startswith(str(expected))
    if not holds:
        raise _policy_refusal(f"Policy Condition failed: {json.dumps(condition)}")


def _size_range(condition: Sequence[Any]) -> tuple[int, int]:
    try:
        minimum, maximum = int(condition[1]), int(condition[2])
    except (TypeError, ValueError):
        raise PostPolicyRefused(
            400,
            "InvalidPolicyDocument",
            f"Invalid Policy: Invalid content-length-range: {json.dumps(condition)}",
        ) from None
    return minimum, maximum


def _check_size(size: int, size_range: tuple[int, int]) -> None:
    minimum, maximum = size_range
    if size > maximum:
        raise PostPolicyRefused(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            {"ProposedSize": str(size), "MaxSizeAllowed": str(maximum)},
        )
    if size < minimum:
        raise PostPolicyRefused(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            {"ProposedSize": str(size), "MinSizeAllowed": str(minimum)},
        )


# -- the patch ----------------------------------------------------------------------------------------


def session_token_of(access_key_id: str) -> str | None:
    """The session token of an STS session's key; None for any other key (an IAM user's, the control
    plane's), which needs none."""
    from moto.sts.models import sts_backends  # noqa: PLC0415 - moto is slow to import

    for session in sts_backends[DEFAULT_ACCOUNT_ID]["aws"].assumed_roles:
        if session.access_key_id == access_key_id:
            return str(session.session_token)
    return None


def authorize(accepted: AcceptedPost, bucket: str) -> None:
    """Step 7: the signer's s3:PutObject on the key, decided and counted as the enforcement decides any call
    (the control plane's key, which the enforcement does not evaluate, excepted)."""
    if accepted.access_key_id == DUMMY_ACCESS_KEY_ID:
        return
    resource = f"arn:aws:s3:::{bucket}/{accepted.key}"
    denial = authorize_session(accepted.access_key_id, [Check("s3:PutObject", resource)])
    if denial is not None:
        raise PostPolicyRefused(403, "AccessDenied", denial.message())


def _form_of(response: Any, bucket_name: str) -> PostForm | None:
    """The browser-based upload a POST to a bucket is, or None for any other POST (no policy field)."""
    fields = {str(name).lower(): str(value) for name, value in response.form_data.items()}
    if "policy" not in fields:
        return None
    fields.pop("file", None)
    from moto.s3.models import s3_backends  # noqa: PLC0415

    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets.get(bucket_name)
    body = response.body
    size = len(body.encode() if isinstance(body, str) else body or b"")
    return PostForm(
        bucket=bucket_name,
        bucket_region=str(bucket.region_name) if bucket is not None else "",
        file_size=size,
        fields=fields,
    )


def _already_authorized(*_args: Any, **_kwargs: Any) -> None:
    """The POST policy's signer was authorized for the key (step 7): moto's own check would see no
    Authorization header and refuse the request as anonymous."""


def _checked_post(original: Callable[..., Any]) -> Callable[..., Any]:
    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        # moto alone (no emulator running in the process, e.g. under mock_aws) keeps its own behaviour.
        form = _form_of(self, bucket_name) if active() is not None else None
        if form is None or "delete" in self.querystring:
            return original(self, request, bucket_name)
        try:
            accepted = verify(form, secret_lookup=secret_of, session_token_of=session_token_of)
            authorize(accepted, bucket_name)
        except PostPolicyRefused as refused:
            return _with_cors_headers(self, refused.response())
        self._authenticate_and_authorize_s3_action = _already_authorized
        return _with_cors_headers(self, original(self, request, bucket_name))

    return _bucket_response_post


def _with_cors_headers(response: Any, answer: Any) -> Any:
    """`answer` with the headers the bucket's CORS rules give a browser's POST from its Origin, refused or
    not, as S3 sends them (moto adds them to other operations' answers, not to a form POST's)."""
    status, headers, body = answer
    return status, {**headers, **response._get_cors_headers_other()}, body


@applied_once
def apply() -> None:
    """Idempotent: a POST to a bucket carrying a policy is checked as S3 checks it before moto stores it."""
    from moto.s3.responses import S3Response  # noqa: PLC0415

    S3Response._bucket_response_post = _checked_post(S3Response._bucket_response_post)  # type: ignore[method-assign]
