"""ElastiCache replication groups of a Pulumi program -> a real Redis (Valkey) server each.

Not created in moto: localcloud's provisioning context hands out an endpoint through its redis_endpoint
hook (LocalCloud starts a RedisServer there) and the group's outputs point at it. The groups are recorded
(RedisClusterRecord) because the emulator has no state to read them back from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry


@dataclass(frozen=True, kw_only=True)
class RedisCluster:
    """An ElastiCache replication group and the server standing in for it."""

    logical_name: str
    replication_group_id: str
    region: str
    port: int
    host: str = "127.0.0.1"


@dataclass
class RedisClusterRecord:
    clusters: list[RedisCluster] = field(default_factory=list)


def create_replication_group(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    group_id = ctx.name(args, inputs, key="replicationGroupId", max_length=40, lower=True)
    host, port = ctx.redis_endpoint(args.name, group_id)
    ctx.record(RedisClusterRecord).clusters.append(
        RedisCluster(
            logical_name=args.name, replication_group_id=group_id, region=region, port=port, host=host
        )
    )
    return group_id, {
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
