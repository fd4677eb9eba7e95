"""Audit ingest (STANDARD): persist a claim-checked message, aggregate, tell subscribers; salvage on failure.

Input: the internal message the ingest API starts it with (messageId, metadata, checksum, sizeBytes,
securityContext, storage: Redis key, S3 bucket/key, DynamoDB table/key, flags), never the payload: the
payload waits in Redis (the claim check), so no state carries more than a few KB whatever its size.

Persist runs two branches in parallel: archive (Redis -> S3 under a date/id key) and metadata (-> DynamoDB).
Aggregate folds both results into the final state (persistedInS3, metadataPersisted, storage references),
deletes the Redis copy once both are durable, and SNS tells subscribers. Every task retries transient
errors; anything that still fails goes to the ingest-failure function, which salvages the raw message
(from Redis while it is there) to the archive bucket's failures/ prefix and the DLQ, and the run fails.
"""

from __future__ import annotations

from typing import Any

from handlers.audit.contract import TRANSIENT_ERRORS
from workflows.states import State, failure_state, lambda_task, service_task

INGEST_FAILED = "AuditIngestFailed"
BRANCH_FAILED = "PersistFailed"
# Redis or S3 hiccups surface as these from the handlers; a retry usually clears them.
TRANSIENT_RETRY: State = {
    "ErrorEquals": list(TRANSIENT_ERRORS),
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2,
    "JitterStrategy": "FULL",
}


def _branch(name: str, function_arn: str) -> State:
    """One Parallel branch: the task, and a Fail that carries the task's error out to the Parallel."""
    return {
        "StartAt": name,
        "States": {
            name: lambda_task(
                function_arn,
                next_state=None,
                extra_retries=[TRANSIENT_RETRY],
                catch_to=f"{name} failed",
                ResultSelector={"result.$": "$.Payload"},
                OutputPath="$.result",
            ),
            f"{name} failed": failure_state(BRANCH_FAILED),
        },
    }


def build_definition(
    *,
    archive_arn: str,
    metadata_arn: str,
    aggregate_arn: str,
    ingest_failure_arn: str,
    topic_arn: str,
) -> dict[str, Any]:
    """The state machine (Amazon States Language) as a dict; the component serialises it."""
    catch_all = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Salvage message"}]
    return {
        "Comment": "Archive an audit message and its metadata, aggregate, notify; salvage on failure",
        "StartAt": "Persist",
        "States": {
            "Persist": {
                "Type": "Parallel",
                "Branches": [
                    _branch("Archive payload", archive_arn),
                    _branch("Persist metadata", metadata_arn),
                ],
                "ResultPath": "$.results",
                "Catch": catch_all,
                "Next": "Aggregate",
            },
            "Aggregate": lambda_task(
                aggregate_arn,
                payload={"message.$": "$", "results.$": "$.results"},
                next_state="Notify subscribers",
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Salvage message",
                ResultSelector={"state.$": "$.Payload"},
                ResultPath="$.final",
            ),
            "Notify subscribers": service_task(
                "arn:aws:states:::sns:publish",
                {
                    "TopicArn": topic_arn,
                    "Message.$": "States.JsonToString($.final.state)",
                    "MessageAttributes": {
                        "messageType": {"DataType": "String", "StringValue.$": "$.metadata.messageType"},
                        "sourceSystem": {"DataType": "String", "StringValue.$": "$.metadata.sourceSystem"},
                    },
                },
                next_state="Ingested",
                catch_to="Salvage message",
                ResultPath=None,
            ),
            "Ingested": {"Type": "Succeed"},
            "Salvage message": lambda_task(
                ingest_failure_arn,
                payload={"message.$": "$", "error.$": "$.error"},
                next_state="Ingest failed",
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Ingest failed",
                ResultPath="$.salvage",
            ),
            "Ingest failed": failure_state(INGEST_FAILED),
        },
    }
