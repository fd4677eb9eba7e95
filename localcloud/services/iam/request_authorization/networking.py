"""Route 53 (REST: ids from the parameters, else the URL path) and Route 53 ARC's cluster endpoints.
Route 53 is global: its ARNs name no region or account (arn:aws:route53:::hostedzone/ID).

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53recoverycluster.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import xmltodict

from localcloud.services.iam.request_authorization.model import (
    Call,
    Check,
    Resource,
    Rule,
    Service,
    anywhere,
    each,
    on,
    param,
    uniform,
)

# /2013-04-01/hostedzone/ZONE[/rrset...], /2013-04-01/change/ID, /2013-04-01/tags/hostedzone/ZONE, ...
_IN_PATH = re.compile(r"/(?P<type>hostedzone|change|healthcheck)/(?P<id>[^/?]+)")


def _route53(resource_type: str, *names: str) -> Resource:
    """arn:aws:route53:::TYPE/ID; ids may come prefixed as the API returns them (/hostedzone/Z123)."""

    def resource(call: Call) -> str | None:
        found = call.text(*names)
        if found is None:
            matched = _IN_PATH.search(urlsplit(call.request.path).path)
            found = (
                unquote(matched.group("id")) if matched and matched.group("type") == resource_type else None
            )
        return f"arn:aws:route53:::{resource_type}/{found.rpartition('/')[2]}" if found else None

    return resource


def _tagged(call: Call) -> str | None:
    """ChangeTagsForResource / ListTagsForResource name the resource by type and id."""
    resource_type = (call.text("ResourceType") or "").lower()
    if resource_type not in ("hostedzone", "healthcheck"):
        matched = _IN_PATH.search(urlsplit(call.request.path).path)
        resource_type = matched.group("type") if matched else ""
    return _route53(resource_type, "ResourceId")(call) if resource_type else None


_ZONE_OPERATIONS = (
    *("GetHostedZone", "ListResourceRecordSets", "ChangeResourceRecordSets", "DeleteHostedZone"),
    *("UpdateHostedZoneComment", "GetHostedZoneLimit", "GetDNSSEC", "AssociateVPCWithHostedZone"),
    *("DisassociateVPCFromHostedZone", "CreateVPCAssociationAuthorization"),
)
_HEALTH_CHECK_OPERATIONS = (
    *("GetHealthCheck", "DeleteHealthCheck", "UpdateHealthCheck", "GetHealthCheckStatus"),
    "GetHealthCheckLastFailureReason",
)


def _record_changes(call: Call) -> list[Check]:
    """ChangeResourceRecordSets on the zone, with the condition keys Route 53 sets from the change batch:
    each change's action, record type and normalized name (lowercase, no trailing dot)."""
    (check,) = on(_route53("hostedzone", "HostedZoneId", "Id"))(call)
    try:
        # moto parses the same body; entities are refused (the SDKs send none).
        document = xmltodict.parse(call.request.body, disable_entities=True) if call.request.body else {}
    except Exception:
        document = {}
    batch = (document.get("ChangeResourceRecordSetsRequest") or {}).get("ChangeBatch") or {}
    changes = (batch.get("Changes") or {}).get("Change") or []
    changes = changes if isinstance(changes, list) else [changes]
    actions = [str(change.get("Action", "")) for change in changes]
    record_sets = [change.get("ResourceRecordSet") or {} for change in changes]
    types = [str(record.get("Type", "")) for record in record_sets]
    names = [str(record.get("Name", "")).rstrip(".").lower() for record in record_sets]
    prefix = "route53:ChangeResourceRecordSets"
    context = ((f"{prefix}Actions", tuple(actions)), (f"{prefix}RecordTypes", tuple(types)))
    return [
        Check(
            check.action, check.resource, context=(*context, (f"{prefix}NormalizedRecordNames", tuple(names)))
        )
    ]


_ROUTE53_RULES: dict[str, Rule] = {
    **uniform(_ZONE_OPERATIONS, on(_route53("hostedzone", "HostedZoneId", "Id"))),
    "ChangeResourceRecordSets": _record_changes,
    "GetChange": on(_route53("change", "Id")),
    **uniform(_HEALTH_CHECK_OPERATIONS, on(_route53("healthcheck", "HealthCheckId"))),
    **uniform(("ChangeTagsForResource", "ListTagsForResource"), on(_tagged)),
    **uniform(
        ("CreateHostedZone", "ListHostedZones", "ListHostedZonesByName", "GetHostedZoneCount"), anywhere()
    ),
    **uniform(
        ("CreateHealthCheck", "ListHealthChecks", "GetHealthCheckCount", "GetCheckerIpRanges"), anywhere()
    ),
}


def _routing_controls(call: Call) -> list[str]:
    entries = call.items("UpdateRoutingControlStateEntries")
    return [
        entry["RoutingControlArn"]
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("RoutingControlArn")
    ]


_RECOVERY_CLUSTER_RULES: dict[str, Rule] = {
    **uniform(("GetRoutingControlState", "UpdateRoutingControlState"), on(param("RoutingControlArn"))),
    "UpdateRoutingControlStates": each(_routing_controls),
    "ListRoutingControls": anywhere(),
}

SERVICES = {
    "route53": Service("route53", _ROUTE53_RULES),
    "route53-recovery-cluster": Service("route53-recovery-cluster", _RECOVERY_CLUSTER_RULES),
}
