"""Issue 16: a 202 means the payload is kept; whatever stops that is a 503 with the request salvaged.

Each fault is real: a Valkey server filled to its maxmemory under noeviction (OOM), a write reaching a real
replica (READONLY, as after a failover), and a primary whose replica is gone or too few (WAIT confirms
fewer replicas than required). Servers come from localcloud's RedisServer, replicas included.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from handlers.audit import redis_store
from handlers.audit.contract import MAX_REPLICA_ACK_TIMEOUT_MS, IngestSettings
from handlers.environment import SettingError
from localcloud.services.elasticache.redis_server import RedisServer

from .conftest import ARCHIVE_BUCKET, AuditCloud, audit_post, audit_request, post

# Small enough to fill in a few dozen writes; above what an empty Valkey itself uses (about 1 MB).
SMALL_MAXMEMORY = "4mb"
FILLER_BYTES = 64 * 1024
# Valkey frees idle clients' buffers in the background, which can bring a just-full server back under its
# maxmemory by a few KB: once full, the limit is lowered this far under what it holds, so the write under
# test meets a server over its limit whatever it frees meanwhile.
FULL_MARGIN_BYTES = 512 * 1024
# Failing WAITs end at their timeout: keep it short where no replica will ever answer.
SHORT_ACK_TIMEOUT_MS = 100


@pytest.fixture
def replicated() -> Iterator[RedisServer]:
    """A primary with one real replica (REPLICAOF), in sync."""
    with RedisServer(replicas=1) as server:
        yield server


def client_of(server: RedisServer) -> redis.Redis:
    return redis.Redis(host=server.host, port=server.port)


def fill_until_refused(client: redis.Redis) -> int:
    """Write payload-sized keys (with a TTL, as payloads have) until the server refuses one with OOM, then
    keep it full (see FULL_MARGIN_BYTES); the number of keys it holds."""
    written = 0
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for _ in range(1_000):
            client.set(f"earlier-payload-{written}", b"x" * FILLER_BYTES, ex=3_600)
            written += 1
    used_bytes = int(client.info("memory")["used_memory"])  # type: ignore[index]
    client.config_set("maxmemory", used_bytes - FULL_MARGIN_BYTES)
    return written


def assert_refused_and_salvaged(
    cloud: AuditCloud,
    event: dict[str, Any],
    response: tuple[int, dict[str, Any], dict[str, str]],
    *,
    error: str,
    says: str,
) -> None:
    """503 + Retry-After naming the problem (no internal endpoint), the raw request in failures/ and on
    the DLQ, and no workflow started: nothing acknowledged, nothing lost."""
    status, reply, headers = response
    assert (status, reply["error"]) == (503, "unavailable")
    assert reply["message"] == f"{says}: the request was not accepted and nothing was started; retry later"
    assert headers.get("Retry-After") == "5"
    assert "127.0.0" not in reply["message"] and "audit:payload:" not in reply["message"]
    assert cloud.executions() == []
    [notice] = cloud.dlq_messages()
    assert notice["messageId"] == reply["reference"] and notice["error"]["Error"] == error
    assert (notice["failureBucket"], notice["failureObjectStored"]) == (ARCHIVE_BUCKET, True)
    salvaged = cloud.object_json(notice["failureKey"])
    assert base64.b64decode(salvaged["body"]) == event["body"].encode("utf-8")


def test_a_full_store_under_noeviction_refuses_with_503_and_salvages_evicting_nothing(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a store that evicts nothing (noeviction), filled with earlier payloads until it refused one
    with RedisServer(settings={"maxmemory": SMALL_MAXMEMORY, "maxmemory-policy": "noeviction"}) as server:
        client = client_of(server)
        held = fill_until_refused(client)
        audit_cloud.use_redis(server)
        # WHEN a record is posted
        event = audit_post(audit_request("arrives when the store is full"))
        response = post(event)
        # THEN it is refused with 503 saying the store is full, and the request is salvaged
        assert_refused_and_salvaged(
            audit_cloud, event, response, error="RedisFullError", says="audit store (Redis) is full"
        )
        # AND the record's own cause names the OOM for whoever reads the salvaged record
        [key] = audit_cloud.keys("failures/")
        assert (
            "command not allowed when used memory > 'maxmemory'"
            in audit_cloud.object_json(key)["error"]["Cause"]
        )
        # AND every payload held before is still there: a full store refuses, it never drops what it holds
        assert client.dbsize() == held
        assert client.keys("audit:payload:*") == []


def test_a_write_reaching_a_read_only_replica_is_refused_with_503_and_salvaged(
    audit_cloud: AuditCloud, replicated: RedisServer
) -> None:
    # GIVEN the ingest API's endpoint reaches a replica, as pooled connections do after a failover
    [replica] = replicated.replica_servers
    audit_cloud.use_redis(replica)
    # WHEN a record is posted
    event = audit_post(audit_request("arrives during a failover"))
    response = post(event)
    # THEN it is refused with 503 naming the failover, and the request is salvaged
    assert_refused_and_salvaged(
        audit_cloud,
        event,
        response,
        error="RedisReadOnlyError",
        says="audit store (Redis) is failing over to a new primary",
    )
    [key] = audit_cloud.keys("failures/")
    assert "You can't write against a read only replica" in audit_cloud.object_json(key)["error"]["Cause"]
    # AND neither server holds anything
    assert client_of(replicated).dbsize() == client_of(replica).dbsize() == 0


def test_once_the_replica_is_promoted_the_same_container_accepts_the_retry(
    audit_cloud: AuditCloud, replicated: RedisServer
) -> None:
    # GIVEN a request refused because its endpoint reached a replica
    [replica] = replicated.replica_servers
    audit_cloud.use_redis(replica)
    event = audit_post(audit_request("retried after the failover"), headers={"idempotency-key": "fo-1"})
    assert post(event)[0] == 503
    # WHEN the replica is promoted (what a failover does) and the client retries
    client_of(replica).replicaof("NO", "ONE")
    status, reply, _ = post(event)
    # THEN the retry is accepted by the new primary, and the Idempotency-Key was not spent on the 503
    assert status == 202
    assert client_of(replica).get(f"audit:payload:{reply['messageId']}") == b"retried after the failover"


def test_with_replica_acks_a_202_means_a_replica_holds_the_payload(
    audit_cloud: AuditCloud, replicated: RedisServer
) -> None:
    # GIVEN a primary with a connected replica, and the ingest API waiting for one replica per write
    audit_cloud.use_redis(replicated, replica_acks=1)
    # WHEN a record is posted
    status, reply, _ = post(audit_post(audit_request("kept twice")))
    # THEN it is accepted
    assert status == 202
    # AND the replica already holds the payload (WAIT confirmed it before the reply)
    [replica] = replicated.replica_servers
    assert client_of(replica).get(f"audit:payload:{reply['messageId']}") == b"kept twice"
    assert len(audit_cloud.executions()) == 1
    # AND the write was followed by exactly one WAIT
    stats: dict[str, Any] = client_of(replicated).info("commandstats")  # type: ignore[assignment]
    assert stats["cmdstat_wait"]["calls"] == 1


def test_when_the_replica_is_gone_the_write_is_refused_with_503_salvaged_and_not_left_in_redis(
    audit_cloud: AuditCloud, replicated: RedisServer
) -> None:
    # GIVEN the ingest API waits for one replica, and the group's only replica has failed
    audit_cloud.use_redis(replicated, replica_acks=1, replica_ack_timeout_ms=SHORT_ACK_TIMEOUT_MS)
    replicated.replica_servers[0].stop()
    # WHEN a record is posted
    event = audit_post(audit_request("would live on one node only"))
    response = post(event)
    # THEN it is refused with 503 naming the missing copy, and the request is salvaged
    assert_refused_and_salvaged(
        audit_cloud,
        event,
        response,
        error="PayloadNotReplicatedError",
        says="audit store (Redis) could not copy the payload to a replica",
    )
    [key] = audit_cloud.keys("failures/")
    assert "reached 0 of the 1 replica(s) required" in audit_cloud.object_json(key)["error"]["Cause"]
    # AND the unconfirmed copy is not left on the primary holding memory
    assert client_of(replicated).keys("audit:payload:*") == []


def test_asking_for_more_replicas_than_the_group_has_refuses_every_write(
    audit_cloud: AuditCloud, replicated: RedisServer
) -> None:
    # GIVEN the ingest API waits for two replicas where one exists
    audit_cloud.use_redis(replicated, replica_acks=2, replica_ack_timeout_ms=SHORT_ACK_TIMEOUT_MS)
    # WHEN a record is posted
    event = audit_post(audit_request("one copy short"))
    response = post(event)
    # THEN it is refused and salvaged, never acknowledged on one replica's word
    assert_refused_and_salvaged(
        audit_cloud,
        event,
        response,
        error="PayloadNotReplicatedError",
        says="audit store (Redis) could not copy the payload to a replica",
    )


def test_without_replica_acks_no_wait_is_sent(audit_cloud: AuditCloud) -> None:
    # GIVEN the default settings (a store without replicas: the local stack's endpoint)
    # WHEN a record is posted
    status, _, _ = post(audit_post(audit_request()))
    # THEN it is accepted after a plain SET
    assert status == 202
    stats: dict[str, Any] = audit_cloud.redis.info("commandstats")  # type: ignore[assignment]
    assert "cmdstat_wait" not in stats and stats["cmdstat_set"]["calls"] == 1


def test_the_store_raises_what_it_met_without_quoting_the_payload(replicated: RedisServer) -> None:
    # GIVEN a store writing to a replica (READONLY) with a payload easy to spot
    [replica] = replicated.replica_servers
    settings = IngestSettings(
        redis_host=replica.host,
        redis_port=replica.port,
        archive_bucket="b",
        dlq_url="q",
        metadata_table="t",
        state_machine_arn="arn",
        idempotency_table="i",
    )
    store = redis_store.open_store(settings)
    # WHEN a payload is put THEN the error names the replica, and none of the payload's bytes
    with pytest.raises(redis_store.RedisReadOnlyError) as raised:
        store.put("audit:payload:m-1", b"SECRET-BYTES")
    assert f"at redis://{replica.host}:{replica.port} answered as a read-only replica" in str(raised.value)
    assert "SECRET" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("REDIS_REPLICA_ACKS", "-1", "REDIS_REPLICA_ACKS is -1"),
        ("REDIS_REPLICA_ACK_TIMEOUT_MS", "0", "must be 1-1500 ms"),
        ("REDIS_REPLICA_ACK_TIMEOUT_MS", "2000", "must be 1-1500 ms"),
    ],
)
def test_replica_ack_settings_outside_their_range_are_refused(variable: str, value: str, words: str) -> None:
    env = {
        "REDIS_HOST": "h",
        "ARCHIVE_BUCKET": "b",
        "DLQ_URL": "q",
        "METADATA_TABLE": "t",
        "STATE_MACHINE_ARN": "arn",
        "IDEMPOTENCY_TABLE": "i",
        variable: value,
    }
    with pytest.raises(SettingError, match=words):
        IngestSettings.from_environment(env)


def test_the_replica_wait_ends_before_the_clients_socket_timeout() -> None:
    # A WAIT longer than the socket timeout would end as a client timeout, not as a count of replicas.
    assert MAX_REPLICA_ACK_TIMEOUT_MS < redis_store.SOCKET_TIMEOUT_SECONDS * 1000
    assert IngestSettings.redis_replica_ack_timeout_ms <= MAX_REPLICA_ACK_TIMEOUT_MS
