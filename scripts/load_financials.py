"""Load financial data (`uuid,unitsSold,unitPrice,unitCost,totalRevenue,totalCost,totalProfit`) into the
financial-data table that "Enrich records" and GET /financials/{uuid} read.

    python -m scripts.load_financials --table <batchFinancialsTable from `pulumi stack output` or
        `python -m localcloud outputs`> --file financials.csv [--region R] [--endpoint-url URL]

The whole file is checked before anything is written, so a bad file changes nothing; exit code 2 means
a bad file (the message names the line). Loading the same file again rewrites the same items.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import boto3

# Run as a file (python scripts/load_financials.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.batch.financials import FinancialsFormatError, parse_financials_csv

EXIT_BAD_FILE = 2


def load_financials(table: Any, lines: Iterable[str]) -> int:
    """Put one item per data line through a boto3 Table resource's batch_writer; returns how many lines.

    Values are stored as the strings the file holds. A uuid listed twice keeps its last line
    (BatchWriteItem rejects two puts of one key in a request, so the writer keeps only the last).
    """
    count = 0
    with table.batch_writer(overwrite_by_pkeys=["uuid"]) as writer:
        for item in parse_financials_csv(lines):
            writer.put_item(Item=item)
            count += 1
    return count


def _check_file(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as lines:
        return sum(1 for _ in parse_financials_csv(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load financial data into the financial-data table.")
    parser.add_argument("--table", required=True, help="table name (stack output batchFinancialsTable)")
    parser.add_argument("--file", required=True, type=Path, help="CSV: uuid,unitsSold,unitPrice,...")
    parser.add_argument("--region", help="AWS region of the table (default: your AWS configuration)")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (default: $AWS_ENDPOINT_URL, else AWS's)")
    args = parser.parse_args(argv)
    try:
        _check_file(args.file)
    except (FinancialsFormatError, OSError, UnicodeDecodeError) as error:
        print(f"load_financials: {args.file}: {error}; nothing was written", file=sys.stderr)
        return EXIT_BAD_FILE
    dynamodb = boto3.resource("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
    with args.file.open(encoding="utf-8", newline="") as lines:
        count = load_financials(dynamodb.Table(args.table), lines)
    print(f"loaded {count} financial records from {args.file} into table {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
