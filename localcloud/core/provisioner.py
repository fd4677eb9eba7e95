"""A `pulumi.runtime.Mocks` that really deploys the program into the embedded AWS (moto) with boto3.

Run under `pulumi.runtime.set_mocks(..., preview=False)` (see `localcloud.core.program.run_program`), Pulumi
hands `new_resource` each resource's fully resolved inputs in dependency order, in wire form: camelCase
keys, numbers as floats, archives as `pulumi.FileArchive` / `AssetArchive` objects. The provisioner finds
the creator of the resource's type token in the services' registries (localcloud/services/*/provision.py),
which creates the resource in the emulator and returns its real id and the output properties the program
reads. Create-only is correct: every `up` starts a fresh emulator.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs

from localcloud.core.clients import ClientFactory
from localcloud.core.context import (
    Created,
    ProvisioningContext,
    RedisEndpointHook,
    Registry,
    UnsupportedResourceError,
)
from localcloud.core.deployment import DeployedResource, Deployment, SkippedResource
from localcloud.core.fields import unwrap_secrets
from localcloud.core.program import run_program
from localcloud.services.elasticache.redis_server import free_port
from localcloud.services.registry import CREATORS

DEFAULT_REGION = "us-east-1"

# Types that mean nothing in a single-machine emulator (or that moto cannot hold): accepted, recorded in
# `skipped`, given a minted id so dependants still resolve, and reported by the CLI.
SKIPPED_TYPES: frozenset[str] = frozenset(
    {
        "aws:fis/experimentTemplate:ExperimentTemplate",
        # RECOVERY_CONTROL checks only steer DNS answers, which nothing local resolves: readers ask ARC.
        "aws:route53/healthCheck:HealthCheck",
        "aws:xray/group:Group",
        "aws:xray/samplingRule:SamplingRule",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        # Private networking: the local Lambda workers reach the emulator and Redis on loopback anyway.
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:elasticache/subnetGroup:SubnetGroup",
        # WAF filters requests at AWS's edge of an API; the loopback gateway serves them without it.
        "aws:wafv2/webAcl:WebAcl",
        "aws:wafv2/webAclAssociation:WebAclAssociation",
    }
)


def _default_redis_endpoint(_logical_name: str, _group_id: str) -> tuple[str, int]:
    return "127.0.0.1", free_port()


class MotoProvisioner(pulumi.runtime.Mocks):
    """Creates every resource of the program in the emulator; see the module docstring."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        default_region: str = DEFAULT_REGION,
        gateway_base_url: str = "http://127.0.0.1:4567",
        redis_endpoint: RedisEndpointHook = _default_redis_endpoint,
        deployment: Deployment | None = None,
        creators: Registry = CREATORS,
    ) -> None:
        # Shared with the gateway, which may start first (the provisioner needs its URL).
        self.deployment = deployment if deployment is not None else Deployment()
        self.context = ProvisioningContext(
            client_factory,
            default_region=default_region,
            gateway_base_url=gateway_base_url,
            redis_endpoint=redis_endpoint,
            deployment=self.deployment,
        )
        self.created: list[tuple[str, str, str, str]] = []  # (type, logical name, region, id) in order
        # Independent resources arrive on several threads; the gateway reads the deployment meanwhile,
        # so one lock (the deployment's) guards both.
        self._lock = self.deployment.lock
        self._creators = dict(creators)
        # Each created resource's region until its URN arrives (registered(), right after new_resource).
        self._regions: dict[tuple[str, str, str], str] = {}

    @property
    def skipped(self) -> list[SkippedResource]:
        return self.deployment.skipped

    @property
    def regions(self) -> list[str]:
        """Every region a resource was created in, the default region first."""
        return list(
            dict.fromkeys([self.context.default_region, *(region for _, _, region, _ in self.created)])
        )

    # ------------------------------------------------------------------------------------ Mocks API
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        with self._lock:
            if not args.custom:  # ComponentResource: a grouping, nothing to create
                return "", {}
            inputs = unwrap_secrets(dict(args.inputs))
            if args.typ.startswith("pulumi:providers:"):
                return self.context.add_provider(args.name, inputs), inputs
            if args.resource_id:
                raise UnsupportedResourceError(
                    f"{args.typ} {args.name}: localcloud cannot read existing resources (.get)"
                )
            region = self.context.region_of(inputs, args.provider)
            if args.typ in SKIPPED_TYPES:
                skipped_id, skipped_outputs = self._skip(args, inputs, region)
                self._regions[(args.typ, args.name, skipped_id or "")] = region
                return skipped_id, skipped_outputs
            creator = self._creators.get(args.typ)
            if creator is None:
                raise UnsupportedResourceError(
                    f"localcloud cannot create resource type {args.typ} ({args.name}); add a creator to "
                    "its service's provision.py (localcloud/services/<service>/) or the type to SKIPPED_TYPES"
                )
            resource_id, outputs = creator(self.context, args, inputs, region)
            self.created.append((args.typ, args.name, region, resource_id))
            self._regions[(args.typ, args.name, resource_id or "")] = region
            return resource_id, outputs

    def registered(self, urn: str, typ: str, name: str, custom: bool, resource_id: str) -> None:
        """Record a created resource with its URN (program.RegistrationObserver); providers and
        components are not resources of the deployment."""
        if not custom or typ.startswith("pulumi:providers:"):
            return
        with self._lock:
            region = self._regions.pop((typ, name, resource_id or ""), None)
            self.deployment.resources.append(
                DeployedResource(
                    urn=urn,
                    typ=typ,
                    logical_name=name,
                    region=region,
                    resource_id=resource_id,
                    skipped=typ in SKIPPED_TYPES,
                )
            )

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        with self._lock:
            region = self.context.region_of(unwrap_secrets(dict(args.args)), args.provider)
            if args.token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105 - an invoke token
                identity = self.context.client("sts", region).get_caller_identity()
                result = {
                    "accountId": identity["Account"],
                    "arn": identity["Arn"],
                    "userId": identity["UserId"],
                    "id": identity["Account"],
                }
                return result, []
            if args.token == "aws:index/getRegion:getRegion":  # noqa: S105 - an invoke token
                # v7 answers `region`; `name` is the deprecated v6 spelling some code still reads.
                return {
                    "region": region,
                    "name": region,
                    "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region,
                }, []
            if args.token == "aws:index/getPartition:getPartition":  # noqa: S105 - an invoke token
                return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
            raise UnsupportedResourceError(f"localcloud cannot answer invoke {args.token}")

    def _skip(self, args: MockResourceArgs, inputs: dict[str, Any], region: str) -> Created:
        self.deployment.skipped.append(SkippedResource(typ=args.typ, logical_name=args.name, region=region))
        resource_id = f"{args.name}-{secrets.token_hex(4)[:7]}"
        service = args.typ.split(":")[1].split("/", 1)[0]
        return resource_id, {
            **inputs,
            "id": resource_id,
            "arn": self.context.regional_arn(service, region, resource_id),
            "name": inputs.get("name") or resource_id,
        }


def provision(
    stack: str, provisioner: MotoProvisioner, *, config_overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Deploy the program's `stack` into the emulator behind `provisioner`; return the stack exports."""
    return _plain(run_program(provisioner, stack=stack, config_overrides=config_overrides))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in unwrap_secrets(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
