"""Artifact distribution, end to end: a build request becomes a zip in every region and host deployments."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any

from demos.doors import call
from demos.waiting import wait_until
from handlers.artifacts.host_log import count_deployments
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import HttpResponse

Report = Callable[[str], None]


def post_build(cloud: LocalCloud, body: Any, *, content_type: str = "application/json") -> HttpResponse:
    """POST /builds as the artifact system's caller; `curl -d` sends application/x-www-form-urlencoded."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(
        cloud,
        "artifact",
        "POST",
        cloud.exports["artifactBuildsUrl"],
        body=payload,
        headers={"Content-Type": content_type},
    )


def object_bytes(cloud: LocalCloud, bucket: str, key: str, region: str | None = None) -> bytes | None:
    s3 = cloud.client("s3", region)
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def wait_for_object(cloud: LocalCloud, bucket: str, key: str, region: str | None = None) -> bytes:
    found: bytes = wait_until(partial(object_bytes, cloud, bucket, key, region), f"{key} in {bucket}")
    return found


def wait_for_hosts(cloud: LocalCloud, key: str, expected: int) -> int:
    """Wait until `expected` deployment records exist for the build (its key in the global bucket, the
    log's build_id); return the final count."""

    def enough() -> int:
        return count if (count := hosts_deployed(cloud, key)) >= expected else 0

    deployed: int = wait_until(enough, f"{expected} host deployment records of build {key}")
    return deployed


def tracking_row(cloud: LocalCloud, key: str) -> dict[str, Any] | None:
    item = (
        cloud.dynamodb_table(cloud.exports["artifactTrackingTable"])
        .get_item(
            Key={"fileKey": key, "sourceBucket": cloud.exports["artifactGlobalBucket"]}, ConsistentRead=True
        )
        .get("Item")
    )
    return dict(item) if item else None


def final_tracking_row(cloud: LocalCloud, key: str, timeout_seconds: float = 60.0) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        row = tracking_row(cloud, key)
        return row if row and row.get("status") not in (None, "IN_PROGRESS") else None

    row: dict[str, Any] = wait_until(
        finished, f"the tracking row of {key} reaching a final status", timeout_seconds
    )
    return row


def hosts_deployed(cloud: LocalCloud, key: str) -> int:
    return count_deployments(cloud.client("dynamodb"), cloud.exports["artifactHostLogTable"], key)


def manifest_of(archive: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(archive)) as build:
        manifest: dict[str, Any] = json.loads(build.read("manifest.json"))
    return manifest


def run(cloud: LocalCloud, report: Report) -> bool:
    report("== Artifact distribution")
    checks: list[tuple[str, bool]] = []
    regions: dict[str, str] = cloud.exports["artifactRegionalBuckets"]
    hosts = int(cloud.config["regionflow:artifactHostsPerRegion"])

    started = time.monotonic()
    accepted = post_build(cloud, {"commit": "3f9c2e1a7b", "branch": "main", "requestedBy": "demo"})
    report(f"POST /builds -> {accepted.status} {accepted.body!r}")
    key = accepted.json().get("artifactKey", "") if accepted.status == 202 else ""
    archive = wait_for_object(cloud, cloud.exports["artifactGlobalBucket"], key)
    report(f"{key} in the global bucket ({len(archive):,} bytes), manifest {manifest_of(archive)}")
    copies = {region: wait_for_object(cloud, bucket, key, region) for region, bucket in regions.items()}
    row = final_tracking_row(cloud, key)
    copied = f"{row.get('successfulCopies')}/{row.get('totalBuckets')}"
    report(f"tracking row: status {row['status']}, {copied} copies")
    deployed = wait_for_hosts(cloud, key, hosts * len(regions))
    report(
        f"host-deployment-logs: {deployed:,} records for build {key} "
        f"({hosts:,} hosts x {len(regions)} regions) after {time.monotonic() - started:.1f} s"
    )
    rejected = post_build(cloud, {"branch": "main"})
    report(f"POST /builds without a commit -> {rejected.status} {rejected.body!r}")

    checks.append(("build request accepted (202)", accepted.status == 202))
    checks.append(("every regional copy equals the build", all(copy == archive for copy in copies.values())))
    checks.append(
        (
            "tracking row SUCCEEDED with every copy counted",
            row["status"] == "SUCCEEDED" and int(row["successfulCopies"]) == len(regions),
        )
    )
    checks.append(("one deployment record per host and region", deployed == hosts * len(regions)))
    checks.append(("a request without a commit is refused (400)", rejected.status == 400))
    for label, passed in checks:
        report(f"  [{'ok' if passed else 'FAILED'}] {label}")
    return all(passed for _, passed in checks)
