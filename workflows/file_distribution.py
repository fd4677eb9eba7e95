"""File distribution: validate, log, copy a build to every regional bucket, record the outcome, alert.

Input: {"sourceBucket", "sourceKey", "versionId", "destinations": [{"bucket", "region"}, ...]}, as the
replication worker starts it. Each copy retries transient errors with exponential backoff and full jitter
and is caught on its own, so one unreachable region never hides the others' results; a copy S3 rejects
for good is caught at once.
"""

from __future__ import annotations

from typing import Any

from handlers.artifacts.contract import COPY_TRANSIENT_ERRORS, TRACKING_TABLE_KEY, TRACKING_TABLE_SORT_KEY
from workflows.states import State, lambda_task, service_task

MAX_PARALLEL_COPIES = 10
# A copy is an S3 server-side operation: back off 2, 4, 8, 16 s (jittered) on what may pass. Only the
# transient errors are named: a rejected copy (missing bucket or object, access denied) or a bad input
# can never succeed, so it goes straight to "Record copy failure" rather than through the retries.
COPY_RETRY: State = {
    "ErrorEquals": list(COPY_TRANSIENT_ERRORS),
    "IntervalSeconds": 2,
    "MaxAttempts": 4,
    "BackoffRate": 2,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}
TRACKING_KEY = {
    TRACKING_TABLE_KEY: {"S.$": "$.sourceKey"},
    TRACKING_TABLE_SORT_KEY: {"S.$": "$.sourceBucket"},
}


def build_definition(
    *,
    validate_arn: str,
    copy_arn: str,
    process_results_arn: str,
    tracking_table: str,
    failure_topic_arn: str,
) -> dict[str, Any]:
    """The state machine (Amazon States Language) as a dict; the component serialises it."""
    return {
        "Comment": "Copy a new build to every regional bucket, record the outcome, alert on any failure",
        "StartAt": "Validate input",
        "States": {
            "Validate input": lambda_task(
                validate_arn,
                next_state="Log workflow start",
                catch_to="Notify workflow failure",
                OutputPath="$.Payload",
            ),
            "Log workflow start": service_task(
                "arn:aws:states:::dynamodb:putItem",
                {
                    "TableName": tracking_table,
                    "Item": {
                        **TRACKING_KEY,
                        "versionId": {"S.$": "$.versionId"},
                        "status": {"S": "IN_PROGRESS"},
                        "executionArn": {"S.$": "$$.Execution.Id"},
                        "startTime": {"S.$": "$$.Execution.StartTime"},
                        "totalBuckets": {"N.$": "States.Format('{}', States.ArrayLength($.destinations))"},
                    },
                    # One distribution of a file at a time: another is refused while one is IN_PROGRESS
                    # (a retry of this very execution's put is not). Once it is final an operator may
                    # distribute the file again, as the seed's manual start-execution does; a redelivered
                    # S3 event cannot, its deterministic execution name being the first one's.
                    "ConditionExpression": (
                        f"attribute_not_exists({TRACKING_TABLE_KEY}) OR executionArn = :execution "
                        "OR #status <> :in_progress"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":execution": {"S.$": "$$.Execution.Id"},
                        ":in_progress": {"S": "IN_PROGRESS"},
                    },
                },
                next_state="Copy to every regional bucket",
                catch_to="Notify workflow failure",
                ResultPath=None,
            ),
            "Copy to every regional bucket": {
                "Type": "Map",
                "ItemsPath": "$.destinations",
                "MaxConcurrency": MAX_PARALLEL_COPIES,
                "ItemSelector": {
                    "sourceBucket.$": "$.sourceBucket",
                    "sourceKey.$": "$.sourceKey",
                    "versionId.$": "$.versionId",
                    "destination.$": "$$.Map.Item.Value",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Copy to bucket",
                    "States": {
                        "Copy to bucket": lambda_task(
                            copy_arn,
                            next_state=None,
                            extra_retries=[COPY_RETRY],
                            catch_to="Record copy failure",
                            OutputPath="$.Payload",
                        ),
                        "Record copy failure": {
                            "Type": "Pass",
                            "Parameters": {
                                "bucket.$": "$.destination.bucket",
                                "region.$": "$.destination.region",
                                "status": "FAILED",
                                "error.$": "$.error",
                            },
                            "End": True,
                        },
                    },
                },
                "ResultPath": "$.results",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.error",
                        "Next": "Record workflow failure",
                    }
                ],
                "Next": "Process results",
            },
            "Process results": lambda_task(
                process_results_arn,
                payload={
                    "sourceBucket.$": "$.sourceBucket",
                    "sourceKey.$": "$.sourceKey",
                    "executionArn.$": "$$.Execution.Id",
                    "startedAt.$": "$$.Execution.StartTime",
                    "results.$": "$.results",
                },
                next_state="Update DynamoDB final",
                catch_to="Record workflow failure",
                ResultSelector={
                    "status.$": "$.Payload.status",
                    "totalBuckets.$": "$.Payload.totalBuckets",
                    "successfulCopies.$": "$.Payload.successfulCopies",
                    "failedCopies.$": "$.Payload.failedCopies",
                    "completedAt.$": "$.Payload.completedAt",
                    "results.$": "$.Payload.results",
                    "notification.$": "$.Payload.notification",
                },
                ResultPath="$.summary",
            ),
            "Update DynamoDB final": service_task(
                "arn:aws:states:::dynamodb:updateItem",
                {
                    "TableName": tracking_table,
                    "Key": TRACKING_KEY,
                    "UpdateExpression": (
                        "SET #status = :status, totalBuckets = :total, successfulCopies = :ok, "
                        "failedCopies = :failed, endTime = :end, results = :results"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":status": {"S.$": "$.summary.status"},
                        ":total": {"N.$": "States.Format('{}', $.summary.totalBuckets)"},
                        ":ok": {"N.$": "States.Format('{}', $.summary.successfulCopies)"},
                        ":failed": {"N.$": "States.Format('{}', $.summary.failedCopies)"},
                        ":end": {"S.$": "$.summary.completedAt"},
                        ":results": {"S.$": "States.JsonToString($.summary.results)"},
                    },
                },
                next_state="Check if all successful",
                catch_to="Record workflow failure",
                ResultPath=None,
            ),
            "Check if all successful": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.summary.status",
                        "StringEquals": "SUCCEEDED",
                        "Next": "Distribution succeeded",
                    }
                ],
                "Default": "Send failure notification",
            },
            "Send failure notification": service_task(
                "arn:aws:states:::sns:publish",
                {
                    "TopicArn": failure_topic_arn,
                    "Subject.$": "$.summary.notification.subject",
                    "Message.$": "$.summary.notification.message",
                    "MessageAttributes": {
                        "status": {"DataType": "String", "StringValue.$": "$.summary.status"},
                    },
                },
                next_state="Distribution incomplete",
                catch_to="Distribution incomplete",
                ResultPath=None,
            ),
            "Distribution succeeded": {"Type": "Succeed"},
            "Distribution incomplete": {
                "Type": "Fail",
                "Error": "DistributionIncomplete",
                "Cause": "At least one regional bucket did not receive the build; see the tracking table",
            },
            "Record workflow failure": service_task(
                "arn:aws:states:::dynamodb:updateItem",
                {
                    "TableName": tracking_table,
                    "Key": TRACKING_KEY,
                    "UpdateExpression": "SET #status = :status, failure = :failure",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":status": {"S": "FAILED"},
                        ":failure": {"S.$": "States.JsonToString($.error)"},
                    },
                },
                next_state="Notify workflow failure",
                catch_to="Notify workflow failure",
                ResultPath=None,
            ),
            "Notify workflow failure": service_task(
                "arn:aws:states:::sns:publish",
                {
                    "TopicArn": failure_topic_arn,
                    "Subject": "File distribution failed",
                    "Message.$": "States.Format('❌ File distribution failed before completing: {}', "
                    "States.JsonToString($.error))",
                    "MessageAttributes": {"status": {"DataType": "String", "StringValue": "FAILED"}},
                },
                next_state="Distribution failed",
                catch_to="Distribution failed",
                ResultPath=None,
            ),
            "Distribution failed": {
                "Type": "Fail",
                "Error": "DistributionFailed",
                "Cause": "The workflow could not complete; the failure is recorded and was notified",
            },
        },
    }
