"""Which region processes batches: the active-region signal, a TXT record in a Route 53 private zone.

The failover runbook flips the record; every reader goes through `ActiveRegionSource`, so a test or a
stack without Route 53 can supply the answer another way.

The Lambdas that read it are not in the VPC the private zone is attached to, so they cannot resolve the
name through DNS: they read the record through the Route 53 API instead. That API is rate limited (5
requests per second per account, shared by every caller), so a reader caches the value for at most the
record's TTL: a flip is seen no later than a DNS resolver would see it, and a burst of S3 events costs one
API call per warm Lambda environment and TTL.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import boto3

TXT_TYPE = "TXT"
DEFAULT_CACHE_SECONDS = 60.0
# eu-west-1, us-gov-west-1, ap-southeast-2, il-central-1 ...
REGION_NAME = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
# One TXT value is one or more quoted strings ("a" "b"); escaped quotes stay inside a string.
_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class ActiveRegionUnknownError(Exception):
    """The active-region record is missing, empty or not a region name: no region may process batches."""


class ActiveRegionSource(Protocol):
    def active_region(self) -> str: ...


def is_active(source: ActiveRegionSource, region: str) -> bool:
    return source.active_region() == region


def _absolute_name(name: str) -> str:
    """Route 53 answers with lower-case, dot-terminated names."""
    return name.strip().rstrip(".").lower() + "."


def _txt_text(value: str) -> str:
    strings = _TXT_STRING.findall(value)
    if not strings:
        return value.strip()
    # Escapes (\" \\ \nnn) are left as they are: no region name contains one, so validation refuses them.
    return "".join(strings).strip()


class Route53ActiveRegion:
    """The active region from a TXT record, read through the Route 53 API and cached for `cache_seconds`."""

    def __init__(
        self,
        route53_client: Any,
        *,
        zone_id: str,
        record_name: str,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_seconds < 0:
            raise ValueError(f"cache_seconds must be >= 0, got {cache_seconds}")
        self._route53 = route53_client
        self.zone_id = zone_id
        self.record_name = _absolute_name(record_name)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[str, float] | None = None  # (region, clock reading when it was read)

    def active_region(self) -> str:
        now = self._clock()
        if self._cached is not None and now - self._cached[1] < self._cache_seconds:
            return self._cached[0]
        region = self._read()
        self._cached = (region, now)
        return region

    def _how_to_set(self) -> str:
        change = {
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": self.record_name,
                        "Type": TXT_TYPE,
                        "TTL": max(int(self._cache_seconds), 1),
                        "ResourceRecords": [{"Value": '"us-east-1"'}],
                    },
                }
            ]
        }
        return (
            "set it to the active region's name with the failover runbook, or: aws route53 "
            f"change-resource-record-sets --hosted-zone-id {self.zone_id} "
            f"--change-batch '{json.dumps(change)}'"
        )

    def _read(self) -> str:
        # StartRecordName lists from that name on in Route 53's order, so the first answer is the next
        # record when ours is missing: check it is really our name and type.
        response = self._route53.list_resource_record_sets(
            HostedZoneId=self.zone_id,
            StartRecordName=self.record_name,
            StartRecordType=TXT_TYPE,
            MaxItems="1",
        )
        records = [
            record
            for record in response.get("ResourceRecordSets", [])
            if _absolute_name(record.get("Name", "")) == self.record_name and record.get("Type") == TXT_TYPE
        ]
        if not records:
            raise ActiveRegionUnknownError(
                f"active region unknown: no TXT record {self.record_name} in hosted zone {self.zone_id}; "
                f"{self._how_to_set()}"
            )
        values = [_txt_text(str(value.get("Value", ""))) for value in records[0].get("ResourceRecords", [])]
        values = [value for value in values if value]
        if not values:
            raise ActiveRegionUnknownError(
                f"active region unknown: TXT record {self.record_name} in hosted zone {self.zone_id} is "
                f"empty; {self._how_to_set()}"
            )
        if len(values) > 1:
            raise ActiveRegionUnknownError(
                f"active region ambiguous: TXT record {self.record_name} in hosted zone {self.zone_id} "
                f"holds {len(values)} values {values}, it must hold exactly one; {self._how_to_set()}"
            )
        region = values[0]
        if not REGION_NAME.fullmatch(region):
            raise ActiveRegionUnknownError(
                f"active region unknown: TXT record {self.record_name} in hosted zone {self.zone_id} holds "
                f"{region[:100]!r}, which is not a region name; {self._how_to_set()}"
            )
        return region


def from_environment(route53_client: Any = None) -> Route53ActiveRegion:
    """The reader the component configures: ACTIVE_REGION_ZONE_ID, ACTIVE_REGION_RECORD_NAME and
    ACTIVE_REGION_CACHE_SECONDS (the record's TTL)."""
    return Route53ActiveRegion(
        route53_client if route53_client is not None else boto3.client("route53"),
        zone_id=os.environ["ACTIVE_REGION_ZONE_ID"],
        record_name=os.environ["ACTIVE_REGION_RECORD_NAME"],
        cache_seconds=float(os.environ.get("ACTIVE_REGION_CACHE_SECONDS", str(DEFAULT_CACHE_SECONDS))),
    )
