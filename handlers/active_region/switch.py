"""The failover runbook's two steps on the active-region signal: read it, and flip it.

`read_handler` tells the runbook which region is active and whether the target already is. A broken
signal (missing, empty, ambiguous) is reported, not raised: a failover must be possible precisely when the
signal is broken, and activating a region is what repairs it.

`activate_handler` makes the target the active region, then reads the signal back and raises unless it
names the target. Activating is idempotent (the same write, the same answer), so the runbook may retry it;
activating the region that is already active still writes, which also repairs a signal with two regions On.

Both read uncached (cache_seconds=0): the runbook must see the signal as it is now, not as a warm Lambda
environment remembers it. Which backend (Route 53 record or ARC routing controls) follows the function's
environment, as in handlers/active_region/signal.py; the switch also needs ACTIVE_REGION_REGIONS on the
record backend.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.active_region import signal as active_region
from handlers.active_region.signal import ActiveRegionSource, ActiveRegionSwitch, ActiveRegionUnknownError
from handlers.environment import runtime_region

logger = Logger(service="failover-switch")
tracer = Tracer(service="failover-switch")

NO_ACTIVE_REGION = ""  # what the read answers when the signal names no single region


class ActivationNotConfirmedError(Exception):
    """The switch was written, but the signal read back does not name the target region."""


@dataclass(frozen=True)
class SwitchDependencies:
    reader: ActiveRegionSource  # uncached
    switch: ActiveRegionSwitch
    region: str  # the region this function runs in


@functools.cache
def dependencies() -> SwitchDependencies:
    """Built on first use (not at import) so tests can import the module under moto."""
    return SwitchDependencies(
        reader=active_region.from_environment(cache_seconds=0),
        switch=active_region.switch_from_environment(),
        region=runtime_region(os.environ),
    )


def target_region(
    event: Mapping[str, Any], known_regions: Sequence[str], *, default: str | None = None
) -> str:
    """The event's targetRegion (or `default`), refused unless it is one of `known_regions`."""
    target = event.get("targetRegion") or default
    known = ", ".join(known_regions)
    if not target:
        raise ValueError(f"the event has no targetRegion: name the region to activate, one of {known}")
    if target not in known_regions:
        raise ValueError(f"unknown targetRegion {target!r}: the known regions are {known}")
    return str(target)


def read_state(reader: ActiveRegionSource, target: str) -> dict[str, Any]:
    """{"activeRegion", "targetRegion", "alreadyActive"}; activeRegion is "" when the signal is broken."""
    try:
        active = reader.active_region()
    except ActiveRegionUnknownError as error:
        logger.warning(
            "active region unknown: failing over to the target will set it",
            extra={"targetRegion": target, "reason": str(error)},
        )
        active = NO_ACTIVE_REGION
    return {"activeRegion": active, "targetRegion": target, "alreadyActive": active == target}


def activate(switch: ActiveRegionSwitch, reader: ActiveRegionSource, target: str) -> dict[str, str]:
    """Make `target` the active region and confirm it with `reader` (which must not cache).

    Returns {"previousRegion", "activeRegion"}; previousRegion is "" when the signal was broken.
    """
    previous = read_state(reader, target)["activeRegion"]
    switch.activate(target)
    try:
        now_active = reader.active_region()
    except ActiveRegionUnknownError as error:
        raise ActivationNotConfirmedError(
            f"activated {target}, but the signal read back names no region: {error}"
        ) from error
    if now_active != target:
        raise ActivationNotConfirmedError(
            f"activated {target}, but the signal read back says {now_active}: another writer may have "
            "flipped it in between; find out who before running the failover again"
        )
    logger.info(
        f"active region is now {target} (was {previous or 'unknown'})",
        extra={"previousRegion": previous, "activeRegion": target},
    )
    return {"previousRegion": previous, "activeRegion": target}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def read_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return read_state(deps.reader, target_region(event, deps.switch.regions, default=deps.region))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def activate_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    deps = dependencies()
    return activate(deps.switch, deps.reader, target_region(event, deps.switch.regions))
