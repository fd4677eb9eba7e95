"""Split: the CSV as users bring it -> numbered chunks of exactly RECORDS_PER_CHUNK rows + a manifest."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.batch import contract, records, split_file
from handlers.batch.split_file import EmptyBatchError

from ..conftest import FakeLambdaContext
from .conftest import BUCKET, RECORDS_PER_CHUNK, BatchCloud

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY = "input/sales.csv"
HEADER = "uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date"
ROWS = [
    "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East and North Africa,10/23/14",
    "874708545,Panama,Cosmetics,Offline,L,2/22/15,Central America and the Caribbean,2/27/15",
    "854349935,Sao Tome and Principe,Fruits,Offline,M,12/9/15,Sub-Saharan Africa,1/18/16",
    "892836844,Sao Tome and Principe,Personal Care,Online,M,9/17/14,Sub-Saharan Africa,10/12/14",
    "129280602,Belize,Household,Offline,H,2/4/10,Central America and the Caribbean,3/5/10",
    "473105037,Denmark,Clothes,Online,C,2/20/13,Europe,2/28/13",
    "754046475,Germany,Cosmetics,Offline,M,3/31/13,Europe,5/3/13",
]


def csv_file(*lines: str, line_end: str = "\n") -> str:
    return line_end.join(lines) + line_end


def split(
    cloud: BatchCloud, body: str | bytes, *, per_chunk: int = 3, version_id: str | None = None
) -> dict[str, Any]:
    uploaded = cloud.put_input(KEY, body)
    return split_file.split_file(
        cloud.s3,
        bucket=BUCKET,
        key=KEY,
        version_id=version_id or uploaded,
        file_id="f" * 32,
        records_per_chunk=per_chunk,
    )


def chunk_rows(cloud: BatchCloud, key: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(cloud.text(key), newline="")))
    assert tuple(rows[0]) == records.CHUNK_HEADER
    return rows[1:]


def manifest_keys(cloud: BatchCloud, result: dict[str, Any]) -> list[str]:
    rows = list(csv.reader(io.StringIO(cloud.text(result["manifestKey"]), newline="")))
    assert rows[0] == [contract.MANIFEST_HEADER]
    return [row[0] for row in rows[1:]]


def test_rows_are_cut_into_chunks_of_exactly_records_per_chunk_listed_in_order(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN a file of 7 rows and chunks of 3
    # WHEN it is split
    result = split(batch_cloud, csv_file(HEADER, *ROWS))
    # THEN 3 chunks hold 3, 3 and 1 rows, under zero-padded part names
    expected_keys = [f"chunks/{'f' * 32}/part-0000{n}.csv" for n in (1, 2, 3)]
    assert result == {"manifestKey": f"manifests/{'f' * 32}.csv", "chunkCount": 3, "rowCount": 7}
    assert [len(chunk_rows(batch_cloud, key)) for key in expected_keys] == [3, 3, 1]
    # AND the manifest lists them in part order
    assert manifest_keys(batch_cloud, result) == expected_keys
    # AND every row carries its 1-based row number and its cells as uploaded
    all_rows = [row for key in expected_keys for row in chunk_rows(batch_cloud, key)]
    assert [row[0] for row in all_rows] == [str(n) for n in range(1, 8)]
    assert [",".join(row[1:]) for row in all_rows] == ROWS


def test_a_row_count_that_divides_evenly_leaves_no_empty_chunk(batch_cloud: BatchCloud) -> None:
    result = split(batch_cloud, csv_file(HEADER, *ROWS[:6]))
    assert result["chunkCount"] == 2 and len(manifest_keys(batch_cloud, result)) == 2


def test_quoted_commas_quotes_and_line_breaks_stay_in_their_cell(batch_cloud: BatchCloud) -> None:
    # GIVEN quoted cells holding a comma, an escaped quote and a line break
    row = '535113847,"Korea, South","Snacks ""Deluxe""",Online,C,10/8/14,"Asia\nPacific",10/23/14'
    # WHEN the file is split
    result = split(batch_cloud, csv_file(HEADER, row, ROWS[1]))
    # THEN each stays one cell of one row
    [first, second] = chunk_rows(batch_cloud, manifest_keys(batch_cloud, result)[0])
    assert first == [
        "1",
        "535113847",
        "Korea, South",
        'Snacks "Deluxe"',
        "Online",
        "C",
        "10/8/14",
        "Asia\nPacific",
        "10/23/14",
    ]
    assert second[0] == "2" and result["rowCount"] == 2


def test_a_utf8_bom_and_crlf_line_ends_are_accepted(batch_cloud: BatchCloud) -> None:
    # GIVEN a file saved by Excel: BOM, CRLF, a non-ASCII country
    body = (
        "\ufeff"
        + csv_file(
            HEADER,
            *ROWS[:2],
            "129280602,Curaçao,Household,Offline,H,2/4/10,Caribbean,3/5/10",
            line_end="\r\n",
        )
    ).encode("utf-8")
    # WHEN it is split
    result = split(batch_cloud, body)
    # THEN the header is recognised and no cell carries a BOM or a carriage return
    [rows] = [chunk_rows(batch_cloud, key) for key in manifest_keys(batch_cloud, result)]
    assert [row[1] for row in rows] == ["535113847", "874708545", "129280602"]
    assert rows[2][2] == "Curaçao"
    assert not any("\r" in cell or "\ufeff" in cell for row in rows for cell in row)


def test_blank_lines_are_skipped_and_row_numbers_stay_consecutive(batch_cloud: BatchCloud) -> None:
    result = split(batch_cloud, csv_file(HEADER, ROWS[0], "", "   ", ROWS[1], "", ""))
    [rows] = [chunk_rows(batch_cloud, key) for key in manifest_keys(batch_cloud, result)]
    assert [row[:2] for row in rows] == [["1", "535113847"], ["2", "874708545"]]


def test_cells_are_kept_whatever_their_count_for_validation_to_judge(batch_cloud: BatchCloud) -> None:
    # GIVEN a short row and a long row
    result = split(batch_cloud, csv_file(HEADER, "535113847,Azerbaijan", ROWS[0] + ",extra"))
    # THEN both are passed on as uploaded (validation records them as invalid, with their row numbers)
    [rows] = [chunk_rows(batch_cloud, key) for key in manifest_keys(batch_cloud, result)]
    assert rows == [["1", "535113847", "Azerbaijan"], ["2", *ROWS[0].split(","), "extra"]]


def test_the_header_is_matched_ignoring_case_and_spaces(batch_cloud: BatchCloud) -> None:
    result = split(
        batch_cloud,
        csv_file(
            " UUID , country,item type,Sales Channel,Order Priority,Order Date,Region,Ship Date", ROWS[0]
        ),
    )
    assert result["rowCount"] == 1


def test_a_wrong_header_fails_naming_the_file_and_the_expected_header(batch_cloud: BatchCloud) -> None:
    # GIVEN a file whose first line is data, not the header
    # WHEN / THEN the split fails with a message fit to be the batch's FAILED reason
    with pytest.raises(records.InputFormatError) as raised:
        split(batch_cloud, csv_file(*ROWS))
    message = str(raised.value)
    assert message.startswith(f"s3://{BUCKET}/{KEY}: ") and HEADER in message and "535113847" in message
    # AND no chunk or manifest was written
    assert batch_cloud.keys("chunks/") == [] and batch_cloud.keys("manifests/") == []


def test_a_header_only_file_is_an_empty_batch(batch_cloud: BatchCloud) -> None:
    with pytest.raises(
        EmptyBatchError, match=re.escape(f"s3://{BUCKET}/{KEY} has a header but no data rows")
    ):
        split(batch_cloud, csv_file(HEADER, "", ""))
    assert batch_cloud.keys("manifests/") == []


def test_a_zero_byte_file_fails_naming_the_file(batch_cloud: BatchCloud) -> None:
    with pytest.raises(records.InputFormatError, match=re.escape(f"s3://{BUCKET}/{KEY}: the file is empty")):
        split(batch_cloud, b"")


def test_a_file_that_is_not_utf8_fails_naming_the_file(batch_cloud: BatchCloud) -> None:
    # GIVEN a Latin-1 file (ç is one byte 0xe7)
    body = csv_file(HEADER, ROWS[0], "129280602,Curaçao,Household,Offline,H,2/4/10,Caribbean,3/5/10").encode(
        "latin-1"
    )
    # WHEN / THEN
    with pytest.raises(records.InputFormatError, match=re.escape(f"s3://{BUCKET}/{KEY} is not UTF-8 text")):
        split(batch_cloud, body)


def test_a_stray_quote_that_swallows_the_rest_of_the_file_fails_naming_the_file(
    batch_cloud: BatchCloud,
) -> None:
    # GIVEN a quote opened on row 2 and never closed, followed by more than the csv module's field limit
    body = csv_file(HEADER, ROWS[0], '874708545,"Panama', *(ROWS[n % len(ROWS)] for n in range(2000)))
    # WHEN / THEN the split fails saying where the file stopped being readable
    with pytest.raises(
        records.InputFormatError, match=re.escape(f"s3://{BUCKET}/{KEY} is not readable CSV after data row 1")
    ):
        split(batch_cloud, body)


def test_the_version_named_by_the_event_is_split_not_the_latest(batch_cloud: BatchCloud) -> None:
    # GIVEN v1 with one row, then v2 of the same name with two
    v1 = batch_cloud.put_input(KEY, csv_file(HEADER, ROWS[0]))
    # WHEN v1's batch is split after v2 was uploaded
    result = split(batch_cloud, csv_file(HEADER, *ROWS[:2]), version_id=v1)
    # THEN it holds v1's rows
    assert result["rowCount"] == 1


class StreamingS3:
    """An S3 stand-in that records how much of the input had been read when each chunk was written."""

    def __init__(self, body: bytes) -> None:
        self.body = io.BytesIO(body)
        self.read_at_put: dict[str, int] = {}

    def get_object(self, **_: Any) -> dict[str, Any]:
        return {"Body": self.body}

    def put_object(self, **request: Any) -> None:
        # The split closes the body once it is read to the end (before the manifest is written).
        self.read_at_put[request["Key"]] = -1 if self.body.closed else self.body.tell()


def test_the_file_is_streamed_one_chunk_at_a_time() -> None:
    # GIVEN a 20,000-row file (~1.7 MB) and chunks of 100 rows
    body = csv_file(HEADER, *(ROWS[n % len(ROWS)] for n in range(20_000))).encode("utf-8")
    s3 = StreamingS3(body)
    # WHEN it is split
    # a test double: implements only the calls the code under test makes
    result = split_file.split_file(
        cast("S3Client", s3), bucket=BUCKET, key=KEY, version_id="v1", file_id="f" * 32, records_per_chunk=100
    )
    # THEN when the first chunk was written only its neighbourhood had been read, not the file
    assert result["chunkCount"] == 200
    assert s3.read_at_put[contract.chunk_key("f" * 32, 1)] < 64 * 1024 < len(body)


def test_the_handler_splits_with_records_per_chunk_from_its_environment(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the workflow's input for an uploaded file of RECORDS_PER_CHUNK + 1 rows
    version_id = batch_cloud.put_input(
        KEY, csv_file(HEADER, *(ROWS[n % len(ROWS)] for n in range(RECORDS_PER_CHUNK + 1)))
    )
    file_id = contract.file_id(KEY, version_id)
    event = {"bucket": BUCKET, "key": KEY, "versionId": version_id, "fileId": file_id}
    # WHEN the task runs
    result = split_file.lambda_handler(event, lambda_context)
    # THEN it wrote two chunks and reports them, and counts the file in FilesSplit
    assert result == {
        "manifestKey": contract.manifest_key(file_id),
        "chunkCount": 2,
        "rowCount": RECORDS_PER_CHUNK + 1,
    }
    assert batch_cloud.keys(f"chunks/{file_id}/") == [
        contract.chunk_key(file_id, 1),
        contract.chunk_key(file_id, 2),
    ]
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[contract.FILES_SPLIT] == [1.0]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_handler_refuses_an_input_without_a_key(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext
) -> None:
    with pytest.raises(split_file.InvalidSplitInputError, match="split input has no key"):
        split_file.lambda_handler({"bucket": BUCKET, "fileId": "f" * 32}, lambda_context)
