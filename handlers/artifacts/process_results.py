"""Step Functions task "Process results": turn the Map's per-bucket outcomes into counts, a status
and the failure notification the workflow publishes to SNS.

Each result is a copy_to_bucket output or a Catch result
`{"bucket", "region", "status": "FAILED", "error": {"Error": ..., "Cause": ...}}`, where a Lambda
error's Cause is the JSON `{"errorMessage", "errorType", ...}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_SNS_SUBJECT_CHARS = 100
# The summary travels through workflow state (256 KB) into one DynamoDB item (400 KB): bound each error.
MAX_ERROR_CHARS = 500

STATUS_SUCCEEDED = "SUCCEEDED"
STATUS_PARTIAL = "PARTIAL"
STATUS_FAILED = "FAILED"

logger = Logger(service="artifact-process-results")
tracer = Tracer(service="artifact-process-results")
metrics = Metrics(namespace="regionflow", service="artifact-process-results")


@dataclass(frozen=True)
class BucketOutcome:
    bucket: str
    region: str
    succeeded: bool
    error: str | None = None
    copied_at: str | None = None

    def compact(self) -> dict[str, str]:
        entry = {
            "bucket": self.bucket,
            "region": self.region,
            "status": STATUS_SUCCEEDED if self.succeeded else STATUS_FAILED,
        }
        if self.error is not None:
            entry["error"] = self.error
        if self.copied_at is not None:
            entry["copiedAt"] = self.copied_at
        return entry


def error_text(error: object) -> str:
    """`<type>: <message>` from a Catch result's {"Error", "Cause"}, however much of it is there."""
    if not isinstance(error, Mapping):
        return "unknown error" if error is None else str(error)[:MAX_ERROR_CHARS]
    name = str(error.get("Error") or "UnknownError")
    cause = error.get("Cause")
    message = "" if cause is None else str(cause)
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
            name = str(parsed.get("errorType") or name)
            message = str(parsed["errorMessage"])
    text = f"{name}: {message}" if message else name
    return text[:MAX_ERROR_CHARS]


def outcome_of(result: object) -> BucketOutcome:
    if not isinstance(result, Mapping):
        return BucketOutcome(bucket="?", region="?", succeeded=False, error=f"unreadable result {result!r}")
    bucket = str(result.get("bucket") or "?")
    region = str(result.get("region") or "?")
    if result.get("status") == STATUS_SUCCEEDED and "error" not in result:
        copied_at = result.get("copiedAt")
        return BucketOutcome(bucket, region, succeeded=True, copied_at=str(copied_at) if copied_at else None)
    return BucketOutcome(bucket, region, succeeded=False, error=error_text(result.get("error")))


def ascii_subject(text: str) -> str:
    """SNS subjects must be ASCII without control characters and at most 100 characters."""
    return "".join(char if " " <= char <= "~" else "?" for char in text)[:MAX_SNS_SUBJECT_CHARS]


def notification(
    *,
    status: str,
    source_bucket: str,
    source_key: str,
    execution_arn: str,
    started_at: str,
    completed_at: str,
    outcomes: Sequence[BucketOutcome],
) -> dict[str, str]:
    total = len(outcomes)
    succeeded = [o for o in outcomes if o.succeeded]
    failed = [o for o in outcomes if not o.succeeded]
    headline = {
        STATUS_FAILED: f"❌ Distribution FAILED: no regional bucket received {source_key}",
        STATUS_PARTIAL: (
            f"⚠️ Distribution PARTIAL: {len(failed)} of {total} regional buckets did not receive {source_key}"
        ),
        STATUS_SUCCEEDED: f"✅ Distribution SUCCEEDED: every regional bucket received {source_key}",
    }[status]
    lines = [
        headline,
        "",
        f"📦 File: {source_key}",
        f"🪣 Source bucket: {source_bucket}",
        f"🔁 Execution: {execution_arn}",
        f"🕒 Started: {started_at}   Completed: {completed_at}",
        f"📊 Buckets: {total} total, {len(succeeded)} succeeded, {len(failed)} failed",
    ]
    if failed:
        lines += ["", "Failed copies:"]
        lines += [f"❌ {o.bucket} ({o.region}): {o.error}" for o in failed]
    if succeeded:
        lines += ["", "Successful copies:"]
        lines += [f"✅ {o.bucket} ({o.region})" for o in succeeded]
    subject = f"regionflow distribution {status}: {source_key} ({len(succeeded)}/{total} copied)"
    return {"subject": ascii_subject(subject), "message": "\n".join(lines)}


def process_results(payload: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """Counts, overall status, compact results and the notification for one distribution."""
    raw_results = payload.get("results")
    outcomes = [outcome_of(result) for result in (raw_results if isinstance(raw_results, list) else [])]
    successful = sum(1 for o in outcomes if o.succeeded)
    failed = len(outcomes) - successful
    # No bucket received the file (including an empty result list): that is a failure, not a success.
    if outcomes and failed == 0:
        status = STATUS_SUCCEEDED
    elif successful == 0:
        status = STATUS_FAILED
    else:
        status = STATUS_PARTIAL
    completed_at = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "totalBuckets": len(outcomes),
        "successfulCopies": successful,
        "failedCopies": failed,
        "status": status,
        "results": [o.compact() for o in outcomes],
        "completedAt": completed_at,
        "notification": notification(
            status=status,
            source_bucket=str(payload.get("sourceBucket", "?")),
            source_key=str(payload.get("sourceKey", "?")),
            execution_arn=str(payload.get("executionArn", "?")),
            started_at=str(payload.get("startedAt", "?")),
            completed_at=completed_at,
            outcomes=outcomes,
        ),
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = process_results(event, now=datetime.now(UTC))
    metrics.add_metric(name="BucketCopiesSucceeded", unit=MetricUnit.Count, value=summary["successfulCopies"])
    metrics.add_metric(name="BucketCopiesFailed", unit=MetricUnit.Count, value=summary["failedCopies"])
    logger.info(
        "distribution finished",
        extra={"status": summary["status"], "key": event.get("sourceKey"), "failed": summary["failedCopies"]},
    )
    return summary
