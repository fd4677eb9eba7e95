"""Post sample audit messages to POST /audit (the seed's test client).

    python -m scripts.audit_client --url <auditUrl from `pulumi stack output` or `python -m localcloud
        outputs`> [--size 1048576] [--count 3] [--idempotency-key KEY] [--source-system erp]
        [--message-type invoice.created] [--payload-file FILE] [--role-arn auditCallerRoleArn] [--region R]

POST /audit is an AWS_IAM route: each request is signed (SigV4) with the default AWS credentials (the
environment, ~/.aws, an instance role), or, with --role-arn, as a session of that role (the stack's
auditCallerRoleArn) assumed with them.

Each message is {"payload": <base64 of random bytes, or of --payload-file>, "metadata": {sourceSystem,
messageType, producerTimestamp}}. One line per message: the HTTP status, then the message id (202) or
the error the API named. Exit code 1 when any message was refused. An Idempotency-Key stores one payload:
sent again with the same payload (--payload-file) it replays the first reply, with another (new random
bytes) it is refused with 422.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from scripts.api_auth import Caller, IamCaller, assume_caller_role

DEFAULT_SOURCE_SYSTEM = "audit-client"
DEFAULT_MESSAGE_TYPE = "sample.audit-record"


@dataclass(frozen=True)
class AuditResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def base64_payload(size_chars: int, *, seed: bytes | None = None) -> str:
    """Base64 text of exactly size_chars characters (a multiple of 4), from random bytes or `seed`."""
    if size_chars <= 0 or size_chars % 4:
        raise ValueError(f"a base64 payload's length is a positive multiple of 4, not {size_chars}")
    raw = seed if seed is not None else os.urandom(size_chars // 4 * 3)
    text = base64.b64encode(raw).decode("ascii")
    if len(text) != size_chars:
        raise ValueError(f"{len(raw)} seed bytes encode to {len(text)} characters, not {size_chars}")
    return text


def sample_message(
    payload: Any,
    *,
    source_system: str = DEFAULT_SOURCE_SYSTEM,
    message_type: str = DEFAULT_MESSAGE_TYPE,
    produced_at: datetime | None = None,
    **extra_metadata: Any,
) -> dict[str, Any]:
    """The POST /audit body for a payload (base64 text or any JSON value)."""
    timestamp = (produced_at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    return {
        "payload": payload,
        "metadata": {
            "sourceSystem": source_system,
            "messageType": message_type,
            "producerTimestamp": timestamp,
            **extra_metadata,
        },
    }


def post_message(
    url: str,
    message: dict[str, Any] | bytes,
    *,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
    caller: Caller | None = None,
    timeout_seconds: float = 60.0,
) -> AuditResponse:
    """POST one message (a dict, or a body already encoded), authenticated as `caller` (None sends it
    unsigned, which the API refuses); 4xx/5xx are returned, not raised."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    sent = {"Content-Type": "application/json", "User-Agent": "regionflow-audit-client/1.0"}
    sent.update(headers or {})
    if idempotency_key is not None:
        sent["Idempotency-Key"] = idempotency_key
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError(f"audit messages go over HTTPS (or to a loopback endpoint), not to {url}")
    if caller is not None:
        sent = caller.headers("POST", url, body, sent)
    prepared = urllib.request.Request(url, data=body, method="POST", headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(prepared, timeout=timeout_seconds) as response:  # noqa: S310
            status, raw, reply_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, reply_headers = error.code, error.read(), dict(error.headers)
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"error": "not_json", "message": raw[:500].decode("utf-8", "replace")}
    return AuditResponse(status, parsed if isinstance(parsed, dict) else {"body": parsed}, reply_headers)


def describe(response: AuditResponse) -> str:
    if response.status == 202:
        return f"202 accepted messageId={response.body.get('messageId')}"
    return f"{response.status} {response.body.get('error', 'error')}: {response.body.get('message')}"


def default_caller(*, role_arn: str | None, region: str | None) -> IamCaller:
    """Signs with the SDK's credentials, or as a session of `role_arn` assumed with them."""
    session = boto3.Session(region_name=region)
    signing_region = session.region_name or "us-east-1"
    if role_arn:
        return assume_caller_role(
            session.client("sts"), role_arn, session_name="audit-client", region=signing_region
        )
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials found: POST /audit takes SigV4-signed requests only")
    return IamCaller(credentials, signing_region)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Post sample audit messages to POST /audit.")
    parser.add_argument("--url", required=True, help="the audit endpoint (stack output auditUrl)")
    parser.add_argument("--size", type=int, default=1024, help="payload size in base64 characters")
    parser.add_argument("--count", type=int, default=1, help="how many messages to post")
    parser.add_argument(
        "--idempotency-key",
        help="sent with every message: the API stores one payload under it, so give --payload-file "
        "(each random payload differs: 422)",
    )
    parser.add_argument("--source-system", default=DEFAULT_SOURCE_SYSTEM)
    parser.add_argument("--message-type", default=DEFAULT_MESSAGE_TYPE)
    parser.add_argument("--payload-file", type=Path, help="send this file (base64) instead of random bytes")
    parser.add_argument("--role-arn", help="sign as a session of this role (stack output auditCallerRoleArn)")
    parser.add_argument(
        "--region", help="the API's region when its URL does not name it (default: the SDK's)"
    )
    args = parser.parse_args(argv)

    caller = default_caller(role_arn=args.role_arn, region=args.region)
    refused = 0
    for _ in range(args.count):
        if args.payload_file is not None:
            payload = base64.b64encode(args.payload_file.read_bytes()).decode("ascii")
        else:
            payload = base64_payload(max(4, args.size - args.size % 4))
        message = sample_message(payload, source_system=args.source_system, message_type=args.message_type)
        response = post_message(args.url, message, idempotency_key=args.idempotency_key, caller=caller)
        print(describe(response))
        refused += response.status != 202
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
