"""Merge: every processed part, in part order, under one header; large outputs go up in multipart parts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from handlers.batch import contract, merge_chunks, records
from handlers.batch.merge_chunks import IncompleteChunksError, InvalidPartError

from ..conftest import FakeLambdaContext
from .conftest import BUCKET, BatchCloud

KEY = "input/sales.csv"
OUTPUT_KEY = "output/sales.csv"
FILE_ID = "a" * 32
HEADER_LINE = records.csv_line(records.OUTPUT_HEADER)
ONE_ROW = {"valid-rows": "1", "invalid-rows": "0", "missing-financials": "0"}


def output_row(uuid: str, country: str = "Azerbaijan") -> list[str]:
    return [uuid, country, "Snacks", "Online", "C", "10/8/14", "Middle East and North Africa", "10/23/14",
            "934", "152.58", "97.44", "142509.72", "91008.96", "51500.76"]  # fmt: skip


def put_part(
    cloud: BatchCloud,
    part: int,
    rows: list[list[str]],
    *,
    invalid: int = 0,
    missing: int = 0,
    body: bytes | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """A processed part as the chunk workflow's write step leaves it: header, rows, count metadata."""
    data = body if body is not None else (HEADER_LINE + "".join(records.csv_line(r) for r in rows)).encode()
    cloud.s3.put_object(
        Bucket=BUCKET,
        Key=contract.processed_key(FILE_ID, contract.part_name(part)),
        Body=data,
        Metadata=metadata
        if metadata is not None
        else {"valid-rows": str(len(rows)), "invalid-rows": str(invalid), "missing-financials": str(missing)},
    )


def merge(cloud: BatchCloud, chunk_count: int) -> dict[str, Any]:
    return merge_chunks.merge_chunks(
        cloud.s3, bucket=BUCKET, key=KEY, file_id=FILE_ID, chunk_count=chunk_count
    )


def output_rows(cloud: BatchCloud) -> list[list[str]]:
    return list(csv.reader(io.StringIO(cloud.text(OUTPUT_KEY), newline="")))


def test_parts_are_merged_in_part_order_under_one_header_with_counts_summed(batch_cloud: BatchCloud) -> None:
    # GIVEN three processed parts, written out of order, each with its header and counts
    put_part(batch_cloud, 3, [output_row("300000001")], invalid=2)
    put_part(batch_cloud, 1, [output_row("100000001"), output_row("100000002")], missing=1)
    put_part(batch_cloud, 2, [output_row("200000001", country="Korea, South")], invalid=1, missing=1)
    # WHEN they are merged
    result = merge(batch_cloud, 3)
    # THEN the output has one header, then the rows in part order (quoted cells intact)
    rows = output_rows(batch_cloud)
    assert tuple(rows[0]) == records.OUTPUT_HEADER
    assert [row[0] for row in rows[1:]] == ["100000001", "100000002", "200000001", "300000001"]
    assert rows[3][1] == "Korea, South"
    assert sum(1 for row in rows if tuple(row) == records.OUTPUT_HEADER) == 1
    # AND the result sums every part's counts
    assert result == {
        "outputKey": OUTPUT_KEY,
        "rows": 4,
        "invalidRows": 3,
        "missingFinancials": 2,
        "chunkCount": 3,
    }


def test_a_part_whose_rows_were_all_invalid_adds_no_rows(batch_cloud: BatchCloud) -> None:
    put_part(batch_cloud, 1, [output_row("100000001")])
    put_part(batch_cloud, 2, [], invalid=5)
    result = merge(batch_cloud, 2)
    assert len(output_rows(batch_cloud)) == 2 and result["invalidRows"] == 5


def test_a_part_without_a_final_line_break_does_not_glue_rows_together(batch_cloud: BatchCloud) -> None:
    # GIVEN a first part whose last row has no line break
    last_row = ",".join(output_row("100000001"))
    put_part(batch_cloud, 1, [], body=(HEADER_LINE + last_row).encode(), metadata=ONE_ROW)
    put_part(batch_cloud, 2, [output_row("200000001")])
    # WHEN the parts are merged
    merge(batch_cloud, 2)
    # THEN both rows are whole
    assert [row[0] for row in output_rows(batch_cloud)[1:]] == ["100000001", "200000001"]


def test_more_than_1000_parts_are_all_merged(batch_cloud: BatchCloud) -> None:
    # GIVEN 1,001 parts: more than one ListObjectsV2 page
    for part in range(1, 1002):
        put_part(batch_cloud, part, [output_row(f"{part:09d}")])
    # WHEN they are merged
    result = merge(batch_cloud, 1001)
    # THEN every part's row is there, in order
    assert [row[0] for row in output_rows(batch_cloud)[1:]] == [f"{part:09d}" for part in range(1, 1002)]
    assert result["rows"] == 1001


def test_an_output_over_5_mib_is_uploaded_in_multipart_parts(batch_cloud: BatchCloud) -> None:
    # GIVEN three parts of ~2.5 MiB each
    expected = [HEADER_LINE.encode()]
    for part in range(1, 4):
        rows = [output_row(f"{part}{n:08d}") for n in range(20_000)]
        put_part(batch_cloud, part, rows)
        expected.append("".join(records.csv_line(r) for r in rows).encode())
    # WHEN they are merged
    result = merge(batch_cloud, 3)
    # THEN the output is the exact concatenation, uploaded as a multipart object
    head = batch_cloud.s3.head_object(Bucket=BUCKET, Key=OUTPUT_KEY, PartNumber=1)
    assert head["PartsCount"] == 2 and head["ContentLength"] == merge_chunks.UPLOAD_PART_BYTES
    body = batch_cloud.s3.get_object(Bucket=BUCKET, Key=OUTPUT_KEY)["Body"].read()
    assert len(body) > 5 * 1024 * 1024 and body == b"".join(expected)
    assert result["rows"] == 60_000


def test_a_small_output_is_a_single_put(batch_cloud: BatchCloud) -> None:
    put_part(batch_cloud, 1, [output_row("100000001")])
    merge(batch_cloud, 1)
    head = batch_cloud.s3.head_object(Bucket=BUCKET, Key=OUTPUT_KEY)
    assert "-" not in head["ETag"] and head["ContentType"].startswith("text/csv")


def test_a_missing_part_fails_naming_it_and_writes_no_output(batch_cloud: BatchCloud) -> None:
    # GIVEN parts 1 and 3 of 3
    put_part(batch_cloud, 1, [output_row("100000001")])
    put_part(batch_cloud, 3, [output_row("300000001")])
    # WHEN / THEN the merge fails naming part 2, and writes nothing
    with pytest.raises(IncompleteChunksError, match=r"expected 3: 1 missing \(part-00002\)"):
        merge(batch_cloud, 3)
    assert batch_cloud.keys("output/") == []


def test_a_part_beyond_the_chunk_count_is_refused(batch_cloud: BatchCloud) -> None:
    put_part(batch_cloud, 1, [output_row("100000001")])
    put_part(batch_cloud, 2, [output_row("200000001")])
    with pytest.raises(IncompleteChunksError, match="1 unexpected"):
        merge(batch_cloud, 1)


def test_a_failure_midway_aborts_the_multipart_upload(batch_cloud: BatchCloud) -> None:
    # GIVEN a large first part (the upload starts) and a last part without its count metadata
    put_part(batch_cloud, 1, [output_row(f"1{n:08d}") for n in range(50_000)])
    put_part(batch_cloud, 2, [output_row("200000001")], metadata={})
    first = batch_cloud.s3.head_object(Bucket=BUCKET, Key=contract.processed_key(FILE_ID, "part-00001"))
    assert first["ContentLength"] > merge_chunks.UPLOAD_PART_BYTES
    # WHEN / THEN the merge fails naming the part and what it lacks
    with pytest.raises(InvalidPartError, match=r"part-00002\.csv has no usable valid-rows metadata"):
        merge(batch_cloud, 2)
    # AND no output and no unfinished multipart upload is left behind
    assert batch_cloud.keys("output/") == []
    assert batch_cloud.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_part_without_the_output_header_is_refused(batch_cloud: BatchCloud) -> None:
    # GIVEN a part that starts with data (dropping its first line would lose a row)
    put_part(batch_cloud, 1, [], body=records.csv_line(output_row("100000001")).encode(), metadata=ONE_ROW)
    # WHEN / THEN
    with pytest.raises(InvalidPartError, match="does not start with the output header"):
        merge(batch_cloud, 1)


def test_the_handler_merges_and_counts_the_file_processed(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the workflow's input after every chunk workflow succeeded
    put_part(batch_cloud, 1, [output_row("100000001")], invalid=1)
    event = {"bucket": BUCKET, "key": KEY, "fileId": FILE_ID, "chunkCount": 1}
    # WHEN the task runs
    result = merge_chunks.lambda_handler(event, lambda_context)
    # THEN it returns the output and counts, and counts the file in FilesProcessed
    assert result == {
        "outputKey": OUTPUT_KEY,
        "rows": 1,
        "invalidRows": 1,
        "missingFinancials": 0,
        "chunkCount": 1,
    }
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[contract.FILES_PROCESSED] == [1.0]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize("chunk_count", [0, -1, "3", True, None])
def test_the_handler_refuses_a_chunk_count_that_is_not_a_positive_integer(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext, chunk_count: Any
) -> None:
    event = {"bucket": BUCKET, "key": KEY, "fileId": FILE_ID, "chunkCount": chunk_count}
    with pytest.raises(merge_chunks.InvalidMergeInputError, match="chunkCount"):
        merge_chunks.lambda_handler(event, lambda_context)
