"""IAM enforcement cost: requests/s of calls the emulator evaluates against calls it does not.

    ./venv/bin/python -m bench.iam_bench

One emulator, one table. The same DynamoDB PutItem runs signed two ways, alternating in blocks so both
see the same machine: with a role session (authenticated, its SigV4 signature recomputed, the role's
policies evaluated against the table's ARN: what every call a function makes pays) and with the
control plane's key (counted, not evaluated: what the provisioner and drivers pay, i.e. enforcement off).
The ratio is the throughput kept with enforcement on. Always exits 0: it reports.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3

from bench.reporting import machine_description, result_line, write_benchmarks_md
from localcloud.core.emulator import Emulator

REGION = "us-east-1"
BLOCKS = 10
CALLS_PER_BLOCK = 200
TARGET_KEPT_RATIO = 0.75  # ours: enforcement may cost at most a quarter of the emulator's throughput
TARGET_RPS = 100.0  # ours: the emulator serves 100 requests/s or more on 2 cores, evaluated or not
SECTION = "## IAM enforcement cost (issue 15)"
TRUST_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def session_client(emulator: Emulator, table_arn: str) -> Any:
    iam = emulator.client("iam", REGION)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"]
    statement = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [table_arn]}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    iam.put_role_policy(RoleName=name, PolicyName="put", PolicyDocument=document)
    credentials = emulator.client("sts", REGION).assume_role(RoleArn=role, RoleSessionName="bench")[
        "Credentials"
    ]
    return boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def timed_block(client: Any, table: str, prefix: str) -> float:
    started = time.perf_counter()
    for number in range(CALLS_PER_BLOCK):
        client.put_item(TableName=table, Item={"pk": {"S": f"{prefix}-{number}"}})
    return time.perf_counter() - started


def main() -> None:
    with Emulator() as emulator:
        table = f"bench-{uuid.uuid4().hex[:8]}"
        created = emulator.client("dynamodb", REGION).create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        enforced = session_client(emulator, created["TableDescription"]["TableArn"])
        control_plane = emulator.client("dynamodb", REGION)
        timed_block(enforced, table, "warm-e"), timed_block(control_plane, table, "warm-c")
        enforced_seconds = control_seconds = 0.0
        for block in range(BLOCKS):
            enforced_seconds += timed_block(enforced, table, f"e{block}")
            control_seconds += timed_block(control_plane, table, f"c{block}")
        calls = BLOCKS * CALLS_PER_BLOCK
        enforced_rps, control_rps = calls / enforced_seconds, calls / control_seconds
        overhead_us = (enforced_seconds - control_seconds) / calls * 1e6
        decisions = dict(emulator.iam.decisions)
    ratio = enforced_rps / control_rps
    lines = [
        f"Command: `./venv/bin/python -m bench.iam_bench` ({machine_description()})",
        "",
        f"{calls:,} PutItem calls each way, in {BLOCKS} alternating blocks of {CALLS_PER_BLOCK}:",
        "- role session (authenticated, signature recomputed, policies evaluated): "
        f"{enforced_rps:,.0f} requests/s",
        f"- control-plane key (not evaluated; enforcement off): {control_rps:,.0f} requests/s",
        f"- enforcement costs {overhead_us:,.0f} µs per call; decisions made: {decisions}",
        "",
        result_line("iam_enforced_requests_per_second", enforced_rps, "requests/s", ">=", TARGET_RPS),
        result_line("iam_unenforced_requests_per_second", control_rps, "requests/s", ">=", TARGET_RPS),
        result_line("iam_enforced_vs_unenforced_ratio", ratio, "x", ">=", TARGET_KEPT_RATIO),
    ]
    print("\n".join(lines))
    write_benchmarks_md(SECTION, lines)


if __name__ == "__main__":
    main()
