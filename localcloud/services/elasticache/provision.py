"""ElastiCache replication groups of a Pulumi program -> a real Redis (Valkey) server each.

Not created in moto: localcloud's provisioning context hands out an endpoint through its redis_endpoint
hook (LocalCloud starts a RedisServer there) and the group's outputs point at it. The groups are recorded
(RedisClusterRecord) because the emulator has no state to read them back from. What a group declares
(RedisGroupSpec: its port, AUTH token and transit encryption) is recorded before its endpoint is asked
for, so the server standing in honours it as ElastiCache does.

Memory as ElastiCache has it: a node type's memory less the reserved-memory-percent (25% by default) is
the server's maxmemory, and the eviction policy is the parameter group's maxmemory-policy, volatile-lru
in the default groups; so a full cache evicts (or, with noeviction, refuses writes) locally as it does on
AWS. Parameter groups (aws:elasticache/parameterGroup) are recorded and applied to the groups naming
them; only the parameters listed in SERVER_PARAMETERS reach the server, others are refused by name.

Replicas as ElastiCache has them: a group of N cache clusters (or replicasPerNodeGroup) is one primary and
N - 1 read replicas, each a real server replicating asynchronously (RedisGroupSpec.replicas, which the
server standing in for the group starts), and its member clusters are named `<group id>-001`, -002, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, UnsupportedResourceError

# ElastiCache's rule for AUTH tokens: 16-128 characters, alphanumerics and these specials only.
AUTH_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")
DEFAULT_PORT = 6379  # ElastiCache's for Redis and Valkey groups that declare none
DEFAULT_MAXMEMORY_POLICY = "volatile-lru"  # the default.redis*/default.valkey* parameter groups'
DEFAULT_RESERVED_MEMORY_PERCENT = 25
GIB = 1024**3
# Memory of the node types a program is likely to name (GiB, as the ElastiCache pricing tables list it).
NODE_MEMORY_GIB = {
    "cache.t4g.micro": 0.5,
    "cache.t4g.small": 1.37,
    "cache.t4g.medium": 3.09,
    "cache.t3.micro": 0.5,
    "cache.t3.small": 1.37,
    "cache.t3.medium": 3.09,
    "cache.m7g.large": 6.38,
    "cache.r7g.large": 13.07,
}
# Parameters the server applies as ElastiCache does; their values pass straight to it.
SERVER_PARAMETERS = frozenset({"maxmemory-policy", "maxmemory-samples", "timeout", "notify-keyspace-events"})


@dataclass(frozen=True, kw_only=True)
class RedisGroupSpec:
    """What a group declares of its endpoint: the port it listens on, the AUTH token a client must present
    (None: no AUTH) and whether a client must speak TLS."""

    port: int = DEFAULT_PORT
    auth_token: str | None = field(default=None, repr=False)
    tls: bool = False
    # Server settings (maxmemory, maxmemory-policy, ...) from the node type and the parameter group.
    settings: tuple[tuple[str, str], ...] = ()
    replicas: int = 0  # read replicas beside the primary


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
    # Parameter groups by name: parameter -> value.
    parameter_groups: dict[str, dict[str, str]] = field(default_factory=dict)


def server_settings(
    logical_name: str, inputs: dict[str, Any], parameter_groups: dict[str, dict[str, str]]
) -> tuple[tuple[str, str], ...]:
    """maxmemory from the node type (less the reserved memory) and the parameter group's settings."""
    group_name = inputs.get("parameterGroupName")
    parameters: dict[str, str] = {}
    if group_name and not str(group_name).startswith("default."):
        if group_name not in parameter_groups:
            raise ValueError(f"ElastiCache replication group {logical_name}: no parameter group {group_name}")
        parameters = parameter_groups[str(group_name)]
    node_type = str(inputs.get("nodeType") or "")
    if node_type not in NODE_MEMORY_GIB:
        raise UnsupportedResourceError(
            f"ElastiCache replication group {logical_name}: node type {node_type!r} has no known memory "
            f"here; localcloud knows {', '.join(sorted(NODE_MEMORY_GIB))}"
        )
    reserved = int(parameters.get("reserved-memory-percent", DEFAULT_RESERVED_MEMORY_PERCENT))
    maxmemory = int(NODE_MEMORY_GIB[node_type] * GIB * (100 - reserved) / 100)
    settings = {"maxmemory": str(maxmemory), "maxmemory-policy": DEFAULT_MAXMEMORY_POLICY}
    settings |= {name: value for name, value in parameters.items() if name in SERVER_PARAMETERS}
    return tuple(sorted(settings.items()))


def create_parameter_group(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], _region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=255, lower=True)
    parameters = {str(item["name"]): str(item["value"]) for item in inputs.get("parameters") or []}
    unknown = sorted(set(parameters) - SERVER_PARAMETERS - {"reserved-memory-percent"})
    if unknown:
        raise UnsupportedResourceError(
            f"ElastiCache parameter group {args.name}: localcloud does not apply {unknown}; it applies "
            f"{sorted(SERVER_PARAMETERS | {'reserved-memory-percent'})}"
        )
    ctx.record(RedisClusterRecord).parameter_groups[name] = parameters
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": ctx.regional_arn("elasticache", _region, f"parametergroup:{name}"),
    }


def group_spec(
    logical_name: str, inputs: dict[str, Any], settings: tuple[tuple[str, str], ...] = ()
) -> RedisGroupSpec:
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
        replicas=replica_count(logical_name, inputs),
    )


def replica_count(logical_name: str, inputs: dict[str, Any]) -> int:
    """Read replicas the group declares: numCacheClusters less the primary, or replicasPerNodeGroup."""
    if inputs.get("numCacheClusters") is not None:
        clusters = int(inputs["numCacheClusters"])
        if clusters < 1:
            raise ValueError(f"ElastiCache replication group {logical_name}: numCacheClusters must be >= 1")
        return clusters - 1
    return int(inputs.get("replicasPerNodeGroup") or 0)


def create_replication_group(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    group_id = ctx.name(args, inputs, key="replicationGroupId", max_length=40, lower=True)
    record = ctx.record(RedisClusterRecord)
    spec = group_spec(args.name, inputs)  # the endpoint's rules first: they are what ElastiCache checks first
    spec = replace(spec, settings=server_settings(args.name, inputs, record.parameter_groups))
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
        "memberClusters": [f"{group_id}-{member:03d}" for member in range(1, 2 + spec.replicas)],
    }


CREATORS: Registry = {
    "aws:elasticache/replicationGroup:ReplicationGroup": create_replication_group,
    "aws:elasticache/parameterGroup:ParameterGroup": create_parameter_group,
}
