"""Audit ingest, end to end: a 5 MB record archived and catalogued, a retried request, Redis down.

The scenario steps the demo and the e2e tests (tests/e2e/test_audit_e2e.py) share. Every POST goes through
the seed's client (scripts/audit_client.py), as a producer would send it:
1. a 5,000,000-character base64 payload -> 202, the workflow archives it to S3, records its metadata row,
   releases the Redis copy and publishes the final state to SNS;
2. the same request with the same Idempotency-Key -> the first message id, nothing stored twice;
3. Redis down -> 503 naming Redis, and the raw request salvaged to failures/ with a notice on the DLQ.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis

from demos.doors import caller
from demos.waiting import wait_until
from handlers.audit.redis_store import payload_key
from localcloud.core.cloud import LocalCloud
from localcloud.services.elasticache.redis_server import RedisServer
from scripts.audit_client import AuditResponse, base64_payload, post_message, sample_message

Report = Callable[[str], None]
DEMO_PAYLOAD_CHARS = 5_000_000  # "5 MB": the body stays under the function URL's 6 MiB
# The Redis the audit functions use, as LocalCloud names its stand-in: the local stack sets this config key
# (pyproject.toml's [tool.localcloud] redis-endpoint-settings), the AWS stack creates this replication group.
AUDIT_REDIS_ENDPOINT_SETTING = "regionflow:auditRedisEndpoint"
AUDIT_REDIS_GROUP = "audit-redis"
ARCHIVE_PREFIX = "archive/"
FAILURES_PREFIX = "failures/"
FINAL_EXECUTION_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Archive retries transient errors (1 + 2 + 4 s at most) before the failure path salvages the message.
EXECUTION_TIMEOUT_SECONDS = 90.0


def post(
    cloud: LocalCloud,
    message: dict[str, Any] | bytes,
    *,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> AuditResponse:
    """POST /audit through the seed's client, signed as the audit caller role."""
    return post_message(
        cloud.exports["auditUrl"],
        message,
        idempotency_key=idempotency_key,
        headers=headers,
        caller=caller(cloud, "audit"),
    )


def payload_sha256(payload: str) -> str:
    """The checksum the API records for a string payload: sha256 of its UTF-8 bytes, as sent."""
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# ---- the workflow --------------------------------------------------------------------------------
def execution_arn(cloud: LocalCloud, message_id: str) -> str:
    """The ingest API names each execution after its message id."""
    machine: str = cloud.exports["auditStateMachineArn"]
    return f"{machine.replace(':stateMachine:', ':execution:')}:{message_id}"


def executions_named(cloud: LocalCloud, message_id: str) -> list[dict[str, Any]]:
    return [execution for execution in all_executions(cloud) if execution["name"] == message_id]


def all_executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    paginator = cloud.client("stepfunctions").get_paginator("list_executions")
    return [
        execution
        for page in paginator.paginate(stateMachineArn=cloud.exports["auditStateMachineArn"])
        for execution in page["executions"]
    ]


def wait_for_execution(
    cloud: LocalCloud, message_id: str, timeout_seconds: float = EXECUTION_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """The message's execution once it has finished (any final status)."""
    sfn = cloud.client("stepfunctions")
    arn = execution_arn(cloud, message_id)

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return execution if execution["status"] in FINAL_EXECUTION_STATUSES else None

    execution: dict[str, Any] = wait_until(finished, f"the workflow of message {message_id}", timeout_seconds)
    return execution


# ---- where a message's copies live ---------------------------------------------------------------
def object_keys(cloud: LocalCloud, prefix: str) -> list[str]:
    paginator = cloud.client("s3").get_paginator("list_objects_v2")
    return [
        item["Key"]
        for page in paginator.paginate(Bucket=cloud.exports["auditArchiveBucket"], Prefix=prefix)
        for item in page.get("Contents", [])
    ]


def object_versions(cloud: LocalCloud, prefix: str) -> list[dict[str, Any]]:
    """Every version under prefix: a payload archived twice shows as two versions of its key."""
    paginator = cloud.client("s3").get_paginator("list_object_versions")
    return [
        version
        for page in paginator.paginate(Bucket=cloud.exports["auditArchiveBucket"], Prefix=prefix)
        for version in page.get("Versions", [])
    ]


def keys_of(cloud: LocalCloud, message_id: str, prefix: str) -> list[str]:
    """The message's objects under prefix: keys are <prefix><yyyy/mm/dd>/<messageId>.<ext>."""
    return [key for key in object_keys(cloud, prefix) if key.rsplit("/", 1)[-1].startswith(f"{message_id}.")]


def object_bytes(cloud: LocalCloud, key: str) -> bytes:
    body: bytes = (
        cloud.client("s3").get_object(Bucket=cloud.exports["auditArchiveBucket"], Key=key)["Body"].read()
    )
    return body


def metadata_row(cloud: LocalCloud, message_id: str) -> dict[str, Any] | None:
    table = cloud.dynamodb_table(cloud.exports["auditMetadataTable"])
    item = table.get_item(Key={"messageId": message_id}, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def published_final_state(cloud: LocalCloud, message_id: str) -> dict[str, Any] | None:
    """The final state the workflow published to the audit topic for the message, if it has."""
    for published in cloud.sns_messages(cloud.exports["auditTopicArn"]):
        state = json.loads(published["message"])
        if isinstance(state, dict) and state.get("messageId") == message_id:
            return state
    return None


def wait_for_final_state(cloud: LocalCloud, message_id: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
    state: dict[str, Any] = wait_until(
        partial(published_final_state, cloud, message_id),
        f"the SNS message of message {message_id}",
        timeout_seconds,
    )
    return state


def failure_record(cloud: LocalCloud, message_id: str) -> dict[str, Any] | None:
    """The salvaged document in the archive bucket's failures/ prefix, if there is one."""
    keys = keys_of(cloud, message_id, FAILURES_PREFIX)
    if not keys:
        return None
    record: dict[str, Any] = json.loads(object_bytes(cloud, keys[0]))
    return {**record, "failureKey": keys[0]}


def dlq_notices(cloud: LocalCloud) -> list[dict[str, Any]]:
    """Every notice in the audit DLQ, left there: one sweep hides each message once, then releases it.

    Peeking instead of consuming keeps tests independent: each looks for its own message id.
    """
    sqs = cloud.client("sqs")
    url = cloud.exports["auditDlqUrl"]
    received: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
    ).get("Messages", []):
        received += batch
    for message in received:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [json.loads(message["Body"]) for message in received]


def wait_for_dlq_notice(cloud: LocalCloud, message_id: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
    def notice() -> dict[str, Any] | None:
        return next((n for n in dlq_notices(cloud) if n.get("messageId") == message_id), None)

    found: dict[str, Any] = wait_until(notice, f"a DLQ notice for message {message_id}", timeout_seconds)
    return found


# ---- Redis ---------------------------------------------------------------------------------------
def redis_server(cloud: LocalCloud) -> RedisServer:
    servers = cloud.redis_servers
    return servers.get(AUDIT_REDIS_ENDPOINT_SETTING) or servers[AUDIT_REDIS_GROUP]


def redis_client(cloud: LocalCloud) -> redis.Redis:
    """A client of the redis-server the deployed functions use, connecting as they must (the group's AUTH
    token and TLS, verified against localcloud's CA, where the stack asks for them)."""
    return redis.Redis(**redis_server(cloud).connection_options(), socket_timeout=2.0)


def redis_holds(cloud: LocalCloud, message_id: str) -> bool:
    """Whether Redis still holds the message's payload (the claim check)."""
    with redis_client(cloud) as client:
        return bool(client.exists(payload_key(message_id)))


def payload_keys_in_redis(cloud: LocalCloud) -> set[bytes]:
    with redis_client(cloud) as client:
        return set(client.scan_iter(match=payload_key("*")))


@contextmanager
def redis_down(cloud: LocalCloud) -> Iterator[None]:
    """The audit redis-server is stopped until exit, then started again on its port (empty)."""
    server = redis_server(cloud)
    port = server.port
    server.stop()
    try:
        yield
    finally:
        server.start(port=port)


@contextmanager
def archive_refused(cloud: LocalCloud) -> Iterator[None]:
    """The archive bucket refuses writes under archive/ until exit (failures/ stays writable).

    The house TLS-only statement is kept; the original policy is put back on exit.
    """
    bucket = cloud.exports["auditArchiveBucket"]
    s3 = cloud.client("s3")
    original = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    policy = json.loads(original)
    policy["Statement"].append(
        {
            "Sid": "DemoRefuseArchiveWrites",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/{ARCHIVE_PREFIX}*",
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=original)


# ---- scenario steps ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ingested:
    """A message posted and its workflow finished."""

    payload: Any  # base64 text, or any JSON value
    response: AuditResponse
    execution: dict[str, Any]
    seconds: float  # from the POST to the finished workflow

    @property
    def message_id(self) -> str:
        return str(self.response.body["messageId"])


def ingest(
    cloud: LocalCloud,
    payload: Any,
    *,
    idempotency_key: str | None = None,
    timeout_seconds: float = EXECUTION_TIMEOUT_SECONDS,
    **metadata: Any,
) -> Ingested:
    """POST a payload and wait for its workflow to finish; raises if the API does not accept it."""
    started = time.monotonic()
    response = post(cloud, sample_message(payload, **metadata), idempotency_key=idempotency_key)
    if response.status != 202:
        raise RuntimeError(f"POST /audit answered {response.status}: {response.body}")
    execution = wait_for_execution(cloud, str(response.body["messageId"]), timeout_seconds)
    return Ingested(payload, response, execution, time.monotonic() - started)


@dataclass(frozen=True)
class Refused:
    """A message posted while Redis was down."""

    payload: str
    response: AuditResponse

    @property
    def reference(self) -> str:
        return str(self.response.body.get("reference", ""))


def post_while_redis_down(cloud: LocalCloud, payload: str) -> Refused:
    """POST one message with the audit Redis stopped; Redis is back (empty) when this returns."""
    with redis_down(cloud):
        response = post(cloud, sample_message(payload, message_type="audit.redis-down"))
    return Refused(payload, response)


def salvaged_payload(record: dict[str, Any]) -> str | None:
    """The payload a failures/ document holds: the ingest API keeps the raw body, the workflow the bytes."""
    if record.get("source") == "ingest-api":
        payload: str = json.loads(base64.b64decode(record["body"]))["payload"]
        return payload
    if record.get("payload") is not None:
        return base64.b64decode(record["payload"]).decode("utf-8")
    return None


def run(cloud: LocalCloud, report: Report) -> bool:
    report("== Audit ingest")
    checks: list[tuple[str, bool]] = []

    payload = base64_payload(DEMO_PAYLOAD_CHARS)
    first = ingest(cloud, payload, idempotency_key=f"demo-{time.time_ns()}")
    message_id = first.message_id
    report(
        f"POST /audit ({len(payload):,} base64 characters) -> {first.response.status} {first.response.body}; "
        f"workflow {first.execution['status']} {first.seconds:.2f} s after the POST"
    )
    archived = keys_of(cloud, message_id, ARCHIVE_PREFIX)
    archive = object_bytes(cloud, archived[0]) if archived else b""
    report(f"archive: s3://{cloud.exports['auditArchiveBucket']}/{archived[0] if archived else '(none)'}")
    report(f"         {len(archive):,} bytes, sha256 {hashlib.sha256(archive).hexdigest()}")
    row = metadata_row(cloud, message_id) or {}
    security = row.get("securityContext", {})
    report(
        f"metadata row: {row.get('sourceSystem')}/{row.get('messageType')}, checksum {row.get('checksum')}, "
        f"from {security.get('sourceIp')} ({security.get('userAgent')}) at {security.get('receivedAt')}"
    )
    final = wait_for_final_state(cloud, message_id)
    report(f"SNS final state: {json.dumps(final)}")
    released = not redis_holds(cloud, message_id)
    report(f"Redis key {payload_key(message_id)}: {'gone' if released else 'STILL THERE'}")
    checks += [
        ("5 MB message accepted (202) and its workflow SUCCEEDED", first.execution["status"] == "SUCCEEDED"),
        ("archive object byte-identical to the payload", archive == payload.encode("utf-8")),
        (
            "metadata row with the security context and the payload's sha256",
            row.get("checksum") == payload_sha256(payload)
            and all(security.get(name) for name in ("sourceIp", "userAgent", "receivedAt")),
        ),
        (
            "SNS says persisted in S3 and metadata persisted",
            final.get("persistedInS3") is True and final.get("metadataPersisted") is True,
        ),
        ("Redis key released", released),
    ]

    key = f"demo-repeat-{time.time_ns()}"
    small = base64_payload(1024)
    once = post(cloud, sample_message(small), idempotency_key=key)
    again = post(cloud, sample_message(small), idempotency_key=key)
    report(f"Idempotency-Key {key}: {once.status} {once.body} then {again.status} {again.body}")
    repeated_id = str(once.body.get("messageId", ""))
    if once.status == 202:
        wait_for_execution(cloud, repeated_id)
    versions = [v for v in object_versions(cloud, ARCHIVE_PREFIX) if repeated_id in v["Key"]]
    runs = executions_named(cloud, repeated_id)
    report(f"  -> {len(versions)} archive object version(s), {len(runs)} execution(s) for {repeated_id}")
    checks.append(
        (
            "a repeated Idempotency-Key gets the same id, stored and run once",
            once.status == again.status == 202
            and again.body.get("messageId") == repeated_id
            and len(versions) == len(runs) == 1,
        )
    )

    refused = post_while_redis_down(cloud, base64_payload(2048))
    report(f"Redis stopped: POST /audit -> {refused.response.status} {refused.response.body}")
    record = failure_record(cloud, refused.reference) or {}
    notice = wait_for_dlq_notice(cloud, refused.reference) if record else {}
    report(
        f"  salvaged to s3://{cloud.exports['auditArchiveBucket']}/{record.get('failureKey')} "
        f"({record.get('bodySizeBytes')} bytes of request); DLQ notice names {notice.get('failureKey')}"
    )
    after = ingest(cloud, base64_payload(1024))
    report(f"Redis restarted: POST /audit -> {after.response.status}, workflow {after.execution['status']}")
    checks += [
        (
            "Redis down -> 503 naming Redis",
            refused.response.status == 503 and "Redis" in str(refused.response.body.get("message")),
        ),
        (
            "the refused request salvaged to failures/ and the DLQ",
            salvaged_payload(record) == refused.payload
            and notice.get("failureKey") == record.get("failureKey"),
        ),
        ("accepted again once Redis is back", after.execution["status"] == "SUCCEEDED"),
    ]
    for label, passed in checks:
        report(f"  [{'ok' if passed else 'FAILED'}] {label}")
    return all(passed for _, passed in checks)
