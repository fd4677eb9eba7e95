"""Route 53 resources of a Pulumi program (hosted zones, records) -> Route 53 API calls on the emulator.

Health checks are skipped (see SKIPPED_TYPES in localcloud/core/provisioner.py): the program's point at
Route 53 Application Recovery Controller, which has no local meaning.
"""

from __future__ import annotations

import uuid
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, arn
from localcloud.core.fields import Param, api_parameters, integer


def _vpc(vpc: dict[str, Any]) -> dict[str, str]:
    return {"VPCRegion": vpc["vpcRegion"], "VPCId": vpc["vpcId"]}


def create_zone(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    parameters: dict[str, Any] = {"Name": inputs["name"], "CallerReference": str(uuid.uuid4())}
    config: dict[str, Any] = api_parameters(inputs, {"comment": "Comment"})
    vpcs = list(inputs.get("vpcs") or [])
    if vpcs:  # a private zone: created with its first VPC, then associated with the others
        config["PrivateZone"] = True
        parameters["VPC"] = _vpc(vpcs[0])
    if config:
        parameters["HostedZoneConfig"] = config
    route53 = ctx.client("route53", region)
    created = route53.create_hosted_zone(**parameters)
    zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
    for vpc in vpcs[1:]:
        route53.associate_vpc_with_hosted_zone(HostedZoneId=zone_id, VPC=_vpc(vpc))
    return zone_id, {
        **inputs,
        "id": zone_id,
        "zoneId": zone_id,
        "arn": arn("route53", f"hostedzone/{zone_id}"),
        "nameServers": list(created.get("DelegationSet", {}).get("NameServers", [])),
    }


def _quoted(record_type: str, value: str) -> str:
    # The provider quotes TXT values for Route 53, which stores them quoted.
    return f'"{value}"' if record_type == "TXT" and not value.startswith('"') else value


def _record_set(inputs: dict[str, Any]) -> dict[str, Any]:
    record_type = inputs["type"]
    return {
        "Name": inputs["name"],
        "Type": record_type,
        **api_parameters(
            inputs,
            {
                "ttl": Param("TTL", integer),
                "records": Param(
                    "ResourceRecords", lambda values: [{"Value": _quoted(record_type, v)} for v in values]
                ),
                "aliases": Param(
                    "AliasTarget",
                    lambda aliases: {
                        "DNSName": aliases[0]["name"],
                        "HostedZoneId": aliases[0]["zoneId"],
                        "EvaluateTargetHealth": bool(aliases[0].get("evaluateTargetHealth")),
                    },
                ),
                "setIdentifier": "SetIdentifier",
                "healthCheckId": "HealthCheckId",
                "failoverRoutingPolicies": Param("Failover", lambda policies: policies[0]["type"]),
                "weightedRoutingPolicies": Param("Weight", lambda policies: integer(policies[0]["weight"])),
                "latencyRoutingPolicies": Param("Region", lambda policies: policies[0]["region"]),
            },
        ),
    }


def upsert_record(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ctx.client("route53", region).change_resource_record_sets(
        HostedZoneId=inputs["zoneId"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": _record_set(inputs)}]},
    )
    parts = [inputs["zoneId"], inputs["name"], inputs["type"]]
    if inputs.get("setIdentifier"):
        parts.append(inputs["setIdentifier"])
    return "_".join(parts), {**inputs, "fqdn": inputs["name"]}


CREATORS: Registry = {
    "aws:route53/zone:Zone": create_zone,
    "aws:route53/record:Record": upsert_record,
}
