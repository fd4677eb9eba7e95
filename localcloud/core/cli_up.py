"""`python -m localcloud up`: deploy the stack into the emulator, tell other tools how to reach it, serve
until Ctrl-C or SIGTERM (localcloud.core.cli parses the command line)."""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path
from types import TracebackType

from pulumi.errors import RunError

from localcloud.core.activity_log import show_activity
from localcloud.core.cli_io import EXIT_USAGE, config_overrides, fail, report
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.cloud import LocalCloud
from localcloud.core.emulator import PortInUseError
from localcloud.core.project_settings import load_project_settings
from localcloud.core.running_instance import (
    LOCALSTACK_PORT,
    RunningInstance,
    live_instance,
    remove_state,
    write_state,
)
from localcloud.core.stack_files import PROJECT_DIR, load_stack_config, project_name
from localcloud.core.termination import exit_untraced, stop_on_sigterm
from localcloud.services.cognitoidp.demo_people import USER_POOL_TYPE, demo_people


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
        return exit_for_refusal(error)
    finally:
        remove_state(args.state_file, pid=os.getpid())  # only if it is this process's
        cloud.stop()
        logging.getLogger().removeHandler(activity)
        activity.close()
        exit_untraced()


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


def exit_for_refusal(error: Exception) -> int:
    """For an `except` block of `up` or the demo: a refusal of the program's configuration is one line and
    EXIT_USAGE; any other error propagates with its traceback."""
    refusal = program_refusal(error)
    if refusal is None:
        raise error
    return fail(refusal, EXIT_USAGE)


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
