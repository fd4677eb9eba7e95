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
import os
from collections.abc import Sequence
from pathlib import Path

from localcloud.core.cli_io import fail, report
from localcloud.core.running_instance import (
    DEFAULT_STATE_FILE,
    LOCALSTACK_PORT,
    NotRunningError,
    read_state,
)
from localcloud.core.stack_files import DEFAULT_STACK
from localcloud.core.stack_outputs import UnknownOutputError, shown_outputs

# Names the state file for every command of a shell (two `up`s side by side), as --state-file does.
STATE_FILE_VARIABLE = "LOCALCLOUD_STATE_FILE"


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
    # Each command imports what it needs: `outputs` reads a JSON file and answers in about a tenth of a
    # second, `invoke` needs boto3, only `up` moto, Pulumi and the rest of the emulator (a second more).
    if args.command == "outputs":
        return outputs(args)
    if args.command == "invoke":
        from localcloud.core.cli_invoke import invoke  # noqa: PLC0415 - boto3 for this command alone

        return invoke(args)
    from localcloud.core.cli_up import up  # noqa: PLC0415 - the emulator for this command alone

    return up(args)


# ---- outputs: another process, reading `up`'s state file ---------------------------------------------
def outputs(args: argparse.Namespace) -> int:
    try:
        instance = read_state(args.state_file)
        report(shown_outputs(instance.outputs, args.name, as_json=args.json))
    except (NotRunningError, UnknownOutputError) as unanswerable:
        return fail(str(unanswerable))
    return 0
