"""Chunk processor: validate a chunk's records, enrich the valid ones, write the output chunk.

The item processor of the batch workflow's Distributed Map, run as an EXPRESS child workflow per chunk.
Input: {"bucket", "fileId", "chunkKey"}, one per chunk, from the Map's ItemSelector. EXPRESS children are
billed per request and duration, not per state: a STANDARD child would bill every one of its states, and
a STANDARD child that started a separate EXPRESS machine (`startExecution.sync:2`, this workflow's
shape until issue 19) billed two transitions per chunk for nothing but waiting.
Rows never travel through the state (256 KB limit): each task reads its input from S3 and writes its
result there, returning only keys and counts. Invalid rows and missing financial data are recorded by
the tasks and do not fail the chunk. A transient failure (a throttled financials table, a network
error; handlers/batch/contract.py TRANSIENT_ERRORS) is retried with exponential backoff and full jitter;
every task is idempotent (it rewrites the same keys and error items), so a retry is safe. Anything else
fails the chunk at once, with the error and cause passed up.
"""

from __future__ import annotations

from typing import Any

from handlers.batch.contract import TRANSIENT_ERRORS
from workflows.states import State, failure_state, lambda_task

CHUNK_FAILED = "ChunkFailed"
# After 2, 4, 8, 16 s (jittered): a throttled table gets time to catch up, and a chunk that still
# cannot be done fails its batch within about half a minute of waiting.
TRANSIENT_RETRY: State = {
    "ErrorEquals": list(TRANSIENT_ERRORS),
    "IntervalSeconds": 2,
    "MaxAttempts": 4,
    "BackoffRate": 2,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}

CHUNK = {"bucket.$": "$.bucket", "fileId.$": "$.fileId", "chunkKey.$": "$.chunkKey"}


def build_item_processor(*, validate_arn: str, enrich_arn: str, write_arn: str) -> dict[str, Any]:
    """The Distributed Map's ItemProcessor (Amazon States Language) as a dict."""
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Validate records",
        "States": {
            "Validate records": lambda_task(
                validate_arn,
                payload=CHUNK,
                next_state="Enrich records",
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Chunk failed",
                ResultSelector={
                    "validKey.$": "$.Payload.validKey",
                    "validRows.$": "$.Payload.validRows",
                    "invalidRows.$": "$.Payload.invalidRows",
                },
                ResultPath="$.validation",
            ),
            "Enrich records": lambda_task(
                enrich_arn,
                payload={**CHUNK, "validKey.$": "$.validation.validKey"},
                next_state="Write output chunk",
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Chunk failed",
                ResultSelector={
                    "enrichedKey.$": "$.Payload.enrichedKey",
                    "enrichedRows.$": "$.Payload.enrichedRows",
                    "missingFinancials.$": "$.Payload.missingFinancials",
                },
                ResultPath="$.enrichment",
            ),
            "Write output chunk": lambda_task(
                write_arn,
                payload={
                    **CHUNK,
                    "enrichedKey.$": "$.enrichment.enrichedKey",
                    "invalidRows.$": "$.validation.invalidRows",
                    "missingFinancials.$": "$.enrichment.missingFinancials",
                },
                next_state=None,
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Chunk failed",
                OutputPath="$.Payload",
            ),
            # The error and cause go up to the batch workflow, which records them as the batch's reason.
            "Chunk failed": failure_state(CHUNK_FAILED),
        },
    }
