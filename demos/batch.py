"""Multi-region batch, end to end: a CSV upload becomes an enriched CSV, error rows and an emailed link."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from demos.waiting import wait_until
from localcloud.core.cloud import LocalCloud
from samples.batch_records import BatchSample, generate_batch
from scripts.load_financials import load_financials

Report = Callable[[str], None]
FINAL_STATUSES = ("COMPLETED", "FAILED")
_URL = re.compile(r"https?://\S+")


def primary_region(cloud: LocalCloud) -> str:
    return str(cloud.exports["regions"][0])


def standby_region(cloud: LocalCloud) -> str:
    return str(cloud.exports["regions"][1])


def load_financial_data(cloud: LocalCloud, sample: BatchSample) -> int:
    """Load the sample's financial CSV into the primary replica (the global table copies it over)."""
    table = cloud.dynamodb_table(cloud.exports["batchFinancialsTable"], primary_region(cloud))
    return load_financials(table, sample.financials_csv.decode("utf-8").splitlines(keepends=True))


def upload(cloud: LocalCloud, key: str, body: bytes, region: str | None = None) -> str:
    """Put a CSV into a region's batch bucket (the primary by default); return its version id."""
    region = region or primary_region(cloud)
    response = cloud.client("s3", region).put_object(
        Bucket=cloud.exports["batchBuckets"][region], Key=key, Body=body
    )
    return str(response.get("VersionId") or "null")


def batch_state(cloud: LocalCloud, key: str, region: str | None = None) -> dict[str, Any] | None:
    table = cloud.dynamodb_table(cloud.exports["batchStateTable"], region or primary_region(cloud))
    item = table.get_item(Key={"fileKey": key}, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def wait_for_outcome(
    cloud: LocalCloud, key: str, *, region: str | None = None, timeout_seconds: float = 120.0
) -> dict[str, Any]:
    """The batch-state item of `key` once it is COMPLETED or FAILED."""

    def finished() -> dict[str, Any] | None:
        item = batch_state(cloud, key, region)
        return item if item and item.get("status") in FINAL_STATUSES else None

    item: dict[str, Any] = wait_until(finished, f"batch {key} finishing", timeout_seconds)
    return item


def error_rows(cloud: LocalCloud, file_id: str, region: str | None = None) -> list[dict[str, Any]]:
    table = cloud.dynamodb_table(cloud.exports["batchErrorsTable"], region or primary_region(cloud))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "fileId = :id",
        "ExpressionAttributeValues": {":id": file_id},
        "ConsistentRead": True,
    }
    while True:
        page = table.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def link_email(cloud: LocalCloud, key: str, region: str | None = None) -> dict[str, Any] | None:
    """The most recent download-link email that names `key`."""
    emails = [
        email for email in cloud.sent_emails(region or primary_region(cloud)) if key in email["subject"]
    ]
    return emails[-1] if emails else None


def download_link(email: dict[str, Any]) -> str:
    found = _URL.search(email["body"])
    if found is None:
        raise ValueError(f"no link in the email {email['subject']!r}")
    return found.group(0)


def executions(cloud: LocalCloud, region: str) -> list[dict[str, Any]]:
    sfn = cloud.client("stepfunctions", region)
    arn = cloud.exports["batchStateMachineArns"][region]
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


def run(cloud: LocalCloud, report: Report) -> bool:
    report("== Multi-region batch")
    checks: list[tuple[str, bool]] = []
    region = primary_region(cloud)
    sample = generate_batch(rows=1000, invalid_rows=37, seed=7)
    loaded = load_financial_data(cloud, sample)
    report(f"financial data: {loaded:,} rows loaded into {cloud.exports['batchFinancialsTable']}")

    key = "input/demo-sales.csv"
    started = time.monotonic()
    upload(cloud, key, sample.input_csv)
    report(f"uploaded s3://{cloud.exports['batchBuckets'][region]}/{key}: 1,000 rows, 37 of them invalid")
    item = wait_for_outcome(cloud, key)
    elapsed = time.monotonic() - started
    report(
        f"batch state: {item['status']} after {elapsed:.1f} s, {item.get('rows')} rows written, "
        f"{item.get('invalidRows')} invalid, output {item.get('outputKey')}"
    )
    errors = error_rows(cloud, str(item["fileId"]))
    if errors:
        first = min(errors, key=lambda row: int(row["rowNumber"]))
        report(f"errors table: {len(errors)} rows, e.g. row {first['rowNumber']}: {first['reason']}")
    email = wait_until(lambda: link_email(cloud, key), f"the download-link email for {key}", 30)
    report(f"email to {', '.join(email['to'])}: {email['subject']!r}")
    downloaded = cloud.request("GET", download_link(email))
    lines = downloaded.body.decode("utf-8").splitlines()
    report(f"GET presigned link -> {downloaded.status}, {len(lines) - 1} data rows; first: {lines[1][:100]}")

    checks.append(("batch COMPLETED", item["status"] == "COMPLETED"))
    checks.append(("963 enriched rows written", int(item.get("rows", -1)) == 963))
    checks.append(
        ("37 invalid rows recorded with a reason", len(errors) == 37 and all(e["reason"] for e in errors))
    )
    checks.append(("the emailed link downloads the output", downloaded.status == 200 and len(lines) == 964))
    checks.append(("one execution in the active region", len(executions(cloud, region)) == 1))
    for label, passed in checks:
        report(f"  [{'ok' if passed else 'FAILED'}] {label}")
    return all(passed for _, passed in checks)
