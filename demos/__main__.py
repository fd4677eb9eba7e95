"""python -m demos [--stack local]: deploy regionflow into localcloud, drive every system, exit 0 or 1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from demos import artifacts, audit, batch, events, failover, transform
from localcloud.core.cli import add_stack_arguments, config_overrides, report
from localcloud.core.cloud import LocalCloud
from localcloud.core.project_settings import load_project_settings
from localcloud.core.stack_files import project_name

# Every system with a demo, in the order the demo drives them.
DEMOS = {
    "transform": transform.run,
    "artifacts": artifacts.run,
    "batch": batch.run,
    "failover": failover.run,
    "audit": audit.run,
    "events": events.run,
}
DEMO_TIME_SCALE = 0.01  # failed SQS messages come back in seconds, not minutes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos", description=__doc__)
    add_stack_arguments(parser)
    args = parser.parse_args(argv)
    cloud = LocalCloud(
        args.stack,
        config_overrides=config_overrides(args.config, project_name()),
        time_scale=DEMO_TIME_SCALE,
        replication_lag_seconds=args.replication_lag,
        redis_endpoint_settings=load_project_settings().redis_endpoint_settings,
        progress=report,
    )
    try:
        cloud.start()
        report(cloud.stack_output_table())
        results = {name: demo(cloud, report) for name, demo in DEMOS.items()}
        for name, passed in results.items():
            report(f"demo {name}: {'passed' if passed else 'FAILED'}")
        return 0 if all(results.values()) else 1
    except KeyboardInterrupt:
        report("Stopping.")
        return 0
    finally:
        cloud.stop()


if __name__ == "__main__":
    sys.exit(main())
