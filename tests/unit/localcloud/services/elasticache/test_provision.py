"""A replication group's AUTH token and transit encryption reach the server LocalCloud stands in for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from pulumi.runtime import MockResourceArgs

from localcloud.core.cloud import LocalCloud
from localcloud.core.context import UnsupportedResourceError
from localcloud.core.provisioner import MotoProvisioner
from localcloud.services.elasticache.provision import DEFAULT_PORT, RedisClusterRecord
from localcloud.services.elasticache.redis_server import free_port

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
TOKEN = "Group-AUTH-token-0123456789abcdef"
TIMEOUT_SECONDS = 2.0


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    """A LocalCloud that is never started: only its Redis servers run (stopped by stop())."""
    local = LocalCloud(redis_endpoint_settings=())
    yield local
    local.stop()


@pytest.fixture
def provisioner(cloud: LocalCloud, moto_clients: Callable[[str, str], Any]) -> MotoProvisioner:
    # The endpoint hook and the deployment LocalCloud hands its provisioner when it deploys a stack.
    return MotoProvisioner(
        moto_clients,
        redis_endpoint=cloud._start_redis,
        deployment=cloud.deployment,
    )


def create_group(provisioner: MotoProvisioner, name: str, **inputs: Any) -> dict[str, Any]:
    args = MockResourceArgs(
        GROUP, name, {"description": "test group", "nodeType": "cache.t4g.micro", **inputs}, custom=True
    )
    _, outputs = provisioner.new_resource(args)
    return outputs


def test_group_with_auth_token_and_transit_encryption_is_served_with_both(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN a group declared as the primary stack declares its audit store
    outputs = create_group(provisioner, "secure", authToken=TOKEN, transitEncryptionEnabled=True)
    host, port = outputs["primaryEndpointAddress"], outputs["port"]
    server = cloud.redis_servers["secure"]
    # WHEN a client presents the token over TLS, verifying the endpoint's certificate THEN it is served
    with redis.Redis(
        host=host, port=port, password=TOKEN, ssl=True, ssl_ca_certs=str(server.ca_file)
    ) as client:
        assert client.set("key", "value")
    # AND a TLS client without the token is refused with NOAUTH
    with (
        redis.Redis(host=host, port=port, ssl=True, ssl_ca_certs=str(server.ca_file)) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.get("key")
    # AND a plaintext client is refused
    with (
        redis.Redis(host=host, port=port, password=TOKEN, socket_timeout=TIMEOUT_SECONDS) as plaintext,
        pytest.raises(redis.ConnectionError),
    ):
        plaintext.get("key")
    # AND the outputs and the record say what AWS would
    assert outputs["transitEncryptionMode"] == "required"
    (cluster,) = cloud.deployment.record(RedisClusterRecord).clusters
    assert (cluster.spec.tls, cluster.spec.auth_token) == (True, TOKEN)
    assert TOKEN not in repr(cluster)


def test_group_without_auth_or_transit_encryption_is_a_plain_server(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN a group without AUTH or TLS WHEN a plaintext client without a token connects THEN it is served
    outputs = create_group(provisioner, "plain")
    with redis.Redis(host=outputs["primaryEndpointAddress"], port=outputs["port"]) as client:
        assert client.ping()
    assert "transitEncryptionMode" not in outputs


def test_groups_listen_on_the_port_they_declare_each_on_its_own_loopback_address(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN two TLS groups declaring the same port, as two groups on AWS do (each has its own host name)
    declared = free_port()
    first = create_group(provisioner, "first", port=float(declared), transitEncryptionEnabled=True)
    second = create_group(provisioner, "second", port=float(declared), transitEncryptionEnabled=True)
    # THEN each listens on that port, at an address of its own
    assert first["port"] == second["port"] == declared
    assert first["primaryEndpointAddress"] != second["primaryEndpointAddress"]
    # AND a client dialling the declared port at either address verifies that address's certificate
    for outputs in (first, second):
        ca_file = str(cloud.redis_servers["first"].ca_file)
        with redis.Redis(
            host=outputs["primaryEndpointAddress"], port=declared, ssl=True, ssl_ca_certs=ca_file
        ) as client:
            assert client.ping()


def test_group_declaring_no_port_listens_on_elasticaches_default(provisioner: MotoProvisioner) -> None:
    outputs = create_group(provisioner, "default-port")
    assert outputs["port"] == DEFAULT_PORT == 6379
    with redis.Redis(host=outputs["primaryEndpointAddress"], port=DEFAULT_PORT) as client:
        assert client.ping()


def test_auth_token_without_transit_encryption_is_refused_as_elasticache_refuses_it(
    provisioner: MotoProvisioner,
) -> None:
    with pytest.raises(ValueError, match="only on replication groups where TransitEncryptionEnabled is true"):
        create_group(provisioner, "token-in-clear", authToken=TOKEN)


@pytest.mark.parametrize(
    "token", ["too-short-token", "x" * 129, "has/a-slash-0123456789", "has@at-0123456789"]
)
def test_auth_token_outside_elasticaches_rules_is_refused(provisioner: MotoProvisioner, token: str) -> None:
    with pytest.raises(ValueError, match="16-128 characters"):
        create_group(provisioner, "bad-token", authToken=token, transitEncryptionEnabled=True)


PARAMETER_GROUP = "aws:elasticache/parameterGroup:ParameterGroup"


def test_a_groups_memory_is_its_node_types_less_the_reserved_share_and_it_evicts_as_the_default_group(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN a cache.t4g.micro group (0.5 GiB) in the default parameter group
    create_group(provisioner, "micro")
    # WHEN its server's settings are read THEN maxmemory is 75% of the node (25% reserved) and the eviction
    # policy is the default groups' volatile-lru
    with redis.Redis(**cloud.redis_servers["micro"].connection_options()) as client:
        settings = {**client.config_get("maxmemory"), **client.config_get("maxmemory-policy")}
    assert settings == {"maxmemory": str(int(0.5 * 1024**3 * 0.75)), "maxmemory-policy": "volatile-lru"}


def test_a_full_cache_in_a_noeviction_group_refuses_writes_with_oom_and_keeps_what_it_holds(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN a parameter group with noeviction and 99% reserved memory (a tiny cache), and a group in it
    _, group = provisioner.new_resource(
        MockResourceArgs(
            PARAMETER_GROUP,
            "no-eviction",
            {
                "family": "valkey8",
                "parameters": [
                    {"name": "maxmemory-policy", "value": "noeviction"},
                    {"name": "reserved-memory-percent", "value": "99"},
                ],
            },
            custom=True,
        )
    )
    create_group(provisioner, "strict", parameterGroupName=group["name"])
    with redis.Redis(**cloud.redis_servers["strict"].connection_options()) as client:
        # WHEN keys with a TTL are written until the cache is full
        written = 0
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
            while written < 10_000:
                client.set(f"payload-{written}", b"x" * 65_536, ex=3_600)
                written += 1
        # THEN the write that does not fit is refused with OOM and nothing written before was evicted
        assert written > 0
        assert client.dbsize() == written


def test_a_parameter_localcloud_does_not_apply_is_refused_by_name(provisioner: MotoProvisioner) -> None:
    with pytest.raises(UnsupportedResourceError, match="activedefrag"):
        provisioner.new_resource(
            MockResourceArgs(
                PARAMETER_GROUP,
                "tuned",
                {"family": "valkey8", "parameters": [{"name": "activedefrag", "value": "yes"}]},
                custom=True,
            )
        )


def test_a_group_of_two_cache_clusters_is_served_as_a_primary_and_one_running_replica(
    cloud: LocalCloud, provisioner: MotoProvisioner
) -> None:
    # GIVEN a group of two cache clusters (one primary, one replica), as the primary stack's audit store
    create_group(provisioner, "replicated", numCacheClusters=2.0)
    # THEN localcloud serves it with a real replica beside the primary (WAIT can count it)
    assert len(cloud.redis_servers["replicated"].replica_servers) == 1
