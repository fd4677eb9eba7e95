"""The provisioning context: what every service's creators share while the program deploys.

A creator is `create(ctx, args, inputs, region) -> (resource id, outputs)`: `args` is Pulumi's
MockResourceArgs (type token, logical name), `inputs` the resolved wire inputs (secrets unwrapped), `region`
the resource's region already resolved (per-resource `region`, else its provider's, else the default).
Outputs use wire names (camelCase), as the program reads them. The context hands out the one client
factory, the account id, ARNs, physical names (explicit, prefixed or Pulumi's auto-name) and each
service's record of the deployment.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from pulumi.runtime import MockResourceArgs

from localcloud.core.clients import ClientFactory
from localcloud.core.deployment import Deployment

Created = tuple[str, dict[str, Any]]  # (the resource's id, its output properties in wire names)
Creator = Callable[["ProvisioningContext", MockResourceArgs, dict[str, Any], str], Created]
Registry = dict[str, Creator]  # Pulumi type token -> its creator, one per service
# (logical name, replication group id) -> (host, port) of the Redis server standing in for a cluster.
RedisEndpointHook = Callable[[str, str], tuple[str, int]]
Record = TypeVar("Record")


class UnsupportedResourceError(NotImplementedError):
    """The program declared a resource (or a setting) localcloud cannot create: the deploy fails naming it."""


def arn(service: str, resource: str, *, region: str = "", account: str = "") -> str:
    """An ARN in the aws partition; global services leave region (and some account) empty."""
    return f"arn:aws:{service}:{region}:{account}:{resource}"


class ProvisioningContext:
    """Shared by the creators of one deployment; the provisioner's lock serialises their calls."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        default_region: str,
        gateway_base_url: str,
        redis_endpoint: RedisEndpointHook,
        deployment: Deployment,
    ) -> None:
        self.client_factory = client_factory
        self.default_region = default_region
        self.gateway_base_url = gateway_base_url.rstrip("/")  # the loopback gateway serving HTTP endpoints
        self.redis_endpoint = redis_endpoint
        self.deployment = deployment
        self._providers: dict[str, dict[str, Any]] = {}  # provider id (minted) -> its inputs
        self._account_id: str | None = None

    def client(self, service: str, region: str) -> Any:
        return self.client_factory(service, region)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            identity = self.client("sts", self.default_region).get_caller_identity()
            self._account_id = str(identity["Account"])
        return self._account_id

    def regional_arn(self, service: str, region: str, resource: str) -> str:
        """An ARN in this account and `region`."""
        return arn(service, resource, region=region, account=self.account_id)

    def record(self, kind: type[Record]) -> Record:
        """This deployment's record of type `kind` (see localcloud.core.deployment)."""
        return self.deployment.record(kind)

    # ---- regions -----------------------------------------------------------------------------------
    def add_provider(self, logical_name: str, inputs: dict[str, Any]) -> str:
        """Remember an explicit provider's inputs; returns the id its resources will reference it by."""
        # Provider URNs carry the parent type chain, so key providers by an id we mint.
        provider_id = f"{logical_name}-{secrets.token_hex(8)}"
        self._providers[provider_id] = inputs
        return provider_id

    def region_of(self, inputs: dict[str, Any], provider: str | None) -> str:
        """pulumi-aws v7's per-resource `region`, else the provider's region, else the default."""
        if inputs.get("region"):
            return str(inputs["region"])
        if provider:  # a provider reference is "<urn>::<id>"
            provider_inputs = self._providers.get(provider.rsplit("::", 1)[-1], {})
            if provider_inputs.get("region"):
                return str(provider_inputs["region"])
        return self.default_region

    # ---- names -------------------------------------------------------------------------------------
    @staticmethod
    def name(
        args: MockResourceArgs,
        inputs: dict[str, Any],
        *,
        key: str = "name",
        prefix_key: str = "namePrefix",
        max_length: int = 255,
        lower: bool = False,
        suffix: str = "",
    ) -> str:
        """The explicit name, else prefix + random, else Pulumi's auto-name: logical name + "-" + 7 hex.

        max_length is the service's limit for the name (the suffix included); `lower` for services whose
        names are lower-case (S3 buckets, ElastiCache ids); `suffix` for ".fifo" queues and topics.
        """
        if inputs.get(key):
            return str(inputs[key])
        if inputs.get(prefix_key):
            name = f"{inputs[prefix_key]}{secrets.token_hex(13)}"
        else:
            name = f"{args.name}-{secrets.token_hex(4)[:7]}"
        if lower:
            name = name.lower()
        return name[: max_length - len(suffix)] + suffix
