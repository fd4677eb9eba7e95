"""Step Functions task "Write output chunk": turn one chunk's enriched rows back into CSV.

The processed chunk carries records.OUTPUT_HEADER and one row per valid input row, in row order, with the
financial columns blank where the table had none and cells that start like spreadsheet formulas written
as text (records.output_cells). Its object metadata holds the chunk's counts
(`valid-rows`, `invalid-rows`, `missing-financials`) so the merge step can sum them without reading
the errors table.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.batch import contract
from handlers.batch.chunk_work import count_field, get_text, read_json_lines, text_field
from handlers.batch.records import OUTPUT_HEADER, output_cells

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
VALID_ROWS_METADATA = "valid-rows"
INVALID_ROWS_METADATA = "invalid-rows"
MISSING_FINANCIALS_METADATA = "missing-financials"

logger = Logger(service="batch-write-chunk")
tracer = Tracer(service="batch-write-chunk")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


@functools.cache
def s3_client() -> S3Client:
    """Built on first use (not at import) so tests can import the module under moto."""
    return boto3.client("s3")


def write_chunk(event: Mapping[str, Any], *, s3: S3Client) -> dict[str, Any]:
    """Write the processed chunk CSV for one chunk; returns its key and row count."""
    bucket = text_field(event, "bucket")
    file_id = text_field(event, "fileId")
    chunk_key = text_field(event, "chunkKey")
    enriched_key = text_field(event, "enrichedKey")
    invalid_rows = count_field(event, "invalidRows")
    reported_missing = count_field(event, "missingFinancials")
    text = get_text(s3, bucket, enriched_key, written_by='"Enrich records"')
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(OUTPUT_HEADER)
    rows = missing = 0
    for row in read_json_lines(text):
        writer.writerow(output_cells(row["record"], row.get("financials")))
        rows += 1
        missing += row.get("financials") is None
    if missing != reported_missing:
        # The file is the truth; a mismatch means the workflow passed another chunk's count.
        logger.warning(
            "missingFinancials in the input differs from the enriched file; using the file's count",
            extra={"reported": reported_missing, "inFile": missing, "enrichedKey": enriched_key},
        )
    output_key = contract.processed_key(file_id, contract.part_of(chunk_key))
    s3.put_object(
        Bucket=bucket,
        Key=output_key,
        Body=buffer.getvalue().encode("utf-8"),
        ContentType=CSV_CONTENT_TYPE,
        Metadata={
            VALID_ROWS_METADATA: str(rows),
            INVALID_ROWS_METADATA: str(invalid_rows),
            MISSING_FINANCIALS_METADATA: str(missing),
        },
    )
    metrics.add_metric(name=contract.ROWS_WRITTEN, unit=MetricUnit.Count, value=rows)
    return {"outputChunkKey": output_key, "rows": rows}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = write_chunk(event, s3=s3_client())
    logger.info("wrote output chunk", extra={"chunkKey": event.get("chunkKey"), **result})
    return result
