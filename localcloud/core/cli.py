"""python -m localcloud up [--stack local]: the project's Pulumi program on an embedded, Docker-free AWS.

Deploys the stack, prints its outputs as `pulumi stack output` would and serves until Ctrl-C. Redis
endpoint settings come from the project's [tool.localcloud] table (localcloud.core.project_settings).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from localcloud.core.cloud import DEFAULT_STACK, LocalCloud
from localcloud.core.project_settings import load_project_settings
from localcloud.core.stack_files import project_name


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument("command", choices=["up"], help="up: deploy and serve until Ctrl-C")
    add_stack_arguments(parser)
    args = parser.parse_args(argv)
    cloud = LocalCloud(
        args.stack,
        config_overrides=config_overrides(args.config, project_name()),
        replication_lag_seconds=args.replication_lag,
        redis_endpoint_settings=load_project_settings().redis_endpoint_settings,
        progress=report,
    )
    try:
        cloud.start()
        report(cloud.stack_output_table())
        report("Serving on 127.0.0.1; press Ctrl-C to stop.")
        threading.Event().wait()
        return 0
    except KeyboardInterrupt:
        report("Stopping.")
        return 0
    finally:
        cloud.stop()
