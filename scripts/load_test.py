"""The guidance's load test: upload one batch file many times, waiting between uploads.

    python -m scripts.load_test --bucket <bucket, access point ARN or Multi-Region Access Point ARN>
        --file testfile.csv --runs 100 --wait 1 [--region R] [--prefix input/] [--endpoint-url URL]

Each upload is a new object `<prefix>load-<UTC timestamp>-<n>.csv`, so each starts its own batch.
A Multi-Region Access Point ARN (arn:aws:s3::<account>:accesspoint/<alias>) needs SigV4A signing,
which botocore gets from the awscrt package (`pip install "botocore[crt]"`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

# Run as a file (python scripts/load_test.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.batch.contract import INPUT_PREFIX, INPUT_SUFFIX


def _utc_now() -> datetime:
    return datetime.now(UTC)


def load_test_key(prefix: str, moment: datetime, number: int) -> str:
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    return f"{folder}load-{stamp}-{number}{INPUT_SUFFIX}"


def run_load_test(
    s3: Any,
    *,
    bucket: str,
    body: bytes,
    runs: int,
    wait_seconds: float,
    prefix: str = INPUT_PREFIX,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = _utc_now,
    report: Callable[[str], None] = lambda key: None,
) -> list[str]:
    """Put `body` `runs` times, `wait_seconds` apart (no wait after the last); returns the keys in order."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    if wait_seconds < 0:
        raise ValueError(f"wait_seconds must be 0 or more, got {wait_seconds}")
    keys: list[str] = []
    for number in range(1, runs + 1):
        if number > 1 and wait_seconds:
            sleep(wait_seconds)
        key = load_test_key(prefix, clock(), number)
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
        keys.append(key)
        report(key)
    return keys


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Upload a batch file many times, waiting between uploads.")
    parser.add_argument(
        "--bucket",
        required=True,
        help="bucket name (stack output batchBuckets), access point ARN or MRAP ARN",
    )
    parser.add_argument("--file", required=True, type=Path, help="the batch file, e.g. testfile.csv")
    parser.add_argument("--runs", type=int, default=100, help="number of uploads (default 100)")
    parser.add_argument("--wait", type=float, default=1.0, help="seconds between uploads (default 1)")
    parser.add_argument("--region", help="AWS region of the bucket (default: your AWS configuration)")
    parser.add_argument("--prefix", default=INPUT_PREFIX, help=f"key prefix (default {INPUT_PREFIX})")
    parser.add_argument("--endpoint-url", help="S3 endpoint (default: $AWS_ENDPOINT_URL, else AWS's)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.wait < 0:
        parser.error("--runs must be at least 1 and --wait 0 or more")
    try:
        body = args.file.read_bytes()
    except OSError as error:
        parser.error(f"cannot read {args.file}: {error}")
    s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.endpoint_url)
    keys = run_load_test(
        s3,
        bucket=args.bucket,
        body=body,
        runs=args.runs,
        wait_seconds=args.wait,
        prefix=args.prefix,
        report=lambda key: print(f"uploaded s3://{args.bucket}/{key}", flush=True),
    )
    print(f"uploaded {len(keys)} copies of {args.file} ({len(body)} bytes each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
