"""Step Functions task "Enrich records": add each valid row's financial data, read in batches.

The financial table is read with BatchGetItem (100 uuids a request), never one call per row. A uuid the
table lacks is recorded in the errors table (stage "enrich") and counted in the MissingFinancials
metric; its row stays in the output with blank financial columns, so the chunk does not fail.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.batch import contract, financials
from handlers.batch.chunk_work import get_text, put_json_lines, read_json_lines, text_field
from handlers.batch.contract import EnrichSettings
from handlers.batch.errors_table import STAGE_ENRICH, RowError, record_errors
from handlers.batch.records import RECORD_FIELDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

logger = Logger(service="batch-enrich-records")
tracer = Tracer(service="batch-enrich-records")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


@dataclass(frozen=True)
class EnrichDependencies:
    s3: S3Client
    dynamodb: DynamoDBClient
    financials_table: str
    errors_table: Table


@functools.cache
def dependencies() -> EnrichDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = EnrichSettings.from_environment(os.environ)
    return EnrichDependencies(
        s3=boto3.client("s3"),
        dynamodb=boto3.client("dynamodb"),
        financials_table=settings.financials_table,
        errors_table=boto3.resource("dynamodb").Table(settings.errors_table),
    )


def missing_financials_reason(uuid: str) -> str:
    return f"no financial data for uuid {uuid}"


def enrich_chunk(
    event: Mapping[str, Any],
    *,
    s3: S3Client,
    dynamodb: DynamoDBClient | DynamoDBServiceResource,
    financials_table: str,
    errors_table: Table,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Enrich one chunk's valid rows into its enriched file; record the rows without financial data."""
    bucket = text_field(event, "bucket")
    file_id = text_field(event, "fileId")
    chunk_key = text_field(event, "chunkKey")
    valid_key = text_field(event, "validKey")
    rows = list(read_json_lines(get_text(s3, bucket, valid_key, written_by='"Validate records"')))
    found = financials.get_many(dynamodb, financials_table, (row["record"]["uuid"] for row in rows))
    enriched: list[dict[str, Any]] = []
    missing: list[RowError] = []
    for row in rows:
        record: dict[str, str] = row["record"]
        row_financials = found.get(record["uuid"])
        enriched.append({"rowNumber": row["rowNumber"], "record": record, "financials": row_financials})
        if row_financials is None:
            missing.append(
                RowError(
                    file_id=file_id,
                    row_number=int(row["rowNumber"]),
                    chunk_key=chunk_key,
                    stage=STAGE_ENRICH,
                    reason=missing_financials_reason(record["uuid"]),
                    row=tuple(record.get(field, "") for field in RECORD_FIELDS),
                    field="uuid",
                )
            )
    enriched_key = contract.enriched_key(file_id, contract.part_of(chunk_key))
    put_json_lines(s3, bucket, enriched_key, enriched)
    record_errors(errors_table, missing, now=now)
    metrics.add_metric(name=contract.MISSING_FINANCIALS, unit=MetricUnit.Count, value=len(missing))
    return {"enrichedKey": enriched_key, "enrichedRows": len(enriched), "missingFinancials": len(missing)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    result = enrich_chunk(
        event,
        s3=deps.s3,
        dynamodb=deps.dynamodb,
        financials_table=deps.financials_table,
        errors_table=deps.errors_table,
    )
    logger.info("enriched chunk", extra={"chunkKey": event.get("chunkKey"), **result})
    return result
