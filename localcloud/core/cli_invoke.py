"""`python -m localcloud invoke`: invoke a function of a running `up` with an event file, print its result
and log tail (localcloud.core.cli parses the command line)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.core.cli_io import fail
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.running_instance import NotRunningError, read_state

LOG_TAIL_BYTES = 4096  # what Lambda returns of an invocation's log with LogType=Tail
# Lambda's longest timeout, and a margin: an invocation is answered when the handler is done.
INVOKE_READ_TIMEOUT_SECONDS = 900 + 60


def invoke(args: argparse.Namespace) -> int:
    try:
        instance = read_state(args.state_file)
        event = read_event(args.event)
    except (NotRunningError, ValueError, OSError) as unusable:
        return fail(str(unusable))
    region = args.region or _arn_region(args.function) or instance.region
    lambda_ = invoke_client(instance.endpoint_url, region)
    try:
        answer = lambda_.invoke(FunctionName=args.function, Payload=event, LogType="Tail")
    except ClientError as refused:
        if refused.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            pages = lambda_.get_paginator("list_functions").paginate()
            names = sorted(function["FunctionName"] for page in pages for function in page["Functions"])
            return fail(
                f"no function {args.function} in {region}; its functions: {', '.join(names) or 'none'}"
            )
        return fail(str(refused))
    except BotoCoreError as unreachable:
        return fail(f"localcloud at {instance.endpoint_url} did not answer: {unreachable}")
    print(answer["Payload"].read().decode("utf-8", "replace"), flush=True)
    log_tail = base64.b64decode(answer.get("LogResult") or "")[-LOG_TAIL_BYTES:]
    print(log_tail.decode("utf-8", "replace"), end="", file=sys.stderr, flush=True)
    if answer.get("FunctionError"):
        return fail(f"{args.function} failed ({answer['FunctionError']}): its error is the payload above")
    return 0


def read_event(path: Path | None) -> bytes:
    """The event file's JSON (checked here: Lambda would only say the payload is invalid)."""
    if path is None:
        return b"{}"
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    try:
        json.loads(text)
    except ValueError as problem:
        raise ValueError(f"--event {path} is not JSON: {problem}") from None
    return text.encode("utf-8")


def invoke_client(endpoint_url: str, region: str) -> Any:
    """A Lambda client for `invoke`: unlike localcloud's own clients (localcloud.core.clients) it never
    retries, since Invoke is not idempotent, and waits as long as a function may run."""
    new_client: Callable[..., Any] = boto3.client
    return new_client(
        "lambda",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=INVOKE_READ_TIMEOUT_SECONDS),
    )


def _arn_region(function: str) -> str | None:
    parts = function.split(":")
    return parts[3] if function.startswith("arn:") and len(parts) > 3 else None
