"""python -m localcloud up|demo [--stack local]: the regionflow program on an embedded, Docker-free AWS."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from localcloud.cloud import DEFAULT_STACK, LocalCloud
from localcloud.demos import artifacts, audit, batch, events, failover, transform

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


def _config_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(
                f"--config expects key=value (e.g. regionflow:transformBatchSize=5), got {pair!r}"
            )
        overrides[key if ":" in key else f"regionflow:{key}"] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "demo"],
        help="up: deploy and serve until Ctrl-C; demo: deploy, drive every system, exit",
    )
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
    args = parser.parse_args(argv)

    def report(message: str) -> None:
        print(message, flush=True)

    time_scale = DEMO_TIME_SCALE if args.command == "demo" else 1.0
    cloud = LocalCloud(
        args.stack,
        config_overrides=_config_overrides(args.config),
        time_scale=time_scale,
        replication_lag_seconds=args.replication_lag,
        progress=report,
    )
    try:
        cloud.start()
        report(cloud.stack_output_table())
        if args.command == "up":
            report("Serving on 127.0.0.1; press Ctrl-C to stop.")
            threading.Event().wait()
            return 0
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
