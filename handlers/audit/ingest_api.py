"""POST /audit: validate an audit record, hold its payload in Redis and start the audit workflow.

The payload goes to Redis (the claim-check) and the workflow gets the internal message without it. A
request with an Idempotency-Key header is processed once per (key, principal): a retry gets the first
reply and writes nothing; the principal is who the authorizer vouched for (an IAM caller's ARN on the
AWS_IAM route), so two callers' keys never collide.

202 means the payload is held where it cannot be lost: Redis evicts nothing (noeviction), and where the
group has replicas the write is confirmed by REDIS_REPLICA_ACKS of them (Redis WAIT) before the reply, so
a failover right after the 202 cannot take it (redis_store.py explains each case). Whenever that cannot
be had (Redis down, full, failing over, replicas not confirming) or Step Functions cannot be reached, the
client gets 503 with Retry-After and a message naming the problem (never an internal endpoint), and the
raw request is salvaged to S3 (failures/) with a notice on the DLQ: nothing that reached us is lost, and
nothing is acknowledged that was not stored.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from handlers.audit import redis_store, security_context
from handlers.audit.audit_request import (
    REQUEST_SHAPE,
    check_idempotency_key,
    parse_request,
    payload_bytes,
)
from handlers.audit.contract import IDEMPOTENCY_EXPIRY_ATTRIBUTE, IDEMPOTENCY_TABLE_KEY, IngestSettings
from handlers.audit.message import InternalMessage, build_message, failure_key
from handlers.audit.redis_store import (
    PayloadNotReplicatedError,
    PayloadStore,
    RedisFullError,
    RedisReadOnlyError,
    RedisUnavailableError,
    ReplicaAcks,
)
from handlers.audit.salvage import SalvageResult, salvage
from handlers.http_request import RequestRejectedError, principal_of, read_body

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

STATUS_ACCEPTED = "accepted"
# Stable across function renames: the idempotency records outlive a deployment.
IDEMPOTENCY_KEY_PREFIX = "audit-ingest"
ANONYMOUS_PRINCIPAL = "anonymous"
RETRY_AFTER_SECONDS = 5

logger = Logger(service="audit-ingest")
tracer = Tracer(service="audit-ingest")
metrics = Metrics(namespace="regionflow", service="audit-ingest")
app = APIGatewayHttpResolver()


class WorkflowStartError(Exception):
    """Step Functions refused or could not be reached to start the audit workflow."""


@dataclass(frozen=True)
class IngestDependencies:
    store: PayloadStore
    stepfunctions: SFNClient
    s3: S3Client
    sqs: SQSClient
    settings: IngestSettings
    idempotency_config: IdempotencyConfig
    # accept_with_idempotency_key behind Powertools idempotency (DynamoDB persistence layer).
    accept_once: Callable[..., dict[str, str]]


def start_workflow(stepfunctions: SFNClient, state_machine_arn: str, message: InternalMessage) -> bool:
    """Start the execution named for the message; False if it already exists (a retry: nothing new runs)."""
    try:
        stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=message["messageId"], input=json.dumps(message)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return False
        raise WorkflowStartError(
            f"could not start {state_machine_arn} for message {message['messageId']}: {error}"
        ) from error
    except BotoCoreError as error:
        raise WorkflowStartError(
            f"could not reach Step Functions to start message {message['messageId']}: {error}"
        ) from error
    return True


def accept_message(
    *,
    message: InternalMessage,
    payload: bytes,
    store: PayloadStore,
    stepfunctions: SFNClient,
    state_machine_arn: str,
) -> dict[str, str]:
    """Payload to Redis, then the workflow; raises RedisUnavailableError or WorkflowStartError."""
    store.put(message["storage"]["redisKey"], payload)
    # If the start fails, the payload left in Redis expires with its TTL; the request is salvaged.
    start_workflow(stepfunctions, state_machine_arn, message)
    return {"messageId": message["messageId"], "status": STATUS_ACCEPTED}


def accept_with_idempotency_key(
    *,
    idempotency: Mapping[str, str],
    message: InternalMessage,
    payload: bytes,
    store: PayloadStore,
    stepfunctions: SFNClient,
    state_machine_arn: str,
) -> dict[str, str]:
    """accept_message; `idempotency` ({idempotencyKey, principal, checksum}) is what Powertools keys on."""
    return accept_message(
        message=message,
        payload=payload,
        store=store,
        stepfunctions=stepfunctions,
        state_machine_arn=state_machine_arn,
    )


def idempotency_config(ttl_seconds: int) -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[idempotencyKey, principal]",
        # A key reused for a different payload is a client bug, refused rather than answered with the old id.
        payload_validation_jmespath="checksum",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
        hash_function="sha256",
    )


@functools.cache
def dependencies() -> IngestDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto; the Redis
    auth token is read once per container."""
    settings = IngestSettings.from_environment(os.environ)
    config = idempotency_config(settings.idempotency_ttl_seconds)
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table,
        key_attr=IDEMPOTENCY_TABLE_KEY,
        expiry_attr=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
        boto3_client=boto3.client("dynamodb"),
    )
    replica_acks = (
        ReplicaAcks(settings.redis_replica_acks, settings.redis_replica_ack_timeout_ms)
        if settings.redis_replica_acks
        else None
    )
    return IngestDependencies(
        store=redis_store.open_store(settings, replica_acks=replica_acks),
        stepfunctions=boto3.client("stepfunctions"),
        s3=boto3.client("s3"),
        sqs=boto3.client("sqs"),
        settings=settings,
        idempotency_config=config,
        accept_once=idempotent_function(
            accept_with_idempotency_key,
            data_keyword_argument="idempotency",
            persistence_store=persistence,
            config=config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        ),
    )


def ingest(
    *,
    body: bytes,
    security: Mapping[str, Any],
    idempotency_key: str | None,
    message_id: str,
    received_at: datetime,
    deps: IngestDependencies,
) -> dict[str, str]:
    """Validate and accept one request: {"messageId", "status"}. Raises RequestRejectedError (4xx),
    RedisUnavailableError or WorkflowStartError (503)."""
    request = parse_request(body)
    key = check_idempotency_key(idempotency_key)
    payload = payload_bytes(request["payload"])
    message = build_message(
        message_id=message_id,
        metadata=request["metadata"],
        payload=payload,
        security_context=security,
        archive_bucket=deps.settings.archive_bucket,
        metadata_table=deps.settings.metadata_table,
        received_at=received_at,
    )
    if key is None:
        return accept_message(
            message=message,
            payload=payload,
            store=deps.store,
            stepfunctions=deps.stepfunctions,
            state_machine_arn=deps.settings.state_machine_arn,
        )
    try:
        return deps.accept_once(
            idempotency={
                "idempotencyKey": key,
                # Per principal, not per session: a producer retrying with renewed credentials replays.
                "principal": principal_of(security.get("principal") or ANONYMOUS_PRINCIPAL),
                "checksum": message["checksum"],
            },
            message=message,
            payload=payload,
            store=deps.store,
            stepfunctions=deps.stepfunctions,
            state_machine_arn=deps.settings.state_machine_arn,
        )
    except IdempotencyValidationError as error:
        raise RequestRejectedError(
            422,
            "idempotency_key_reused",
            f"Idempotency-Key {key!r} was already used for a different payload; use a new key for a new "
            "message",
        ) from error
    except IdempotencyAlreadyInProgressError as error:
        raise RequestRejectedError(
            409,
            "idempotency_key_in_progress",
            f"a request with Idempotency-Key {key!r} is still being processed; retry after it completes",
        ) from error


# What the client is told of each failure, most specific first (every Redis error is a
# RedisUnavailableError); internal endpoints and keys go to the logs and the salvaged record only.
UNAVAILABLE_REPLIES: tuple[tuple[type[Exception], str], ...] = (
    (RedisFullError, "audit store (Redis) is full"),
    (RedisReadOnlyError, "audit store (Redis) is failing over to a new primary"),
    (PayloadNotReplicatedError, "audit store (Redis) could not copy the payload to a replica"),
    (RedisUnavailableError, "audit store (Redis) unavailable"),
    (WorkflowStartError, "audit workflow (Step Functions) unavailable"),
)


def unavailable_reply(error: Exception) -> str:
    """What the client is told (no internal endpoints: those go to the logs and the salvaged record)."""
    what = next(reply for kind, reply in UNAVAILABLE_REPLIES if isinstance(error, kind))
    return f"{what}: the request was not accepted and nothing was started; retry later"


def salvage_request(
    *,
    body: bytes,
    security: Mapping[str, Any],
    message_id: str,
    received_at: datetime,
    error: Exception,
    deps: IngestDependencies,
) -> SalvageResult:
    """Keep the raw request (body bytes and security context) in S3 failures/ and notify the DLQ."""
    key = failure_key(message_id, received_at)
    document = {
        "source": "ingest-api",
        "messageId": message_id,
        "error": {"Error": type(error).__name__, "Cause": str(error)},
        "securityContext": dict(security),
        "bodyEncoding": "base64",
        "bodySizeBytes": len(body),
        "body": base64.b64encode(body).decode("ascii"),
    }
    result = salvage(
        document,
        s3=deps.s3,
        sqs=deps.sqs,
        bucket=deps.settings.archive_bucket,
        key=key,
        dlq_url=deps.settings.dlq_url,
    )
    if result.complete:
        logger.warning("request salvaged", extra={"messageId": message_id, "failureKey": key})
    else:
        logger.error(
            "request salvage incomplete",
            extra={
                "messageId": message_id,
                "storedInS3": result.stored,
                "queued": result.queued,
                "problems": list(result.problems),
            },
        )
        metrics.add_metric(name="AuditSalvageIncomplete", unit=MetricUnit.Count, value=1)
    return result


def error_response(
    status_code: int, code: str, message: str, *, extra: Mapping[str, str] | None = None
) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status_code == 503 else None
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message, **(extra or {})}),
        headers=headers,
    )


@app.post("/audit")
@tracer.capture_method
def post_audit() -> Response:
    event = app.current_event
    deps = dependencies()
    deps.idempotency_config.register_lambda_context(app.lambda_context)
    received_at = datetime.now(UTC)
    security = security_context.capture(event.raw_event, received_at=received_at)
    message_id = str(uuid.uuid4())
    try:
        body = read_body(
            event.body,
            is_base64_encoded=bool(event.is_base64_encoded),
            max_body_bytes=deps.settings.max_body_bytes,
            expected=REQUEST_SHAPE,
            limit_reason="MAX_BODY_BYTES",
        )
        accepted = ingest(
            body=body,
            security=security,
            idempotency_key=event.headers.get("idempotency-key"),
            message_id=message_id,
            received_at=received_at,
            deps=deps,
        )
    except RequestRejectedError as rejection:
        logger.info("audit record rejected", extra={"code": rejection.code, "reason": rejection.message})
        metrics.add_metric(name="AuditRejected", unit=MetricUnit.Count, value=1)
        return error_response(rejection.status_code, rejection.code, rejection.message)
    except (RedisUnavailableError, WorkflowStartError) as error:
        logger.error("audit record not accepted", extra={"messageId": message_id, "reason": str(error)})
        metrics.add_metric(name="AuditUnavailable", unit=MetricUnit.Count, value=1)
        salvage_request(
            body=body,
            security=security,
            message_id=message_id,
            received_at=received_at,
            error=error,
            deps=deps,
        )
        return error_response(503, "unavailable", unavailable_reply(error), extra={"reference": message_id})
    replayed = accepted["messageId"] != message_id
    logger.info(
        "audit record replayed" if replayed else "audit record accepted",
        extra={"messageId": accepted["messageId"], "principal": security.get("principal")},
    )
    metrics.add_metric(name="AuditReplayed" if replayed else "AuditAccepted", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body=json.dumps(accepted))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
