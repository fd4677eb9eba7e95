"""python -m demos [--stack local]: deploy regionflow into localcloud, drive every system, exit 0 or 1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from demos import artifacts, audit, batch, doors, events, failover, transform
from localcloud.core.cli import add_stack_arguments
from localcloud.core.cli_io import EXIT_USAGE, config_overrides, fail, report
from localcloud.core.cli_up import exit_for_refusal
from localcloud.core.cloud import LocalCloud
from localcloud.core.project_settings import load_project_settings
from localcloud.core.stack_files import load_stack_config, project_name
from localcloud.core.termination import exit_untraced, stop_on_sigterm

Demo = Callable[[LocalCloud, Callable[[str], None]], bool]
# Every system with a demo, in the order the demo drives them.
DEMOS: dict[str, Demo] = {
    "doors": doors.run,
    "transform": transform.run,
    "artifacts": artifacts.run,
    "batch": batch.run,
    "failover": failover.run,
    "audit": audit.run,
    "events": events.run,
}
# The system (the stack's `systems` export) each demo needs; the doors demo drives whichever are deployed.
DEMO_SYSTEMS = {
    "transform": "transform",
    "artifacts": "artifacts",
    "batch": "batch",
    "failover": "batch",
    "audit": "audit",
    "events": "events",
}


def demos_for(systems: Sequence[str]) -> dict[str, Demo]:
    """The demos of a stack that deploys `systems`, in DEMOS' order."""
    return {
        name: demo
        for name, demo in DEMOS.items()
        if name not in DEMO_SYSTEMS or DEMO_SYSTEMS[name] in systems
    }


DEMO_TIME_SCALE = 0.01  # failed SQS messages come back in seconds, not minutes
# What every stack's demo runs with (printed; --config wins). localcloud replicates at once, so a wait for
# S3 replication (15 minutes on AWS, 5 s in the local stack) and the active-region signal's TTL would only
# stall the failover demo; the transform demo's broken rule shows the dead-letter path after two receives
# rather than five (every other receive would fail the same way).
DEMO_SETTINGS = {
    "failoverReplicationWaitSeconds": "1",
    "activeRegionTtlSeconds": "1",
    "transformMaxReceiveCount": "2",
}


def demo_config(overrides: dict[str, str]) -> dict[str, str]:
    """The config a demo runs with: the demo's settings, then the user's --config."""
    project = project_name()
    return {**{f"{project}:{key}": value for key, value in DEMO_SETTINGS.items()}, **overrides}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos", description=__doc__)
    add_stack_arguments(parser)
    args = parser.parse_args(argv)
    try:
        load_stack_config(args.stack)
    except (FileNotFoundError, ValueError) as unusable:
        return fail(str(unusable), EXIT_USAGE)
    config = demo_config(config_overrides(args.config, project_name()))
    report(f"stack {args.stack} with the demo's settings: {config}")
    stop_on_sigterm()
    cloud = LocalCloud(
        args.stack,
        config_overrides=config,
        time_scale=DEMO_TIME_SCALE,
        replication_lag_seconds=args.replication_lag,
        redis_endpoint_settings=load_project_settings().redis_endpoint_settings,
        progress=report,
    )
    try:
        cloud.start()
        report(cloud.stack_output_table())
        if cloud.exports.get("failoverAutomationDocuments"):
            report(
                "SSM Automation documents created, not run: localcloud has no Automation runtime, so the "
                "demo starts the failover runbooks directly (what each document would start)"
            )
        systems = cloud.exports["systems"]
        if "batch" in systems:
            failover.activate_first_region(cloud, report)
        results = {name: demo(cloud, report) for name, demo in demos_for(systems).items()}
        for name, passed in results.items():
            report(f"demo {name}: {'passed' if passed else 'FAILED'}")
        return 0 if all(results.values()) else 1
    except KeyboardInterrupt:
        report("Stopping.")
        return 0
    except Exception as error:
        # A value the program refuses is one line and a usage error, as with `python -m localcloud up`.
        return exit_for_refusal(error)
    finally:
        cloud.stop()
        exit_untraced()


if __name__ == "__main__":
    sys.exit(main())
