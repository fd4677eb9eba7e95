"""A group's read replicas are real servers replicating asynchronously, as ElastiCache's are.

What the audit ingest's WAIT (a payload confirmed by a replica before its 202) needs from localcloud: a
replica that really holds a write once WAIT counts it, and none counted once it is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from pulumi.runtime import MockResourceArgs

from localcloud.core.provisioner import MotoProvisioner
from localcloud.services.elasticache.provision import RedisClusterRecord
from localcloud.services.elasticache.redis_server import RedisServer

from .test_provision import GROUP

# WAIT returns as soon as the replicas asked for confirm: a wait that should succeed gets ample time (a busy
# two-core machine delays a TLS replica's acknowledgement past 200 ms), one that must fail a short bound.
CONFIRM_TIMEOUT_MS = 10_000
WAIT_TIMEOUT_MS = 200
TOKEN = "Local-AUTH-token-0123456789!&#$^<>"  # ElastiCache's specials: the replica must present it exactly


def replica_client(server: RedisServer, index: int = 0) -> redis.Redis:
    replica = server.replica_servers[index]
    return redis.Redis(host=replica.host, port=replica.port, password=server.password)


def test_a_write_confirmed_by_wait_is_on_the_replica_and_the_replica_refuses_writes() -> None:
    # GIVEN a group's server with one replica, with an AUTH token and TLS as the audit group has
    with RedisServer(password=TOKEN, tls=True, replicas=1) as server:
        with redis.Redis(**server.connection_options()) as primary:
            # WHEN a client writes through the endpoint and waits for one replica
            primary.set("payload", b"bytes", ex=3_600)
            confirmed = primary.wait(1, CONFIRM_TIMEOUT_MS)
        # THEN the replica confirmed it, and holds it with its TTL
        assert confirmed == 1
        with replica_client(server) as replica:
            assert replica.get("payload") == b"bytes"
            # (its TTL as set, less the moments since: not dropped, not reset to a default)
            assert 3_600 - 60 <= int(replica.ttl("payload")) <= 3_600
            # AND a write sent to the replica itself is refused as ElastiCache's replicas refuse it
            with pytest.raises(redis.exceptions.ReadOnlyError):
                replica.set("elsewhere", b"x")


def test_with_its_replica_gone_wait_confirms_nothing_and_a_restart_brings_it_back() -> None:
    # GIVEN a group's server whose only replica has failed
    with RedisServer(replicas=1) as server:
        port = server.port
        server.replica_servers[0].stop()
        with redis.Redis(host=server.host, port=port) as primary:
            # WHEN a client writes and waits for one replica THEN none confirms
            primary.set("payload", b"bytes")
            assert primary.wait(1, WAIT_TIMEOUT_MS) == 0
        # WHEN the group's server is restarted on its port (as `redis_down` does in the demos)
        server.stop()
        server.start(port=port)
        # THEN it has its replica again, in sync before start() returned
        with redis.Redis(host=server.host, port=port) as primary:
            primary.set("payload", b"again")
            assert primary.wait(1, CONFIRM_TIMEOUT_MS) == 1
        assert len(server.replica_servers) == 1


def test_a_server_without_replicas_has_none_to_confirm() -> None:
    with RedisServer() as server, redis.Redis(host=server.host, port=server.port) as primary:
        primary.set("payload", b"bytes")
        assert server.replica_servers == []
        assert primary.wait(1, WAIT_TIMEOUT_MS) == 0


def test_a_negative_replica_count_is_refused() -> None:
    with pytest.raises(ValueError, match="replicas must be >= 0"):
        RedisServer(replicas=-1)


@pytest.mark.parametrize(
    ("inputs", "replicas"),
    [
        ({}, 0),
        ({"numCacheClusters": 1.0}, 0),
        ({"numCacheClusters": 3.0}, 2),
        ({"replicasPerNodeGroup": 1.0}, 1),
    ],
)
def test_a_group_declares_its_replicas_and_lists_a_member_cluster_per_node(
    moto_clients: Callable[[str, str], Any], inputs: dict[str, Any], replicas: int
) -> None:
    # GIVEN a group declared with N cache clusters (a primary and N - 1 replicas), or replicas per shard
    provisioner = MotoProvisioner(moto_clients)
    args = MockResourceArgs(
        GROUP, "cache", {"description": "c", "nodeType": "cache.t4g.micro", **inputs}, custom=True
    )
    # WHEN it is created
    group_id, outputs = provisioner.new_resource(args)
    # THEN its spec says how many replicas stand beside the primary
    assert provisioner.deployment.record(RedisClusterRecord).specs["cache"].replicas == replicas
    # AND its member clusters are named as ElastiCache names them, one per node
    assert outputs["memberClusters"] == [f"{group_id}-{n:03d}" for n in range(1, 2 + replicas)]
