"""The active-region signal's contract: what FailoverControl (which creates the signal) writes and every
function that reads or flips it gets: the batch trigger and the failover runbook's read and activate
steps (handlers/active_region/signal.py holds the two backends). Pure Python: the Pulumi program imports
this with requirements.txt alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.environment import Environment


@dataclass(frozen=True, kw_only=True)
class ActiveRegionSettings(Environment):
    """Where the active-region signal is and how to read it (and, for the runbook, to flip it).

    The record backend reads the TXT record; with the two ARC variables set, the routing controls are
    read (and flipped) instead, and the record is ARC's failover pair.
    """

    active_region_zone_id: str
    active_region_record_name: str
    active_region_cache_seconds: float = 60.0  # the record's TTL: a reader caches it at most this long
    # The regions the runbook's switch may activate (the record switch needs them).
    active_region_regions: tuple[str, ...] | None = None
    # Route 53 ARC: region -> routing control ARN, and the cluster's endpoints as DescribeCluster lists them
    # ([{"Endpoint": "https://....amazonaws.com/v1", "Region": "us-west-2"}, ...]).
    active_region_routing_controls: dict[str, str] | None = None
    active_region_cluster_endpoints: tuple[dict[str, str], ...] | None = None
