"""Add or replace transform rule sets in the rules table.

    python scripts/put_rule.py --table <transformRulesTable from `pulumi stack output` or
        `python -m localcloud outputs`> [--region R] [--endpoint-url URL] rules/orders-v1.json [...]

Like every AWS SDK, it reaches the endpoint in AWS_ENDPOINT_URL when set (what `python -m localcloud up`
prints); --endpoint-url names another.

Every file is validated before any is written, so an invalid file changes nothing. Exit code 2 means
an invalid file: every problem of every file is printed, one per line, prefixed with its file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

# Run as a file (python scripts/put_rule.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.transform.contract import rule_item
from handlers.transform.rules import InvalidRuleSet, RuleSet, load_rule_file_list

EXIT_INVALID_FILE = 2


def put_rules(table: Any, paths: Sequence[Path]) -> list[RuleSet]:
    """Validate every file, then put each as a rule item (replacing one with the same ruleId).

    Raises InvalidRuleSet listing the problems of all files (ruleIds must also be unique among them).
    """
    rule_sets = load_rule_file_list(paths)
    for rule_set in rule_sets:
        table.put_item(Item=rule_item(rule_set))
    return rule_sets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Add or replace transform rule sets in the rules table.")
    parser.add_argument("--table", required=True, help="rules table name (stack output transformRulesTable)")
    parser.add_argument("--region", help="AWS region of the table (default: your AWS configuration)")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (default: $AWS_ENDPOINT_URL, else AWS's)")
    parser.add_argument("files", nargs="+", type=Path, help="rule files such as rules/orders-v1.json")
    args = parser.parse_args(argv)

    dynamodb = boto3.resource("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
    try:
        rule_sets = put_rules(dynamodb.Table(args.table), args.files)
    except InvalidRuleSet as error:
        for problem in error.problems:
            print(f"put_rule: {problem}", file=sys.stderr)
        print(f"put_rule: {len(error.problems)} problem(s); nothing was written", file=sys.stderr)
        return EXIT_INVALID_FILE
    for rule_set in rule_sets:
        print(f"put rule {rule_set.rule_id!r} into table {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
