"""ElastiCache replication groups of a Pulumi program -> a real Redis (Valkey) server each.

Not created in moto: localcloud's provisioning context hands out an endpoint through its redis_endpoint
hook (LocalCloud starts a RedisServer there) and the group's outputs point at it. The groups are recorded
(RedisClusterRecord) because the emulator has no state to read them back from. What a group declares
(RedisGroupSpec: its port, AUTH token and transit encryption) is recorded before its endpoint is asked
for, so the server standing in honours it as ElastiCache does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError

# ElastiCache's rule for AUTH tokens: 16-128 characters, alphanumerics and these specials only.
AUTH_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")
DEFAULT_PORT = 6379  # ElastiCache's for Redis and Valkey groups that declare none


@dataclass(frozen=True, kw_only=True)
class RedisGroupSpec:
    """What a group declares of its endpoint: the port it listens on, the AUTH token a client must present
    (None: no AUTH) and whether a client must speak TLS."""

    port: int = DEFAULT_PORT
    auth_token: str | None = field(default=None, repr=False)
    tls: bool = False


@dataclass(frozen=True, kw_only=True)
class RedisCluster:
    """An ElastiCache replication group and the server standing in for it."""

    logical_name: str
    replication_group_id: str
    region: str
    port: int
    host: str = "127.0.0.1"
    spec: RedisGroupSpec = RedisGroupSpec()


@dataclass
class RedisClusterRecord:
    clusters: list[RedisCluster] = field(default_factory=list)
    # By logical name: read by the redis_endpoint hook while it starts the group's server.
    specs: dict[str, RedisGroupSpec] = field(default_factory=dict)


def group_spec(logical_name: str, inputs: dict[str, Any]) -> RedisGroupSpec:
    """What the group's inputs declare of its endpoint, refused where ElastiCache refuses it."""
    tls = bool(inputs.get("transitEncryptionEnabled"))
    token = inputs.get("authToken") or None
    if tls and inputs.get("transitEncryptionMode") == "preferred":
        raise UnsupportedResourceError(
            f"aws:elasticache/replicationGroup:ReplicationGroup {logical_name}: transitEncryptionMode "
            "'preferred' (TLS and plaintext on one port) is not served locally; use 'required'"
        )
    if token is not None:
        if not tls:
            raise ValueError(
                f"ElastiCache replication group {logical_name}: AuthToken can be specified only on "
                "replication groups where TransitEncryptionEnabled is true"
            )
        if not AUTH_TOKEN_PATTERN.fullmatch(str(token)):
            raise ValueError(
                f"ElastiCache replication group {logical_name}: the AUTH token must be 16-128 characters, "
                "letters, digits and !&#$^<>- only"
            )
    return RedisGroupSpec(
        port=int(inputs.get("port") or DEFAULT_PORT),
        auth_token=None if token is None else str(token),
        tls=tls,
    )


def create_replication_group(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    group_id = ctx.name(args, inputs, key="replicationGroupId", max_length=40, lower=True)
    spec = group_spec(args.name, inputs)
    record = ctx.record(RedisClusterRecord)
    record.specs[args.name] = spec
    host, port = ctx.redis_endpoint(args.name, group_id)
    record.clusters.append(
        RedisCluster(
            logical_name=args.name,
            replication_group_id=group_id,
            region=region,
            port=port,
            host=host,
            spec=spec,
        )
    )
    encryption = {"transitEncryptionMode": "required"} if spec.tls else {}
    return group_id, {
        **encryption,
        **inputs,
        "id": group_id,
        "replicationGroupId": group_id,
        "arn": ctx.regional_arn("elasticache", region, f"replicationgroup:{group_id}"),
        "primaryEndpointAddress": host,
        "readerEndpointAddress": host,
        "port": port,
        "memberClusters": [f"{group_id}-001"],
    }


CREATORS: Registry = {"aws:elasticache/replicationGroup:ReplicationGroup": create_replication_group}
