"""POST /events: validate an event, run this region's workflow synchronously and answer its outcome.

Env: ApiSettings (handlers/events/contract.py): the region's EXPRESS workflow, its DLQ and the body limit
(by default Step Functions' 256 KB input limit).
Body: {"id", "data", "timestamp" (client epoch ms), "idempotencyKey"}, or a TMF688 (TM Forum Event
Management API) event {"eventId", "eventType", "event", "timeOccurred"/"eventTime", ...}, which
handlers/events/tmf688.py maps to the same model (docs/event-schema.md): both are stored, replicated,
resolved and deduplicated alike.
Caller: the principal the gateway authenticated (requestContext.authorizer.iam.userArn on the AWS_IAM
route, handlers/http_request.caller_arn); it travels to the workflow as "principal". An event id belongs
to the principal that created it, and idempotency keys are scoped per principal
(handlers/events/ownership.py).

Replies (JSON; errors are {"error", "message", ...}):
    200 the processor's result: {"status": "applied", "item", "previous", "replayed"[, "alreadyApplied"]}
    409 stale_write {"current", "rejected", "replayed"}: a write that wins under the ConflictResolver is
        already there; idempotency_key_in_progress: the same key is being processed right now
    400 empty_body | invalid_body | invalid_json | too_deep (nested beyond MAX_JSON_DEPTH) | invalid_event,
        413 payload_too_large: nothing was started; the raw body (up to 200 KB) and the reason went to
        the DLQ ("reference" names it)
    401 unauthenticated: the event carries no authenticated caller (the route lost its AWS_IAM
        authorization); nothing was started and nothing dead-lettered: a request from no one is not an
        event to keep, and keeping it would let anyone fill (and alarm) the DLQ
    403 event_owned_by_another_principal, 422 poison_event | idempotency_key_reused, 502
        processing_failed, 504 processing_timed_out: the workflow ran and failed; the event is on the DLQ
        ("deadLetter"), "reference" is the execution
    503 unavailable (+ Retry-After): Step Functions could not be reached; the outcome is unknown, and a
        retry with the same idempotencyKey is applied at most once
A failed workflow dead-letters the event itself and fails with the processor's error name (or
EventFailed); for any other outcome that is not an answer (timed out, unexpected output) this function
sends the event to the DLQ in the workflow's message shape, so nothing that reached us is lost. When the
DLQ refuses a send, the reply still answers (never a 500) and says so: "deadLetter" is false, and a
timed-out event's sender is asked to send it again rather than told it was kept.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from handlers.events.contract import (
    IDEMPOTENCY_IN_PROGRESS_ERROR,
    STEP_FUNCTIONS_MAX_INPUT_BYTES,
    ApiSettings,
    EventOwnedByAnotherPrincipalError,
    IdempotencyKeyReusedError,
    PoisonEventError,
)
from handlers.events.event_item import IncomingEvent, InvalidEventError
from handlers.events.tmf688 import ACCEPTED_SHAPES, Tmf688Event, parse_posted_event
from handlers.http_request import (
    RequestRejectedError,
    body_too_large,
    caller_arn,
    parse_json_body,
    read_body,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

# What of a rejected body the DLQ keeps: room for the envelope within SQS's 256 KB classic message limit.
MAX_DEAD_LETTER_BODY_BYTES = 200 * 1024
RETRY_AFTER_SECONDS = 2
SOURCE = "events-api"
# Error names the workflow fails with (the processor's exception types), as the API answers them.
FAILURE_REPLIES: dict[str, tuple[int, str]] = {
    EventOwnedByAnotherPrincipalError.__name__: (403, "event_owned_by_another_principal"),
    PoisonEventError.__name__: (422, "poison_event"),
    IdempotencyKeyReusedError.__name__: (422, "idempotency_key_reused"),
    IDEMPOTENCY_IN_PROGRESS_ERROR: (409, "idempotency_key_in_progress"),
}

logger = Logger(service="events-api")
tracer = Tracer(service="events-api")
metrics = Metrics(namespace="regionflow", service="events-api")
app = APIGatewayHttpResolver()


@dataclass(frozen=True)
class ApiDependencies:
    stepfunctions: SFNClient
    sqs: SQSClient
    settings: ApiSettings


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@functools.cache
def dependencies() -> ApiDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    return ApiDependencies(
        stepfunctions=boto3.client("stepfunctions"),
        sqs=boto3.client("sqs"),
        settings=ApiSettings.from_environment(os.environ),
    )


# Where the body limit comes from, for the 413's message.
LIMIT_REASON = "MAX_BODY_BYTES; Step Functions takes at most 256 KB of input"
UNAUTHENTICATED_MESSAGE = (
    "the request carries no authenticated caller (requestContext.authorizer.iam.userArn): POST /events "
    "takes requests signed with SigV4 (AWS_IAM) by a principal allowed execute-api:Invoke on the route; "
    "sign the request with its credentials"
)


def parse_body(data: bytes) -> tuple[IncomingEvent, Tmf688Event | None]:
    """The event the body holds, in either shape, and its TMF688 envelope if it is one; 400 names the
    first problem (including JSON nested deeper than MAX_JSON_DEPTH, refused before it is parsed)."""
    document = parse_json_body(data, expected=ACCEPTED_SHAPES)
    try:
        return parse_posted_event(document, what="body")
    except InvalidEventError as error:
        raise RequestRejectedError(400, "invalid_event", str(error)) from error


def workflow_input(incoming: IncomingEvent, received_at: datetime, *, principal: str) -> str:
    """The execution input {"event", "principal", "receivedAt"}; 413 when it would pass Step Functions'
    limit."""
    text = json.dumps(
        {
            "event": incoming.document(),
            "principal": principal,
            "receivedAt": received_at.isoformat(timespec="milliseconds"),
        },
        # Step Functions counts UTF-8 bytes: \\uXXXX escapes would triple the size of non-ASCII data.
        ensure_ascii=False,
        separators=(",", ":"),
    )
    size = len(text.encode("utf-8"))
    if size > STEP_FUNCTIONS_MAX_INPUT_BYTES:
        raise body_too_large(
            f"{size} (as the workflow's input)", STEP_FUNCTIONS_MAX_INPUT_BYTES, reason=LIMIT_REASON
        )
    return text


def dead_letter(
    sqs: SQSClient, dlq_url: str, document: Mapping[str, Any], *, outcome: str, error: str
) -> bool:
    """Send document to the DLQ (attributes outcome and errorType, as the workflow's); False on failure."""
    try:
        sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": outcome},
                "errorType": {"DataType": "String", "StringValue": error},
            },
        )
    except (ClientError, BotoCoreError):
        logger.exception("could not send to the DLQ", extra={"outcome": outcome, "errorType": error})
        metrics.add_metric(name="EventsDeadLetterFailed", unit=MetricUnit.Count, value=1)
        return False
    return True


def _json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def _json_prefix(text: str, max_bytes: int) -> str:
    """A prefix of text taking at most max_bytes as a JSON string (escapes count: control characters
    take six bytes each, so a hostile body cannot push the DLQ message over SQS's limit)."""
    kept = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    while (size := _json_bytes(kept)) > max_bytes:
        kept = kept[: len(kept) * max_bytes // size]
    return kept


def rejected_document(
    rejection: RequestRejectedError,
    *,
    body: str | None,
    is_base64_encoded: bool,
    principal: str,
    reference: str,
    received_at: datetime,
) -> dict[str, Any]:
    """The DLQ copy of a rejected request: who sent it, the raw body as received (its first 200 KB) and
    why."""
    # Lone surrogates (JSON escapes in the Lambda event) have no UTF-8: kept as backslash escapes.
    text = (body or "").encode("utf-8", errors="backslashreplace").decode("utf-8")
    kept = _json_prefix(text, MAX_DEAD_LETTER_BODY_BYTES)
    return {
        "source": SOURCE,
        "reference": reference,
        "principal": principal,
        "receivedAt": received_at.isoformat(timespec="milliseconds"),
        "error": {"Error": rejection.code, "Cause": rejection.message},
        "statusCode": rejection.status_code,
        "isBase64Encoded": is_base64_encoded,
        "bodyBytes": len(text.encode("utf-8")),
        "bodyTruncated": len(kept) < len(text),
        "body": kept,
    }


def _cause_message(cause: str | None) -> str:
    """A Lambda error's errorMessage from a Step Functions cause (JSON), else the cause itself."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        return parsed["errorMessage"]
    return cause


def execution_reference(execution: Mapping[str, Any]) -> str:
    """What a reply calls an execution: its name (the request's reference), not its ARN, which names the
    account, the region and the state machine."""
    return str(execution.get("executionArn", "")).rsplit(":", 1)[-1]


def _failed_reply(execution: Mapping[str, Any]) -> Reply:
    error = str(execution.get("error") or "")
    reference = execution_reference(execution)
    status_code, code = FAILURE_REPLIES.get(error, (502, "processing_failed"))
    if code == "processing_failed":
        # Unexpected failures' causes can name internals: they stay in the logs and on the DLQ.
        message = (
            f"the event could not be processed ({error or 'unknown error'}); it was kept on the "
            "dead-letter queue for redrive"
        )
    elif code == "idempotency_key_in_progress":
        message = "an event with this idempotencyKey is being processed right now; retry after it completes"
    else:
        # The processor's own messages: written for the client (what is wrong and how to fix it).
        message = _cause_message(execution.get("cause")) or error
    body: dict[str, Any] = {"error": code, "message": message, "reference": reference, "deadLetter": True}
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status_code == 409 else {}
    return Reply(status_code, body, headers)


def _answer(output: Mapping[str, Any]) -> Reply | None:
    """The reply to a workflow output; None when it is not a result the processor returns."""
    if output.get("status") == "applied" and isinstance(output.get("item"), Mapping):
        return Reply(200, dict(output))
    current = output.get("current")
    if output.get("status") == "stale" and isinstance(current, Mapping):
        return Reply(
            409,
            {
                "error": "stale_write",
                "message": f"{output.get('reason')}; send a write with a later timestamp to replace it",
                "current": current,
                "rejected": output.get("item"),
                "replayed": bool(output.get("replayed")),
            },
        )
    return None


def outcome_reply(
    execution: Mapping[str, Any],
    *,
    incoming: IncomingEvent,
    principal: str,
    received_at: datetime,
    deps: ApiDependencies,
) -> Reply:
    """The reply to a StartSyncExecution response (module doc); dead-letters what the workflow did not."""
    status = execution.get("status")
    reference = execution_reference(execution)
    if status == "FAILED":
        return _failed_reply(execution)
    if status == "SUCCEEDED":
        try:
            output = json.loads(execution.get("output") or "null")
        except ValueError:
            output = None
        reply = _answer(output) if isinstance(output, Mapping) else None
        if reply is not None:
            return reply
        error, cause = "UnexpectedWorkflowOutput", f"output {str(execution.get('output'))[:1000]!r}"
    else:
        timeout = "States.Timeout" if status == "TIMED_OUT" else f"States.{status or 'Unknown'}"
        error, cause = str(execution.get("error") or timeout), str(execution.get("cause") or status)
    # Neither an answer nor a failure the workflow dead-lettered: keep the event here.
    sent = dead_letter(
        deps.sqs,
        deps.settings.dlq_url,
        {
            "event": incoming.document(),
            "principal": principal,
            "receivedAt": received_at.isoformat(timespec="milliseconds"),
            "error": {"Error": error, "Cause": cause},
            "source": SOURCE,
            "reference": reference,
        },
        outcome="timed_out" if status == "TIMED_OUT" else "failed",
        error=error,
    )
    logger.error("event workflow gave no answer", extra={"reference": reference, "error": error})
    if status == "TIMED_OUT":
        # Told it was kept, a client does not send the event again: say so only when the DLQ took it.
        kept = (
            "so the event was kept for redrive (a redrive with its idempotencyKey is applied at most once)"
            if sent
            else "and the event could not be kept for redrive: send it again with the same idempotencyKey "
            "(a repeat is applied at most once)"
        )
        return Reply(
            504,
            {
                "error": "processing_timed_out",
                "message": f"the event workflow timed out; the outcome is unknown, {kept}",
                "reference": reference,
                "deadLetter": sent,
            },
        )
    return Reply(
        502,
        {
            "error": "processing_failed",
            "message": f"the event workflow ended {status} without a result ({error})",
            "reference": reference,
            "deadLetter": sent,
        },
    )


# What a TMF688 sender changes (or keeps) where a plain sender would change (or keep) its timestamp or
# idempotency key: the messages name those, which an envelope's sender never sent (its key is derived from
# its eventId and time, handlers/events/tmf688.py).
ENVELOPE_HINTS = {
    "stale_write": " (for a TMF688 event: send it with a later timeOccurred, or eventTime)",
    "idempotency_key_reused": (
        " (a TMF688 event's idempotency key is derived from its eventId and its timeOccurred, or "
        "eventTime: this event was already sent with that time and other content; send the change with a "
        "later time)"
    ),
    # The outcome is unknown: the same envelope again is the same key, so applied at most once.
    "unavailable": " (for a TMF688 event: send the same envelope again)",
    "processing_timed_out": " (for a TMF688 event: the same envelope sent again is applied at most once)",
}


def in_terms_of(reply: Reply, envelope: Tmf688Event | None) -> Reply:
    """The reply to the event: to a TMF688 one, a refusal says what to change in terms of the envelope."""
    hint = ENVELOPE_HINTS.get(str(reply.body.get("error")))
    if envelope is None or hint is None:
        return reply
    return Reply(
        reply.status_code, {**reply.body, "message": f"{reply.body['message']}{hint}"}, reply.headers
    )


def _answer_metric(reply: Reply) -> str:
    if reply.status_code == 200:
        return "EventsReplayed" if reply.body.get("replayed") else "EventsApplied"
    if reply.body.get("error") == "stale_write":
        return "EventsStale"
    if reply.body.get("error") == "event_owned_by_another_principal":
        return "EventsForeignWriteRefused"
    return "EventsFailed"


@tracer.capture_method
def submit_event(
    *,
    body: str | None,
    is_base64_encoded: bool,
    principal: str | None,
    received_at: datetime,
    reference: str,
    deps: ApiDependencies,
) -> Reply:
    """Refuse an unauthenticated caller, validate, run the workflow (execution named `reference`) as
    `principal`, and map its outcome to a reply."""
    if principal is None:
        # Defence in depth: the gateway's AWS_IAM authorization lets no unsigned request through, so
        # this is a route or integration misconfigured, and it must not open the table to anyone.
        logger.warning("unauthenticated event refused", extra={"reference": reference})
        metrics.add_metric(name="EventsUnauthenticated", unit=MetricUnit.Count, value=1)
        return Reply(
            401, {"error": "unauthenticated", "message": UNAUTHENTICATED_MESSAGE, "reference": reference}
        )
    try:
        data = read_body(
            body,
            is_base64_encoded=is_base64_encoded,
            max_body_bytes=deps.settings.max_body_bytes,
            expected=ACCEPTED_SHAPES,
            limit_reason=LIMIT_REASON,
        )
        incoming, envelope = parse_body(data)
        execution_input = workflow_input(incoming, received_at, principal=principal)
    except RequestRejectedError as rejection:
        sent = dead_letter(
            deps.sqs,
            deps.settings.dlq_url,
            rejected_document(
                rejection,
                body=body,
                is_base64_encoded=is_base64_encoded,
                principal=principal,
                reference=reference,
                received_at=received_at,
            ),
            outcome="rejected",
            error=rejection.code,
        )
        logger.info(
            "event rejected",
            extra={"code": rejection.code, "reason": rejection.message, "principal": principal},
        )
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return Reply(
            rejection.status_code,
            {
                "error": rejection.code,
                "message": rejection.message,
                "reference": reference,
                "deadLetter": sent,
            },
        )
    try:
        execution = deps.stepfunctions.start_sync_execution(
            stateMachineArn=deps.settings.state_machine_arn, name=reference, input=execution_input
        )
    except (ClientError, BotoCoreError) as error:
        logger.error(
            "event workflow unavailable",
            extra={
                "event": incoming.summary(),
                "principal": principal,
                "reference": reference,
                "reason": str(error),
            },
        )
        metrics.add_metric(name="EventsUnavailable", unit=MetricUnit.Count, value=1)
        unavailable = Reply(
            503,
            {
                "error": "unavailable",
                "message": "event processing (Step Functions) is unavailable and the outcome is unknown; "
                "retry later with the same idempotencyKey: a repeat is applied at most once",
            },
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        return in_terms_of(unavailable, envelope)
    reply = in_terms_of(
        outcome_reply(execution, incoming=incoming, principal=principal, received_at=received_at, deps=deps),
        envelope,
    )
    logger.info(
        "event answered",
        extra={
            "event": incoming.summary(),
            "tmf688": envelope.summary() if envelope is not None else None,
            "principal": principal,
            "statusCode": reply.status_code,
            "outcome": reply.body.get("status") or reply.body.get("error"),
            "reference": execution.get("executionArn"),
        },
    )
    metrics.add_metric(name=_answer_metric(reply), unit=MetricUnit.Count, value=1)
    return reply


@app.post("/events")
@tracer.capture_method
def post_events() -> Response:
    event = app.current_event
    reply = submit_event(
        body=event.body,
        is_base64_encoded=bool(event.is_base64_encoded),
        principal=caller_arn(event.raw_event),
        received_at=datetime.now(UTC),
        reference=str(uuid.uuid4()),
        deps=dependencies(),
    )
    return Response(
        status_code=reply.status_code,
        content_type="application/json",
        body=json.dumps(reply.body),
        headers=reply.headers or None,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
