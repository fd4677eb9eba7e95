"""Multi-region batch end to end in localcloud: rows/s for a 100,000-row file, upload to COMPLETED.

    ./venv/bin/python -m bench.batch_bench

Runs the `local` stack (1,000 rows per chunk: 100 EXPRESS chunk executions). The end-to-end time runs
from put_object of the input to the batch-state item saying COMPLETED (split, Distributed Map, three
Lambda tasks per chunk, merge, SES email, outcome). The baseline, measured in the same run against the
same emulator, is the same work without the orchestration: the handlers' own split / validate / enrich
/ write / merge functions called in this process, one chunk after another. The ratio shows what
Step Functions, the Lambda runtime and the S3 trigger add. Always exits 0: it reports.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.reporting import machine_description, result_line, write_benchmarks_md  # noqa: E402
from demos import batch  # noqa: E402
from handlers.batch import contract as layout  # noqa: E402
from handlers.batch.enrich_records import enrich_chunk  # noqa: E402
from handlers.batch.merge_chunks import merge_chunks  # noqa: E402
from handlers.batch.split_file import split_file  # noqa: E402
from handlers.batch.validate_records import validate_chunk  # noqa: E402
from handlers.batch.write_chunk import write_chunk  # noqa: E402
from localcloud.core.cloud import LocalCloud  # noqa: E402
from samples.batch_records import generate_batch  # noqa: E402

ROWS = 100_000
INVALID_ROWS = 1_000
TARGET_ROWS_PER_SECOND = 1_500.0  # issue 19: a 100,000-row file in about a minute on a 2-core laptop
TARGET_RATIO = 10.0  # ours: orchestration costs at most 10x the bare handler work
SECTION = "## Multi-region batch end to end (issue 5)"


def in_process_pipeline(cloud: LocalCloud, body: bytes) -> float:
    """The baseline: split, the three chunk steps and the merge, called directly, same emulator."""
    region = batch.primary_region(cloud)
    bucket = cloud.exports["batchBuckets"][region]
    s3 = cloud.client("s3", region)
    # The input lives outside input/ so the deployed trigger leaves it alone; `key` only names the output.
    key = "input/baseline.csv"
    file_id = "baseline" + "0" * 24
    errors = cloud.dynamodb_table(cloud.exports["batchErrorsTable"], region)
    started = time.perf_counter()
    version = s3.put_object(Bucket=bucket, Key="baseline/in.csv", Body=body)["VersionId"]
    split = split_file(
        s3,
        bucket=bucket,
        key="baseline/in.csv",
        version_id=version,
        file_id=file_id,
        records_per_chunk=int(cloud.config["regionflow:batchRecordsPerChunk"]),
    )
    for part in range(1, split["chunkCount"] + 1):
        chunk = {"bucket": bucket, "fileId": file_id, "chunkKey": layout.chunk_key(file_id, part)}
        validated = validate_chunk(chunk, s3=s3, errors_table=errors)
        enriched = enrich_chunk(
            {**chunk, "validKey": validated["validKey"]},
            s3=s3,
            dynamodb=cloud.client("dynamodb", region),
            financials_table=cloud.exports["batchFinancialsTable"],
            errors_table=errors,
        )
        write_chunk(
            {
                **chunk,
                "enrichedKey": enriched["enrichedKey"],
                "invalidRows": validated["invalidRows"],
                "missingFinancials": enriched["missingFinancials"],
            },
            s3=s3,
        )
    merge_chunks(s3, bucket=bucket, key=key, file_id=file_id, chunk_count=split["chunkCount"])
    return time.perf_counter() - started


def end_to_end(cloud: LocalCloud, body: bytes) -> tuple[float, dict[str, object]]:
    key = "input/bench-100k.csv"
    started = time.perf_counter()
    batch.upload(cloud, key, body)
    item = batch.wait_for_outcome(cloud, key, timeout_seconds=900)
    return time.perf_counter() - started, item


def main() -> int:
    sample = generate_batch(rows=ROWS, invalid_rows=INVALID_ROWS, seed=5)
    print(f"input: {ROWS:,} rows ({len(sample.input_csv) / 1e6:.1f} MB), {INVALID_ROWS:,} invalid")
    with LocalCloud("local", time_scale=0.01) as cloud:
        loaded_started = time.perf_counter()
        loaded = batch.load_financial_data(cloud, sample)
        print(f"financial data: {loaded:,} rows loaded in {time.perf_counter() - loaded_started:.1f} s")
        chunk_rows = int(cloud.config["regionflow:batchRecordsPerChunk"])
        baseline_seconds = in_process_pipeline(cloud, sample.input_csv)
        seconds, item = end_to_end(cloud, sample.input_csv)
    rows_per_second = ROWS / seconds
    baseline_rows_per_second = ROWS / baseline_seconds
    ratio = seconds / baseline_seconds
    completed = item.get("status") == "COMPLETED" and int(str(item.get("rows"))) == ROWS - INVALID_ROWS
    lines = [
        f"Machine: {machine_description()}. Stack `local`, {chunk_rows:,} rows per chunk "
        f"({ROWS // chunk_rows} EXPRESS chunk executions).",
        f"- end to end (put_object -> COMPLETED, email sent): {seconds:.1f} s = "
        f"{rows_per_second:,.0f} rows/s; outcome {item.get('status')}, {item.get('rows')} rows written, "
        f"{item.get('invalidRows')} invalid"
        + ("" if completed else " (WRONG: expected COMPLETED with every valid row)"),
        f"- baseline, the same handler functions called in-process: {baseline_seconds:.1f} s = "
        f"{baseline_rows_per_second:,.0f} rows/s",
        f"- ratio end to end / baseline: {ratio:.2f}x "
        "(what Step Functions, the Lambda runtime and S3 events add)",
        "",
        "```",
        result_line("batch_rows_per_second", rows_per_second, "rows/s", ">=", TARGET_ROWS_PER_SECOND),
        result_line("batch_orchestration_ratio", ratio, "x", "<=", TARGET_RATIO),
        "```",
        "",
        "Command: `./venv/bin/python -m bench.batch_bench`",
    ]
    print("\n".join(lines))
    write_benchmarks_md(SECTION, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
