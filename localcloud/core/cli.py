"""python -m localcloud up|outputs|invoke: the project's Pulumi program on an embedded, Docker-free AWS.

up       deploys the stack, prints its outputs as `pulumi stack output` would, the AWS endpoint and
         credentials other tools use (aws CLI, AWS SDKs) and the console's URL (the gateway's root: a
         page showing what the embedded AWS holds), then serves until Ctrl-C or SIGTERM,
         logging each request at the gateway and each Lambda invocation (to stderr, or --log-file).
outputs  prints a running `up`'s outputs: all, or one NAME (--json as `pulumi stack output --json`).
invoke   invokes a function of a running `up` with an event file; prints its result and log tail.

Redis endpoint settings come from the project's [tool.localcloud] table (localcloud.core.project_settings).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pulumi.errors import RunError

from localcloud.core.activity_log import show_activity
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.cloud import DEFAULT_STACK, LocalCloud
from localcloud.core.emulator import LOCALSTACK_PORT, PortInUseError
from localcloud.core.project_settings import load_project_settings
from localcloud.core.running_instance import (
    DEFAULT_STATE_FILE,
    NotRunningError,
    RunningInstance,
    live_instance,
    read_state,
    remove_state,
    write_state,
)
from localcloud.core.stack_files import PROJECT_DIR, load_stack_config, project_name
from localcloud.core.stack_outputs import UnknownOutputError, shown_outputs
from localcloud.core.termination import stop_on_sigterm
from localcloud.services.cognitoidp.demo_people import USER_POOL_TYPE, demo_people

LOG_TAIL_BYTES = 4096  # what Lambda returns of an invocation's log with LogType=Tail
# Lambda's longest timeout, and a margin: an invocation is answered when the handler is done.
INVOKE_READ_TIMEOUT_SECONDS = 900 + 60
EXIT_FAILED = 1
EXIT_USAGE = 2
# Names the state file for every command of a shell (two `up`s side by side), as --state-file does.
STATE_FILE_VARIABLE = "LOCALCLOUD_STATE_FILE"


def config_overrides(pairs: Sequence[str], project: str) -> dict[str, str]:
    """`--config key=value` pairs as namespaced config (a bare key belongs to the project)."""
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--config expects key=value (e.g. {project}:someSetting=5), got {pair!r}")
        overrides[key if ":" in key else f"{project}:{key}"] = value
    return overrides


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """--stack, --config and --replication-lag: how a run picks and adjusts the stack it deploys."""
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help="stack file Pulumi.<stack>.yaml (default: local)"
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value for this run, like `pulumi config set`",
    )
    parser.add_argument(
        "--replication-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay before S3 replication copies an object (default 0)",
    )


def report(message: str) -> None:
    print(message, flush=True)


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def port_number(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port


def add_state_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path(os.environ.get(STATE_FILE_VARIABLE) or DEFAULT_STATE_FILE),
        metavar="PATH",
        help=f"where `up` says how to reach it (default: ${STATE_FILE_VARIABLE}, else "
        "build/localcloud/instance.json)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{up,outputs,invoke}")

    up_command = commands.add_parser("up", help="deploy and serve until Ctrl-C")
    add_stack_arguments(up_command)
    up_command.add_argument(
        "--port",
        type=port_number,
        default=None,
        help=f"the AWS endpoint's port (default: {LOCALSTACK_PORT}, as LocalStack's, or a free one when "
        f"{LOCALSTACK_PORT} is taken; 0: any free port)",
    )
    up_command.add_argument(
        "--log-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="append requests, invocations and warnings to PATH instead of the terminal",
    )
    add_state_file_argument(up_command)

    outputs_command = commands.add_parser("outputs", help="a running `up`'s stack outputs")
    outputs_command.add_argument("name", nargs="?", help="one output (default: all)")
    outputs_command.add_argument("--json", action="store_true", help="as JSON")
    add_state_file_argument(outputs_command)

    invoke_command = commands.add_parser("invoke", help="invoke a function of a running `up`")
    invoke_command.add_argument("function", help="function name or ARN")
    invoke_command.add_argument(
        "--event", type=Path, default=None, metavar="FILE", help="JSON event file, - for stdin (default: {})"
    )
    invoke_command.add_argument("--region", default=None, help="the function's region (default: the stack's)")
    add_state_file_argument(invoke_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "up": up,
        "outputs": outputs,
        "invoke": invoke,
    }
    return commands[args.command](args)


# ---- up --------------------------------------------------------------------------------------------
def up(args: argparse.Namespace) -> int:
    try:
        load_stack_config(args.stack)
    except (FileNotFoundError, ValueError) as unusable:
        return fail(str(unusable), EXIT_USAGE)
    stop_on_sigterm()
    activity = show_activity(args.log_file)
    cloud = LocalCloud(
        args.stack,
        config_overrides=config_overrides(args.config, project_name()),
        replication_lag_seconds=args.replication_lag,
        redis_endpoint_settings=load_project_settings().redis_endpoint_settings,
        progress=report,
        emulator_port=LOCALSTACK_PORT if args.port is None else args.port,
        free_port_if_taken=args.port is None,
    )
    try:
        cloud.start()
        report(cloud.stack_output_table())
        instance = RunningInstance(
            pid=os.getpid(),
            stack=args.stack,
            region=cloud.region,
            endpoint_url=cloud.emulator.endpoint_url,
            gateway_url=cloud.gateway_url,
            outputs=cloud.exports,
            log_file=str(args.log_file) if args.log_file else None,
        )
        report(connection_text(instance))
        pool_regions = {
            resource.region or cloud.region
            for resource in cloud.deployment.resources
            if resource.typ == USER_POOL_TYPE
        }
        for region in sorted(pool_regions):
            for person in demo_people(cloud.client("cognito-idp", region), region):
                report(person.line())
        publish(instance, args.state_file)
        report("Serving on 127.0.0.1; press Ctrl-C to stop.")
        threading.Event().wait()
        return 0
    except KeyboardInterrupt:
        report("Stopping.")
        return 0
    except PortInUseError as taken:
        return fail(f"{taken} with --port N")
    except Exception as error:
        refusal = program_refusal(error)
        if refusal is None:
            raise
        return fail(refusal, EXIT_USAGE)
    finally:
        remove_state(args.state_file, pid=os.getpid())  # only if it is this process's
        cloud.stop()
        logging.getLogger().removeHandler(activity)
        activity.close()


def connection_text(instance: RunningInstance) -> str:
    """How other tools reach the emulator: shell lines to paste, and where things are."""
    return "\n".join(
        [
            "AWS endpoint for other tools (aws CLI, boto3, other AWS SDKs); paste into a shell:",
            f"export AWS_ENDPOINT_URL={instance.endpoint_url}",
            f"export AWS_ACCESS_KEY_ID={DUMMY_ACCESS_KEY_ID}",
            f"export AWS_SECRET_ACCESS_KEY={DUMMY_SECRET_ACCESS_KEY}",
            f"export AWS_DEFAULT_REGION={instance.region}",
            f"Gateway (HTTP APIs, REST APIs, function URLs): {instance.gateway_url}",
            f"Console (localcloud only, read-only; not deployed to AWS): {instance.gateway_url}/",
            f"Requests and invocations are logged to {instance.log_file or 'the terminal (stderr)'}",
        ]
    )


def publish(instance: RunningInstance, state_file: Path) -> None:
    """Write the state file `outputs` and `invoke` read, unless another live `up` owns it."""
    other = live_instance(state_file)
    if other is not None and other.pid != instance.pid:
        report(
            f"Another localcloud (pid {other.pid}) owns {state_file}: `outputs` and `invoke` talk to it; "
            "give this one its own with --state-file"
        )
        return
    write_state(instance, state_file)


def program_refusal(error: BaseException) -> str | None:
    """The one-line message of an error with which the program refused its configuration, else None (a
    fault keeps its traceback). Refusals: pulumi.RunError (pulumi.Config's missing or mistyped values,
    which the Pulumi CLI also prints without a traceback) and a ValueError raised by the program's own
    code (its innermost frame in the project, outside localcloud and installed packages), as a settings
    validator raises for a bad --config value."""
    if isinstance(error, RunError):
        return str(error)
    if isinstance(error, ValueError) and _raised_by_program(error.__traceback__):
        return str(error)
    return None


def _raised_by_program(trace: TracebackType | None) -> bool:
    if trace is None:
        return False
    while trace.tb_next is not None:
        trace = trace.tb_next
    source = Path(trace.tb_frame.f_code.co_filename).resolve()
    inside = source.is_relative_to(PROJECT_DIR)
    return (
        inside
        and not source.is_relative_to(PROJECT_DIR / "localcloud")
        and "site-packages" not in source.parts
    )


# ---- outputs and invoke: another process, reading `up`'s state file ---------------------------------------
def outputs(args: argparse.Namespace) -> int:
    try:
        instance = read_state(args.state_file)
        report(shown_outputs(instance.outputs, args.name, as_json=args.json))
    except (NotRunningError, UnknownOutputError) as unanswerable:
        return fail(str(unanswerable))
    return 0


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
