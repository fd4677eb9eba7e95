"""S3 Multi-Region Access Points of a Pulumi program -> localcloud's access points (moto has none)."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError
from localcloud.services.s3control.multi_region_access_points import current


def create_multi_region_access_point(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    details = inputs.get("details") or {}
    buckets = [str(region["bucket"]) for region in details.get("regions") or []]
    account = str(inputs.get("accountId") or ctx.account_id)
    try:
        point = current().create(str(details.get("name", "")), account, buckets)
    except ValueError as invalid:
        raise UnsupportedResourceError(f"{args.name}: {invalid}") from invalid
    return f"{account}:{point.name}", {
        **inputs,
        "accountId": account,
        "alias": point.alias,
        "arn": point.arn,
        "domainName": point.domain_name,
        "status": "READY",
    }


CREATORS: Registry = {
    "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint": create_multi_region_access_point,
}
