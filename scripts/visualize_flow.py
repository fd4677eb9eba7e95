"""Watch the active-active event flow across both regions, step by step, and draw it.

    python scripts/visualize_flow.py [--mermaid docs/active_active_flow.mmd] [--stack local] [--no-feed]

Deploys the program's events system into localcloud (the embedded AWS), then: an event created in one
region and replicated; a partition during which each region accepts a conflicting update, healed, and
resolved the same way in both replicas (later client timestamp wins); the same idempotency key sent again
to both regions (processed once); a stale write (409) and a poison event (DLQ). Throughout, a subscriber
watches both regions' live conflict feeds (signed WebSockets) and what they say is drawn as it arrives:
accepted, duplicate, stale, repaired. The feed needs API Gateway v2, which the `local` stack leaves to
function URLs for LocalStack's sake: localcloud serves v2 either way, so the stack is deployed with
regionflow:apiFrontDoor=httpApi unless --no-feed. Each step is printed as it happens; the run is written
as a Mermaid sequence diagram. Exit code 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a file (python scripts/visualize_flow.py), the project root is not on sys.path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demos.events import mermaid, tell
from localcloud.core.cloud import LocalCloud

DEFAULT_DIAGRAM = Path("docs/active_active_flow.mmd")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run and draw the active-active event flow in localcloud.")
    parser.add_argument("--mermaid", type=Path, default=DEFAULT_DIAGRAM, help="where to write the diagram")
    parser.add_argument("--stack", default="local", help="stack file to deploy (default: local)")
    parser.add_argument(
        "--no-feed", action="store_true", help="keep the stack's own front door (no feed on `local`)"
    )
    args = parser.parse_args(argv)

    overrides = {"regionflow:systems": json.dumps(["events"])}
    if not args.no_feed:
        overrides["regionflow:apiFrontDoor"] = "httpApi"
    print(f"Deploying stack '{args.stack}' into localcloud ({overrides}) ...", flush=True)
    with LocalCloud(args.stack, config_overrides=overrides, time_scale=0.01) as cloud:
        flow = tell(cloud, lambda line: print(line, flush=True))
    args.mermaid.parent.mkdir(parents=True, exist_ok=True)
    args.mermaid.write_text(mermaid(flow), encoding="utf-8")
    print(f"Sequence diagram: {args.mermaid} ({len(flow.arrows)} steps; paste into any Mermaid viewer)")
    print("All checks passed." if flow.passed else "Some checks FAILED.")
    return 0 if flow.passed else 1


if __name__ == "__main__":
    sys.exit(main())
