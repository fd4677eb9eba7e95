"""The batch workflow's limits at their edges: one under, at, and one over each.

Rows per chunk and the chunk count (99,999 part names), the record schema's field lengths, rows per
validation call (1,000), keys per BatchGetItem (100), what an errors-table item keeps (reason 2,000
characters, row 100,000), the multipart threshold of the merged output (5 MiB), and the email settings
(50 recipients, links of 1 s to 7 days).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.batch import contract, merge_chunks, records, split_file
from handlers.batch.contract import EmailSettings
from handlers.batch.errors_table import STAGE_VALIDATE, RowError
from handlers.batch.financials import get_many
from handlers.batch.split_file import TooManyChunksError
from handlers.batch.validate_records import ChunkRow, validate_rows
from handlers.environment import SettingError

from .conftest import BUCKET, BatchCloud, CountingRecordsSchema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)
KEY = "input/sales.csv"
FILE_ID = "f" * 32
ROW = "535113847,Azerbaijan,Snacks,Online,C,10/8/14,Middle East and North Africa,10/23/14"
SEED_CELLS = tuple(ROW.split(","))
MiB = 1024 * 1024


def split(cloud: BatchCloud, rows: int, per_chunk: int) -> dict[str, Any]:
    body = "\n".join([",".join(records.INPUT_HEADER), *[ROW] * rows]) + "\n"
    version = cloud.put_input(KEY, body)
    return split_file.split_file(
        cloud.s3, bucket=BUCKET, key=KEY, version_id=version, file_id=FILE_ID, records_per_chunk=per_chunk
    )


def rows_in(cloud: BatchCloud, chunk_key: str) -> int:
    return len(list(csv.reader(io.StringIO(cloud.text(chunk_key), newline="")))) - 1


# ---- split --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "chunks"), [(4, [4]), (5, [5]), (6, [5, 1])], ids=["under", "at", "over"])
def test_a_chunk_holds_up_to_records_per_chunk_rows_and_the_rest_start_the_next(
    batch_cloud: BatchCloud, rows: int, chunks: list[int]
) -> None:
    # GIVEN a file of 4, 5 or 6 rows and chunks of 5
    # WHEN it is split THEN a chunk fills up to 5 rows, and only a sixth row opens another
    result = split(batch_cloud, rows, per_chunk=5)
    keys = [contract.chunk_key(FILE_ID, part) for part in range(1, len(chunks) + 1)]
    assert (result["chunkCount"], result["rowCount"]) == (len(chunks), rows)
    assert [rows_in(batch_cloud, key) for key in keys] == chunks


@pytest.mark.parametrize(
    ("rows", "refused"), [(2, False), (3, False), (4, True)], ids=["under", "at", "over"]
)
def test_a_file_may_need_up_to_max_parts_chunks_and_one_more_is_refused(
    batch_cloud: BatchCloud, monkeypatch: pytest.MonkeyPatch, rows: int, refused: bool
) -> None:
    # GIVEN a bound of 3 parts (the real one, 99,999, would take 99,999 puts) and files needing 2, 3 or 4
    # chunks of one row
    monkeypatch.setattr(split_file, "MAX_PARTS", 3)
    # WHEN each is split THEN up to 3 chunks it is split; a fourth is refused, naming what to raise
    if refused:
        with pytest.raises(
            TooManyChunksError, match="needs more than 3 chunks of 1 rows; raise RECORDS_PER_CHUNK"
        ):
            split(batch_cloud, rows, per_chunk=1)
    else:
        assert split(batch_cloud, rows, per_chunk=1)["chunkCount"] == rows


def test_the_part_bound_is_the_last_name_that_keeps_part_order_lexical() -> None:
    # GIVEN the part names up to the bound and the one after it
    bound = split_file.MAX_PARTS
    # THEN the bound is 99,999: its name has five digits like every earlier one, sorting after them, and
    # the next would have six and sort before part 10,001 ("part-100000" < "part-10001")
    assert bound == 99_999
    assert contract.part_name(bound - 1) < contract.part_name(bound) == "part-99999"
    assert contract.part_name(bound + 1) == "part-100000" < contract.part_name(10_001)


# ---- validate -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("uuid", 9),
        ("country", 50),
        ("itemType", 30),
        ("salesChannel", 10),
        ("orderPriority", 5),
        ("orderDate", 10),
        ("region", 100),
        ("shipDate", 10),
    ],
)
@EDGES
def test_each_field_is_valid_up_to_its_length_limit(
    field: str, limit: int, offset: int, accepted: bool
) -> None:
    # GIVEN a row whose one field is one character under, at, or over its limit (the others the seed's)
    cells = list(SEED_CELLS)
    cells[records.RECORD_FIELDS.index(field)] = "7" * (limit + offset)
    # WHEN it is validated THEN up to the limit the row is valid; one more rejects it naming the field
    outcome = validate_rows([ChunkRow(1, tuple(cells))])
    if accepted:
        assert (len(outcome.valid), outcome.invalid) == (1, [])
    else:
        [rejection] = outcome.invalid
        assert rejection.field == field and outcome.valid == []


@pytest.mark.parametrize(
    ("rows", "calls"), [(999, [999]), (1000, [1000]), (1001, [1000, 1])], ids=["under", "at", "over"]
)
def test_valid_records_are_validated_1000_to_a_call(
    counting_records_schema: CountingRecordsSchema, rows: int, calls: list[int]
) -> None:
    # GIVEN 999, 1,000 or 1,001 valid rows, and every validation call counted
    # WHEN they are validated THEN in calls of 1,000 records, the last with the rest
    outcome = validate_rows([ChunkRow(n, SEED_CELLS) for n in range(1, rows + 1)])
    assert len(outcome.valid) == rows and counting_records_schema.calls == calls


# ---- enrich -------------------------------------------------------------------------------------------


class CountingDynamoDB:
    """A BatchGetItem that finds nothing and records how many keys each request asked for."""

    def __init__(self) -> None:
        self.requests: list[int] = []

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        [(table, request)] = RequestItems.items()
        self.requests.append(len(request["Keys"]))
        return {"Responses": {table: []}, "UnprocessedKeys": {}}


@pytest.mark.parametrize(
    ("uuids", "requests"), [(99, [99]), (100, [100]), (101, [100, 1])], ids=["under", "at", "over"]
)
def test_financials_are_read_100_keys_to_a_request(uuids: int, requests: list[int]) -> None:
    # GIVEN 99, 100 or 101 distinct uuids
    client = CountingDynamoDB()
    # WHEN they are looked up THEN in requests of BatchGetItem's 100 keys, the last with the rest
    get_many(cast("DynamoDBClient", client), "financials", [str(100_000_000 + n) for n in range(uuids)])
    assert client.requests == requests


# ---- the errors table ---------------------------------------------------------------------------------


def row_error(reason: str, row: tuple[str, ...]) -> dict[str, Any]:
    error = RowError(
        file_id=FILE_ID, row_number=1, chunk_key="chunks/x.csv", stage=STAGE_VALIDATE, reason=reason, row=row
    )
    return error.to_item("2024-06-01T10:00:00.000Z")


@EDGES
def test_a_reason_is_kept_whole_up_to_2000_characters_and_cut_there(offset: int, accepted: bool) -> None:
    reason = "".join("reason-"[n % 7] for n in range(2000 + offset))
    # GIVEN a reason of 1,999, 2,000 or 2,001 characters WHEN its item is made
    # THEN the item holds it whole up to 2,000 characters, its first 2,000 beyond
    assert row_error(reason, ("a",))["reason"] == (reason if accepted else reason[:2000])


@EDGES
def test_a_row_is_kept_whole_up_to_100000_characters_and_cut_there_flagged(
    offset: int, accepted: bool
) -> None:
    # GIVEN a row whose two cells hold 99,999, 100,000 or 100,001 characters in all
    row = ("a" * 60_000, "b" * (40_000 + offset))
    # WHEN its item is made
    item = row_error("r", row)
    # THEN the item holds it whole up to 100,000 characters; beyond, the first 100,000 and a flag
    if accepted:
        assert item["row"] == list(row) and "rowTruncated" not in item
    else:
        assert item["row"] == ["a" * 60_000, "b" * 40_000] and item["rowTruncated"] is True


# ---- merge --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "parts"), [(5 * MiB - 1, 0), (5 * MiB, 1), (5 * MiB + 1, 2)], ids=["under", "at", "over"]
)
def test_an_output_of_5_mib_or_more_goes_up_in_parts_of_5_mib(
    batch_cloud: BatchCloud, size: int, parts: int
) -> None:
    # GIVEN one processed part that makes an output of 5 MiB less a byte, 5 MiB, or 5 MiB and a byte
    header = records.csv_line(records.OUTPUT_HEADER).encode()
    body = header + b"x" * (size - len(header) - 1) + b"\n"
    batch_cloud.s3.put_object(
        Bucket=BUCKET,
        Key=contract.processed_key(FILE_ID, contract.part_name(1)),
        Body=body,
        Metadata={"valid-rows": "1", "invalid-rows": "0", "missing-financials": "0"},
    )
    # WHEN it is merged
    merge_chunks.merge_chunks(batch_cloud.s3, bucket=BUCKET, key=KEY, file_id=FILE_ID, chunk_count=1)
    output_key = contract.output_key(KEY)
    # THEN under 5 MiB it is one PutObject; from 5 MiB, multipart parts of 5 MiB and the rest
    stored = batch_cloud.s3.get_object(Bucket=BUCKET, Key=output_key)
    assert stored["Body"].read() == body
    etag = stored["ETag"].strip('"')
    assert (etag.split("-")[1] if "-" in etag else "0") == str(parts)
    if parts:
        first = batch_cloud.s3.head_object(Bucket=BUCKET, Key=output_key, PartNumber=1)
        assert first["ContentLength"] == 5 * MiB


# ---- email --------------------------------------------------------------------------------------------


def email_settings(**changes: str) -> EmailSettings:
    return EmailSettings.from_environment(
        {
            "SENDER_EMAIL": "batch@example.com",
            "RECIPIENT_EMAILS": '["ops@example.com"]',
            "LINK_EXPIRY_SECONDS": "3600",
            **changes,
        }
    )


@EDGES
def test_an_email_may_go_to_up_to_50_recipients(offset: int, accepted: bool) -> None:
    # GIVEN 49, 50 or 51 recipients (SES sends one message to at most 50)
    recipients = [f"u{n}@example.com" for n in range(50 + offset)]
    listed = "[" + ",".join(f'"{address}"' for address in recipients) + "]"
    # WHEN the settings are read THEN up to 50 they are all recipients; 51 are refused naming both counts
    if accepted:
        assert email_settings(RECIPIENT_EMAILS=listed).recipient_emails == tuple(recipients)
    else:
        with pytest.raises(
            SettingError, match="RECIPIENT_EMAILS lists 51 addresses; SES sends to at most 50"
        ):
            email_settings(RECIPIENT_EMAILS=listed)


@pytest.mark.parametrize(
    ("seconds", "accepted"),
    [(0, False), (1, True), (604_799, True), (604_800, True), (604_801, False)],
    ids=["zero", "one", "under", "at", "over"],
)
def test_a_link_may_last_from_1_second_to_7_days(seconds: int, accepted: bool) -> None:
    # GIVEN a link lifetime at either end of 1 s-7 days (SigV4 presigned URLs last at most 7 days)
    # WHEN the settings are read THEN within the range they hold it; outside, refused naming the range
    if accepted:
        assert email_settings(LINK_EXPIRY_SECONDS=str(seconds)).link_expiry_seconds == seconds
    else:
        with pytest.raises(
            SettingError, match=f"LINK_EXPIRY_SECONDS must be between 1 and 604800, got {seconds}"
        ):
            email_settings(LINK_EXPIRY_SECONDS=str(seconds))


@pytest.mark.parametrize(
    ("chunk_count", "more"), [(9, ""), (10, ""), (11, " and 1 more")], ids=["under", "at", "over"]
)
def test_an_incomplete_merge_names_up_to_10_missing_parts_and_counts_the_rest(
    batch_cloud: BatchCloud, chunk_count: int, more: str
) -> None:
    # GIVEN none of 9, 10 or 11 parts processed
    # WHEN the merge runs THEN it fails naming the first 10 missing parts, and counting any beyond them
    named = ", ".join(contract.part_name(part) for part in range(1, min(chunk_count, 10) + 1))
    with pytest.raises(
        merge_chunks.IncompleteChunksError, match=rf"{chunk_count} missing \({named}{more}\);"
    ):
        merge_chunks.merge_chunks(
            batch_cloud.s3, bucket=BUCKET, key=KEY, file_id=FILE_ID, chunk_count=chunk_count
        )
