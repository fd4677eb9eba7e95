"""Active-active event processing (EXPRESS, started synchronously by POST /events in each region).

Input: {"event": {id, data, timestamp, idempotencyKey}, "principal" (the caller's ARN), "receivedAt"}.
One task: the event processor (handlers/events/processor.py: Powertools idempotency on the principal's
key, then a versioned conditional write, only to an id the principal owns, decided by the
ConflictResolver). Its result ({"status": "applied" | "stale", ...}) is the execution's output, which the
API turns into the HTTP reply. The DLQ message is the whole input plus the error, principal included, so a
redrive writes as the principal that sent the event.

Why a workflow rather than the API calling the processor: retries with backoff and jitter for a lost
optimistic-lock race (WriteConflictError) and Lambda's transient errors are declared here, and every
event that still fails is sent to the DLQ by the same definition, whatever the caller. EXPRESS because
a run is a few hundred milliseconds, at event rates, and the API needs the outcome synchronously.

On failure the event and the error go to the DLQ, then the execution fails with the processor's own
error name (PoisonEventError, IdempotencyKeyReusedError, EventOwnedByAnotherPrincipalError, ...) so the
API can tell the client which (none of these is retried: no retry changes the answer); Step Functions'
own errors (States.*) cannot be re-raised by a Fail state and become EventFailed.
"""

from __future__ import annotations

from typing import Any

from handlers.events.contract import IDEMPOTENCY_IN_PROGRESS_ERROR, WriteConflictError
from workflows.states import State, failure_state, lambda_task, service_task

EVENT_FAILED = "EventFailed"
# The processor lost an optimistic-lock race with a concurrent write in this region: re-reading and
# re-deciding is the fix, quickly, a few times.
# A duplicate of an event still being processed (Powertools' in-progress record) is answered by the
# first run's result once that completes.
WRITE_CONFLICT_RETRY: State = {
    "ErrorEquals": [WriteConflictError.__name__, IDEMPOTENCY_IN_PROGRESS_ERROR],
    "IntervalSeconds": 1,
    "MaxAttempts": 5,
    "BackoffRate": 1.5,
    "JitterStrategy": "FULL",
}


def build_definition(*, processor_arn: str, dlq_url: str) -> dict[str, Any]:
    """The state machine (Amazon States Language) as a dict; the component serialises it."""
    return {
        "Comment": "Process one event idempotently; failures go to the DLQ",
        "StartAt": "Process event",
        "States": {
            "Process event": lambda_task(
                processor_arn,
                next_state=None,
                extra_retries=[WRITE_CONFLICT_RETRY],
                catch_to="Send to DLQ",
                OutputPath="$.Payload",
            ),
            "Send to DLQ": service_task(
                "arn:aws:states:::sqs:sendMessage",
                {
                    "QueueUrl": dlq_url,
                    "MessageBody.$": "$",
                    "MessageAttributes": {
                        "outcome": {"DataType": "String", "StringValue": "failed"},
                        "errorType": {"DataType": "String", "StringValue.$": "$.error.Error"},
                    },
                },
                next_state="Which failure",
                catch_to="Event failed",
                ResultPath=None,
            ),
            "Which failure": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.error.Error", "StringMatches": "States.*", "Next": "Event failed"},
                ],
                "Default": "Processor error",
            },
            "Processor error": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
            "Event failed": failure_state(EVENT_FAILED),
        },
    }
