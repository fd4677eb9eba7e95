"""The IAM authorization checks AWS makes for one API request: (action, resource ARN) pairs, per the Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/). Pure: no
moto, no boto3, no I/O; names that only the emulator's state can turn into ARNs go through a
`ResourceResolver`.

    checks = authorization_checks(ApiRequest(service="dynamodb", operation="Query", params=..., region=...,
                                             account=...), resolver)

Reading the result:
- every check must be allowed (they are conjunctive: a batch checks each table, CopyObject the source and
  the destination, CreateFunction the function and iam:PassRole on its role);
- resource "*" means the action has no resource-level permissions (only a policy on "*" allows it), or the
  request did not name the resource;
- an empty list means AWS checks no identity policy: sts:GetCallerIdentity, and the unsigned
  AssumeRoleWithWebIdentity / AssumeRoleWithSAML (their role's trust policy decides);
- an operation this module does not know gets the generic `<prefix>:<Operation>` on "*" with
  `Check.unmapped` set (`is_mapped` asks the same question up front).

Services and the endpoint names they are registered under: one module per few services
(databases, messaging, compute, storage, security, monitoring, networking).
"""

from __future__ import annotations

from collections.abc import Mapping

from localcloud.services.iam.request_authorization import (
    compute,
    databases,
    messaging,
    monitoring,
    networking,
    security,
    storage,
)
from localcloud.services.iam.request_authorization.model import (
    WILDCARD,
    ApiRequest,
    Call,
    Check,
    ResourceResolver,
    Service,
)

__all__ = [
    "WILDCARD",
    "ApiRequest",
    "Check",
    "ResourceResolver",
    "authorization_checks",
    "iam_prefix",
    "is_mapped",
    "mapped_operations",
]

_SERVICES: Mapping[str, Service] = {
    **databases.SERVICES,
    **messaging.SERVICES,
    **compute.SERVICES,
    **storage.SERVICES,
    **security.SERVICES,
    **monitoring.SERVICES,
    **networking.SERVICES,
}
# IAM prefixes of endpoints without a table (API Gateway's management actions are HTTP verbs on paths:
# not modelled), for the fallback.
_PREFIXES = {"apigateway": "apigateway", "elasticache": "elasticache", "ec2": "ec2", "iam": "iam"}


def iam_prefix(service: str) -> str:
    """The IAM service prefix of an endpoint: monitoring -> cloudwatch, sesv2 -> ses, ..."""
    known = _SERVICES.get(service)
    return known.prefix if known else _PREFIXES.get(service, service)


def is_mapped(service: str, operation: str) -> bool:
    known = _SERVICES.get(service)
    return known is not None and operation in known.rules


def mapped_operations() -> dict[str, frozenset[str]]:
    """Endpoint name -> the operations with a rule (aliases such as sesv2 or stepfunctions included)."""
    return {name: frozenset(service.rules) for name, service in _SERVICES.items()}


def authorization_checks(request: ApiRequest, resolver: ResourceResolver) -> list[Check]:
    """The (action, resource) pairs AWS authorizes for the request; see the module's docstring."""
    service = _SERVICES.get(request.service)
    rule = service.rules.get(request.operation) if service else None
    if service is None or rule is None:
        return [Check(f"{iam_prefix(request.service)}:{request.operation}", WILDCARD, unmapped=True)]
    return rule(Call(request, resolver, service.prefix))
