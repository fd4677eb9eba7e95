"""scripts/load_test.py: N uploads of one file under input/, a wait between each two, never after the last."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scripts.load_test import main, run_load_test

from .chunk_fixtures import BUCKET, REGION, ChunkCloud, chunk_cloud_fixture  # noqa: F401

BODY = b"uuid,Country,Item Type,Sales Channel,Order Priority,Order Date,Region,Ship Date\r\n"


def ticking_clock(start: datetime) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += timedelta(seconds=1)


def test_each_run_uploads_the_file_as_a_new_input_key_with_a_wait_between(chunk_cloud: ChunkCloud) -> None:
    # GIVEN a clock that ticks a second per upload and a sleep that only records
    clock = ticking_clock(datetime(2024, 6, 1, 10, 0, 0, tzinfo=UTC))
    sleeps: list[float] = []
    # WHEN three runs are made 2.5 s apart
    keys = run_load_test(
        chunk_cloud.s3,
        bucket=BUCKET,
        body=BODY,
        runs=3,
        wait_seconds=2.5,
        prefix="input/",
        sleep=sleeps.append,
        clock=lambda: next(clock),
    )
    # THEN three objects with the same body exist under input/, named by UTC time and run number
    assert keys == [
        "input/load-20240601T100000Z-1.csv",
        "input/load-20240601T100001Z-2.csv",
        "input/load-20240601T100002Z-3.csv",
    ]
    assert all(chunk_cloud.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == BODY for key in keys)
    # AND it waited between uploads only
    assert sleeps == [2.5, 2.5]


def test_a_prefix_without_a_slash_is_a_folder_and_no_wait_means_no_sleep(chunk_cloud: ChunkCloud) -> None:
    sleeps: list[float] = []
    keys = run_load_test(
        chunk_cloud.s3,
        bucket=BUCKET,
        body=BODY,
        runs=2,
        wait_seconds=0,
        prefix="input/load",
        sleep=sleeps.append,
        clock=lambda: datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC),
    )
    assert keys == ["input/load/load-20240601T120000Z-1.csv", "input/load/load-20240601T120000Z-2.csv"]
    assert sleeps == []


@pytest.mark.parametrize(("runs", "wait"), [(0, 1.0), (2, -1.0)])
def test_impossible_runs_or_waits_are_refused(chunk_cloud: ChunkCloud, runs: int, wait: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        run_load_test(chunk_cloud.s3, bucket=BUCKET, body=BODY, runs=runs, wait_seconds=wait, prefix="input/")


def test_the_cli_uploads_the_file_and_reports_each_key(
    chunk_cloud: ChunkCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "testfile.csv"
    path.write_bytes(BODY)
    code = main(["--bucket", BUCKET, "--file", str(path), "--runs", "2", "--wait", "0", "--region", REGION])
    assert code == 0
    keys = [
        item["Key"] for item in chunk_cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix="input/")["Contents"]
    ]
    assert len(keys) == 2 and all(key.startswith("input/load-") and key.endswith(".csv") for key in keys)
    out = capsys.readouterr().out
    assert all(f"uploaded s3://{BUCKET}/{key}" in out for key in keys)
    assert f"uploaded 2 copies of {path} ({len(BODY)} bytes each)" in out
