"""Batch processing (STANDARD): split a CSV, process every chunk, merge in order, email a download link.

Input: {"bucket", "key", "versionId", "fileId"}, as the trigger starts it after claiming the batch in the
batch-state table (status PROCESSING). The end state of every run is recorded there: COMPLETED with the
output key and counts, or FAILED with the reason caught from whichever step failed.

Fan-out is a Distributed Map over the manifest the split step writes (one chunk key per line), each item
running the chunk processor (workflows/chunk_processor.py) as an EXPRESS child workflow. Chosen over an
inline Map because the chunk list is read from S3 rather than carried in the state (no 256 KB ceiling
on chunk count) and child executions keep their events out of this execution's 25,000-event history,
so a file of any size fits; up to 10,000 chunks run in parallel where an inline Map stops at 40. A
chunk that fails (after its tasks' own retries) fails the Map (no failure is tolerated), which records
the batch as FAILED.
"""

from __future__ import annotations

from typing import Any

from handlers.batch.contract import (
    BATCH_STATE_KEY,
    MANIFEST_HEADER,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_INDEX_KEY,
)
from workflows.chunk_processor import TRANSIENT_RETRY, build_item_processor
from workflows.states import failure_state, lambda_task, service_task

DEFAULT_MAX_CONCURRENCY = 50
# Names the Distributed Map run: its child executions are `execution:<machine>/<label>:<id>`.
CHUNKS_MAP_LABEL = "Chunks"
BATCH_FAILED = "BatchFailed"


def build_definition(
    *,
    split_arn: str,
    merge_arn: str,
    email_arn: str,
    validate_arn: str,
    enrich_arn: str,
    write_arn: str,
    batch_state_table: str,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> dict[str, Any]:
    """The state machine (Amazon States Language) as a dict; the component serialises it."""
    batch_key = {BATCH_STATE_KEY: {"S.$": "$.key"}}
    # Only this batch's own version may set the outcome: a newer upload of the same name owns the item.
    same_version = {":versionId": {"S.$": "$.versionId"}}
    return {
        "Comment": "Split a batch file, process every chunk, merge in order, email the link, record it",
        "StartAt": "Split input file",
        "States": {
            "Split input file": lambda_task(
                split_arn,
                payload={
                    "bucket.$": "$.bucket",
                    "key.$": "$.key",
                    "versionId.$": "$.versionId",
                    "fileId.$": "$.fileId",
                },
                next_state="Process chunks",
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Record failure",
                ResultSelector={
                    "manifestKey.$": "$.Payload.manifestKey",
                    "chunkCount.$": "$.Payload.chunkCount",
                    "rowCount.$": "$.Payload.rowCount",
                },
                ResultPath="$.split",
            ),
            "Process chunks": {
                "Type": "Map",
                "Label": CHUNKS_MAP_LABEL,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                    "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.split.manifestKey"},
                },
                "ItemSelector": {
                    "bucket.$": "$.bucket",
                    "fileId.$": "$.fileId",
                    "chunkKey.$": f"$$.Map.Item.Value.{MANIFEST_HEADER}",
                },
                "MaxConcurrency": max_concurrency,
                "ItemProcessor": build_item_processor(
                    validate_arn=validate_arn, enrich_arn=enrich_arn, write_arn=write_arn
                ),
                # Chunk results live in S3 (processed/<fileId>/); the merge step reads them from there.
                "ResultPath": None,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record failure"}],
                "Next": "Merge chunks",
            },
            "Merge chunks": lambda_task(
                merge_arn,
                payload={
                    "bucket.$": "$.bucket",
                    "key.$": "$.key",
                    "fileId.$": "$.fileId",
                    "chunkCount.$": "$.split.chunkCount",
                },
                next_state="Email download link",
                # Like the split, the merge rewrites the same objects when run again. The email is
                # retried on Lambda's own errors only: a send that timed out may have gone out.
                extra_retries=[TRANSIENT_RETRY],
                catch_to="Record failure",
                ResultSelector={
                    "outputKey.$": "$.Payload.outputKey",
                    "rows.$": "$.Payload.rows",
                    "invalidRows.$": "$.Payload.invalidRows",
                    "missingFinancials.$": "$.Payload.missingFinancials",
                },
                ResultPath="$.merge",
            ),
            "Email download link": lambda_task(
                email_arn,
                payload={
                    "bucket.$": "$.bucket",
                    "key.$": "$.key",
                    "outputKey.$": "$.merge.outputKey",
                    "rows.$": "$.merge.rows",
                    "invalidRows.$": "$.merge.invalidRows",
                    "missingFinancials.$": "$.merge.missingFinancials",
                },
                next_state="Record completion",
                catch_to="Record failure",
                ResultSelector={"messageId.$": "$.Payload.messageId"},
                ResultPath="$.email",
            ),
            "Record completion": service_task(
                "arn:aws:states:::dynamodb:updateItem",
                {
                    "TableName": batch_state_table,
                    "Key": batch_key,
                    "UpdateExpression": (
                        "SET #status = :completed, outputKey = :outputKey, #rows = :rows, "
                        "invalidRows = :invalidRows, missingFinancials = :missing, "
                        "completedAt = :now, updatedAt = :now"
                    ),
                    "ConditionExpression": "versionId = :versionId",
                    "ExpressionAttributeNames": {"#status": STATUS_INDEX_KEY, "#rows": "rows"},
                    "ExpressionAttributeValues": {
                        **same_version,
                        ":completed": {"S": STATUS_COMPLETED},
                        ":outputKey": {"S.$": "$.merge.outputKey"},
                        ":rows": {"N.$": "States.Format('{}', $.merge.rows)"},
                        ":invalidRows": {"N.$": "States.Format('{}', $.merge.invalidRows)"},
                        ":missing": {"N.$": "States.Format('{}', $.merge.missingFinancials)"},
                        ":now": {"S.$": "$$.State.EnteredTime"},
                    },
                },
                next_state="Batch completed",
                catch_to="Record failure",
                ResultPath=None,
            ),
            "Batch completed": {"Type": "Succeed"},
            "Record failure": service_task(
                "arn:aws:states:::dynamodb:updateItem",
                {
                    "TableName": batch_state_table,
                    "Key": batch_key,
                    "UpdateExpression": "SET #status = :failed, reason = :reason, updatedAt = :now",
                    "ConditionExpression": "versionId = :versionId",
                    "ExpressionAttributeNames": {"#status": STATUS_INDEX_KEY},
                    "ExpressionAttributeValues": {
                        **same_version,
                        ":failed": {"S": STATUS_FAILED},
                        ":reason": {"S.$": "States.Format('{}: {}', $.error.Error, $.error.Cause)"},
                        ":now": {"S.$": "$$.State.EnteredTime"},
                    },
                },
                next_state="Batch failed",
                catch_to="Batch failed",
                ResultPath=None,
            ),
            "Batch failed": failure_state(BATCH_FAILED),
        },
    }
