"""Request signatures, recomputed as AWS recomputes them: presigned URLs in SigV4 (AWS4-HMAC-SHA256, one
region) and SigV4A (AWS4-ECDSA-P256-SHA256, a region set, what S3 Multi-Region Access Points take), and
header-signed SigV4 requests to services localcloud serves itself (API Gateway's AWS_IAM routes:
`verify_header_signed`).

A presigned URL carries its credential scope, date, expiry, signed headers and signature in its query.
The canonical request is rebuilt from the request as received (method, the path as sent, the query
without the signature, the signed headers, UNSIGNED-PAYLOAD) and the signature recomputed with the
secret of the access key named: an HMAC chain for SigV4, an ECDSA P-256 key derived from the secret for
SigV4A (NIST SP 800-108 counter-mode KDF, as AWS's common runtime derives it). A tampered path, query or
host, an unknown key or a wrong secret fails; `SignatureError` says which.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

SIGV4 = "AWS4-HMAC-SHA256"
SIGV4A = "AWS4-ECDSA-P256-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MAX_EXPIRES_SECONDS = 7 * 24 * 3600  # SigV4's longest presigned URL

SecretLookup = Callable[[str], str]  # access key id -> its secret; KeyError when no principal holds it


class SignatureError(Exception):
    """The signature is refused; `code` and the message say why, as the service's error would."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PresignedRequest:
    method: str
    raw_path: str  # as sent: still percent-encoded
    query_string: str  # as sent
    headers: Mapping[str, str]

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return ""


def is_presigned(query_string: str) -> bool:
    return any(name == "X-Amz-Signature" for name, _ in parse_qsl(query_string, keep_blank_values=True))


def verify(
    request: PresignedRequest,
    secret_of: SecretLookup,
    now: float | None = None,
    *,
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> str:
    """The access key id that signed a valid, unexpired presigned request; SignatureError otherwise.
    `payload_hash` is what the canonical request ends with: S3's UNSIGNED-PAYLOAD, or (other services,
    API Gateway among them, as botocore's SigV4QueryAuth signs) the SHA-256 of the empty body."""
    fields = dict(parse_qsl(request.query_string, keep_blank_values=True))
    algorithm = fields.get("X-Amz-Algorithm", "")
    if algorithm not in {SIGV4, SIGV4A}:
        raise SignatureError(
            "AuthorizationQueryParametersError", f"unsupported X-Amz-Algorithm {algorithm!r}"
        )
    missing = [
        name
        for name in (
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
        )
        if not fields.get(name)
    ]
    if missing:
        raise SignatureError(
            "AuthorizationQueryParametersError", f"the presigned URL lacks {', '.join(missing)}"
        )
    access_key_id, scope = (
        fields["X-Amz-Credential"].split("/", 1) if "/" in fields["X-Amz-Credential"] else ("", "")
    )
    _check_expiry(fields["X-Amz-Date"], fields["X-Amz-Expires"], now)
    try:
        secret = secret_of(access_key_id)
    except KeyError:
        raise SignatureError(
            "InvalidAccessKeyId",
            f"The AWS Access Key Id you provided does not exist in our records: {access_key_id}",
        ) from None
    canonical = _canonical_request(request, fields, payload_hash)
    string_to_sign = "\n".join(
        [algorithm, fields["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    if algorithm == SIGV4:
        valid = hmac.compare_digest(
            _sigv4_signature(secret, scope, string_to_sign), fields["X-Amz-Signature"]
        )
    else:
        valid = _sigv4a_valid(access_key_id, secret, string_to_sign, fields["X-Amz-Signature"])
    if not valid:
        raise SignatureError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided: the URL was "
            "changed after it was signed, or signed with another secret",
        )
    return access_key_id


def _check_expiry(signed_at: str, expires: str, now: float | None) -> None:
    try:
        issued = datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        lifetime = int(expires)
    except ValueError:
        raise SignatureError(
            "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is malformed"
        ) from None
    if not 0 < lifetime <= MAX_EXPIRES_SECONDS:
        raise SignatureError(
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be between 1 and {MAX_EXPIRES_SECONDS} seconds",
        )
    if (time.time() if now is None else now) > issued + lifetime:
        raise SignatureError(
            "AccessDenied", "Request has expired: the presigned URL's X-Amz-Expires has passed"
        )


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _canonical_request(request: PresignedRequest, fields: Mapping[str, str], payload_hash: str) -> str:
    pairs = [
        (name, value)
        for name, value in parse_qsl(request.query_string, keep_blank_values=True)
        if name != "X-Amz-Signature"
    ]
    query = "&".join(f"{_uri_encode(name)}={_uri_encode(value)}" for name, value in sorted(pairs))
    signed = fields["X-Amz-SignedHeaders"].split(";")
    headers = "".join(f"{name}:{' '.join(request.header(name).split())}\n" for name in signed)
    # S3 signs the path as sent (no second encoding, no normalisation).
    return "\n".join(
        [
            request.method,
            request.raw_path or "/",
            query,
            headers,
            fields["X-Amz-SignedHeaders"],
            payload_hash,
        ]
    )


def _sigv4_signature(secret: str, scope: str, string_to_sign: str) -> str:
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def sigv4a_public_key(access_key_id: str, secret: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key SigV4A signs with for these credentials (derived, as AWS derives it, never stored)."""
    input_key = ("AWS4A" + secret).encode()
    for counter in range(1, 255):
        fixed_input = (
            (1).to_bytes(4, "big")
            + SIGV4A.encode()
            + b"\x00"
            + access_key_id.encode()
            + bytes([counter])
            + (256).to_bytes(4, "big")
        )
        candidate = int.from_bytes(hmac.new(input_key, fixed_input, hashlib.sha256).digest(), "big")
        if candidate <= _P256_ORDER - 2:
            return ec.derive_private_key(candidate + 1, ec.SECP256R1()).public_key()
    raise SignatureError("SignatureDoesNotMatch", "no SigV4A key derives from these credentials")


def _sigv4a_valid(access_key_id: str, secret: str, string_to_sign: str, signature_hex: str) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
        sigv4a_public_key(access_key_id, secret).verify(
            signature, string_to_sign.encode(), ec.ECDSA(hashes.SHA256())
        )
    except (ValueError, InvalidSignature):
        return False
    return True


# -- header-signed requests (Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...)

MAX_CLOCK_SKEW_SECONDS = 15 * 60  # AWS refuses a signature dated more than 15 minutes away


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str  # scheme://host/path?query as the client sent it (path still percent-encoded)
    headers: Mapping[str, str]
    body: bytes


def verify_header_signed(
    request: SignedRequest,
    secret_of: SecretLookup,
    service: str,
    now: float | None = None,
    *,
    region: str | None = None,
) -> str:
    """The access key id that signed `request` (SigV4 in its Authorization header) for `service` (and, when
    given, `region`: an endpoint refuses a signature scoped to another); raises SignatureError (code
    MissingAuthenticationToken, IncompleteSignature, InvalidSignatureException, SignatureExpired,
    UnrecognizedClientException) otherwise."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415 - botocore is the SDK's own signer
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415

    headers = {name.lower(): value for name, value in request.headers.items()}
    authorization = headers.get("authorization", "")
    if not authorization:
        raise SignatureError("MissingAuthenticationToken", "Missing Authentication Token")
    fields = _authorization_fields(authorization)
    credential = fields.get("Credential", "").split("/")
    if len(credential) != 5 or not fields.get("SignedHeaders") or not fields.get("Signature"):
        raise SignatureError(
            "IncompleteSignature", "Authorization header requires Credential, SignedHeaders and Signature"
        )
    access_key_id, _, signed_region, signed_service, _ = credential
    if signed_service != service:
        raise SignatureError(
            "InvalidSignatureException", f"Credential should be scoped to service '{service}'"
        )
    if region is not None and signed_region != region:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{signed_region}'",
        )
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise SignatureError("IncompleteSignature", "the request has no valid X-Amz-Date") from None
    if abs((time.time() if now is None else now) - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError(
            "SignatureExpired", f"Signature expired: {amz_date} is more than 15 minutes away"
        )
    try:
        secret = secret_of(access_key_id)
    except KeyError:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid"
        ) from None
    signed = fields["SignedHeaders"].split(";")
    replayed = AWSRequest(
        method=request.method,
        url=request.url,
        headers={name: headers.get(name, "") for name in signed},
        data=request.body,
    )
    replayed.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(access_key_id, secret, headers.get("x-amz-security-token")), service, signed_region
    )
    canonical = signer.canonical_request(replayed)
    expected = signer.signature(signer.string_to_sign(replayed, canonical), replayed)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method.",
        )
    return access_key_id


def _authorization_fields(authorization: str) -> dict[str, str]:
    _, _, rest = authorization.partition(" ")
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields
