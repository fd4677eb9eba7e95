"""The financial-data table: CSV parsing, batch reads of 100 keys that follow UnprocessedKeys, one read."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, cast

import pytest

from handlers.batch import financials
from handlers.batch.financials import (
    FinancialsFormatError,
    FinancialsUnavailableError,
    get_many,
    get_one,
    parse_financials_csv,
)

from .chunk_fixtures import FINANCIALS_TABLE, ChunkCloud, chunk_cloud_fixture  # noqa: F401

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "uuid,unitsSold,unitPrice,unitCost,totalRevenue,totalCost,totalProfit"
SEED_LINE = "535113847,934,152.58,97.44,142509.72,91008.96,51500.76"
SEED_ITEM = {
    "unitsSold": "934",
    "unitPrice": "152.58",
    "unitCost": "97.44",
    "totalRevenue": "142509.72",
    "totalCost": "91008.96",
    "totalProfit": "51500.76",
}


def lines(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


def financial_line(uuid: str, units: int) -> str:
    return f"{uuid},{units},9.50,6.90,{units * 9.5:.2f},{units * 6.9:.2f},{units * 2.6:.2f}"


def load(cloud: ChunkCloud, uuids: list[str]) -> None:
    body = "\n".join([HEADER, *(financial_line(uuid, n + 1) for n, uuid in enumerate(uuids))])
    cloud.load_financials(body.encode("utf-8"))


# ---- parsing ----


def test_parsing_keeps_every_value_as_the_exact_text_of_the_file() -> None:
    # GIVEN the seed's line, a price with a trailing zero, a BOM, CRLF line ends, quotes and a blank line
    text = f'\ufeff{HEADER}\r\n{SEED_LINE}\r\n\r\n"42",1,"9.50",7.00,9.50,7.00,2.50\r\n'
    # WHEN it is parsed
    items = list(parse_financials_csv(lines(text)))
    # THEN the values are the strings as written: no number conversion, no rounding
    assert items == [
        {"uuid": "535113847", **SEED_ITEM},
        {
            "uuid": "42",
            "unitsSold": "1",
            "unitPrice": "9.50",
            "unitCost": "7.00",
            "totalRevenue": "9.50",
            "totalCost": "7.00",
            "totalProfit": "2.50",
        },
    ]


def test_a_file_with_another_header_is_refused_naming_the_expected_header() -> None:
    with pytest.raises(FinancialsFormatError, match=f"must be the header {HEADER}; got 'uuid,units'"):
        list(parse_financials_csv(lines("uuid,units\n1,2\n")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the financials file is empty"),
        (f"{HEADER}\n{SEED_LINE}\n1,2,3\n", "line 3 has 3 columns, expected 7"),
        (f"{HEADER}\n,1,2,3,4,5,6\n", "line 2 has no uuid"),
    ],
)
def test_a_bad_line_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(FinancialsFormatError, match=message):
        list(parse_financials_csv(lines(text)))


# ---- get_many ----


class RecordingClient:
    """A DynamoDB client that records the keys of every BatchGetItem it passes on."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requested: list[list[str]] = []

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.requested.append([key["uuid"]["S"] for key in kwargs["RequestItems"][FINANCIALS_TABLE]["Keys"]])
        return self.client.batch_get_item(**kwargs)


def test_many_uuids_are_read_100_a_request_each_uuid_once(chunk_cloud: ChunkCloud) -> None:
    # GIVEN 250 uuids in the table and a lookup of all of them, each listed twice, plus 5 unknown ones
    uuids = [str(100_000_000 + n) for n in range(250)]
    load(chunk_cloud, uuids)
    unknown = [str(900_000_000 + n) for n in range(5)]
    client = RecordingClient(chunk_cloud.dynamodb_client)
    # WHEN they are read
    # a test double: implements only the calls the code under test makes
    found = get_many(cast("DynamoDBClient", client), FINANCIALS_TABLE, [*uuids, *uuids, *unknown])
    # THEN three requests of at most 100 keys asked for each uuid once
    assert [len(keys) for keys in client.requested] == [100, 100, 55]
    assert sorted(uuid for keys in client.requested for uuid in keys) == sorted([*uuids, *unknown])
    # AND every known uuid has its six fields as stored; the unknown ones are absent
    assert sorted(found) == sorted(uuids)
    assert found["100000009"] == {
        "unitsSold": "10",
        "unitPrice": "9.50",
        "unitCost": "6.90",
        "totalRevenue": "95.00",
        "totalCost": "69.00",
        "totalProfit": "26.00",
    }


def test_a_dynamodb_resource_works_as_well_as_a_client(chunk_cloud: ChunkCloud) -> None:
    load(chunk_cloud, ["7"])
    assert get_many(chunk_cloud.dynamodb, FINANCIALS_TABLE, ["7", "8"]) == {
        "7": get_one(chunk_cloud.financials_table, "7")
    }


def test_no_uuids_make_no_request() -> None:
    client = RecordingClient(client=None)
    assert get_many(cast("DynamoDBClient", client), FINANCIALS_TABLE, []) == {}
    assert client.requested == []


class ThrottlingClient:
    """BatchGetItem answering the first `throttled` requests with every key unprocessed, as a throttled
    table does, and answering from `items` afterwards."""

    def __init__(self, items: dict[str, dict[str, str]], *, throttled: int) -> None:
        self.items = items
        self.throttled = throttled
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        request_items: dict[str, Any] = kwargs["RequestItems"]
        self.requests.append(request_items)
        if len(self.requests) <= self.throttled:
            return {"Responses": {FINANCIALS_TABLE: []}, "UnprocessedKeys": request_items}
        keys = request_items[FINANCIALS_TABLE]["Keys"]
        found = [self.items[key["uuid"]["S"]] for key in keys if key["uuid"]["S"] in self.items]
        return {
            "Responses": {
                FINANCIALS_TABLE: [{name: {"S": value} for name, value in item.items()} for item in found]
            },
            "UnprocessedKeys": {},
        }


def test_unprocessed_keys_are_requested_again_after_a_backoff() -> None:
    # GIVEN a table that throttles the first request and answers the second
    client = ThrottlingClient({"535113847": {"uuid": "535113847", **SEED_ITEM}}, throttled=1)
    sleeps: list[float] = []
    # WHEN the uuid is read
    found = get_many(cast("DynamoDBClient", client), FINANCIALS_TABLE, ["535113847"], sleep=sleeps.append)
    # THEN the unprocessed keys were sent again, exactly as returned, after one backoff pause
    assert found == {"535113847": SEED_ITEM}
    assert len(client.requests) == 2 and client.requests[1] == client.requests[0]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= financials.BASE_DELAY_SECONDS


def test_keys_still_unprocessed_after_every_attempt_raise_naming_the_table() -> None:
    # GIVEN a table that throttles every request
    client = ThrottlingClient({}, throttled=10**6)
    sleeps: list[float] = []
    # WHEN a page of uuids is read with 4 attempts
    with pytest.raises(
        FinancialsUnavailableError, match=rf"3 of 3 .* table {FINANCIALS_TABLE} after 4 Batch"
    ):
        get_many(
            cast("DynamoDBClient", client),
            FINANCIALS_TABLE,
            ["1", "2", "3"],
            max_attempts=4,
            sleep=sleeps.append,
        )
    # THEN it tried 4 times with growing (jittered) pauses between, then gave up
    assert len(client.requests) == 4
    assert len(sleeps) == 3 and all(
        0 <= pause <= financials.BASE_DELAY_SECONDS * 2**n for n, pause in enumerate(sleeps)
    )


# ---- get_one ----


def test_one_uuid_is_read_with_its_six_fields_or_none(chunk_cloud: ChunkCloud) -> None:
    chunk_cloud.load_financials(f"{HEADER}\n{SEED_LINE}\n".encode())
    assert get_one(chunk_cloud.financials_table, "535113847") == SEED_ITEM
    assert get_one(chunk_cloud.financials_table, "1") is None
