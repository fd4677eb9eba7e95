"""Aggregate task: the final state, and the Redis copy released only once both copies are safe."""

from __future__ import annotations

import copy
import re

import pytest

from handlers.audit import aggregate
from handlers.audit.aggregate import IncompletePersistenceError
from handlers.audit.message import InvalidMessageError

from ..conftest import FakeLambdaContext, load_event
from .conftest import ARCHIVE_BUCKET, METADATA_TABLE, AuditCloud

# A task that raises publishes no metric; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def test_both_copies_persisted_gives_the_final_state_and_releases_the_payload(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN the Parallel output for a message whose payload is still in Redis
    event = load_event("audit_aggregate_input.json")
    message = event["message"]
    redis_key = message["storage"]["redisKey"]
    audit_cloud.redis.set(redis_key, b"payload")
    # WHEN the aggregate task runs
    final = aggregate.lambda_handler(event, FakeLambdaContext())
    # THEN the final state carries both flags, the archive's location and version, and the metadata
    assert final == {
        "messageId": message["messageId"],
        "persistedInS3": True,
        "metadataPersisted": True,
        "storage": {
            "redisKey": redis_key,
            "s3": {
                "bucket": ARCHIVE_BUCKET,
                "key": message["storage"]["s3"]["key"],
                "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
            },
            "dynamodb": {"table": METADATA_TABLE, "key": {"messageId": message["messageId"]}},
            "flags": {"persistedInS3": True, "metadataPersisted": True},
        },
        "checksum": message["checksum"],
        "metadata": message["metadata"],
    }
    # AND the payload is gone from Redis
    assert audit_cloud.redis.exists(redis_key) == 0


def test_a_retry_after_the_payload_was_released_gives_the_same_final_state(audit_cloud: AuditCloud) -> None:
    event = load_event("audit_aggregate_input.json")
    first = aggregate.lambda_handler(copy.deepcopy(event), FakeLambdaContext())
    assert aggregate.lambda_handler(event, FakeLambdaContext()) == first


def test_the_branch_results_are_matched_by_content_not_order(audit_cloud: AuditCloud) -> None:
    event = load_event("audit_aggregate_input.json")
    event["results"].reverse()
    final = aggregate.lambda_handler(event, FakeLambdaContext())
    assert final["persistedInS3"] and final["metadataPersisted"]


@pytest.mark.parametrize(("branch", "flag"), [(0, "persistedInS3"), (1, "metadataPersisted")])
def test_a_copy_not_persisted_raises_and_keeps_the_payload_in_redis(
    audit_cloud: AuditCloud, branch: int, flag: str
) -> None:
    # GIVEN one branch reporting its copy not persisted
    event = load_event("audit_aggregate_input.json")
    event["results"][branch][flag] = False
    redis_key = event["message"]["storage"]["redisKey"]
    audit_cloud.redis.set(redis_key, b"payload")
    # WHEN the aggregate task runs
    # THEN it raises naming the message and the flags, and the payload stays for the failure path
    with pytest.raises(IncompletePersistenceError, match=rf"{event['message']['messageId']} is not fully"):
        aggregate.lambda_handler(event, FakeLambdaContext())
    assert audit_cloud.redis.get(redis_key) == b"payload"


def test_a_missing_branch_result_raises(audit_cloud: AuditCloud) -> None:
    event = load_event("audit_aggregate_input.json")
    event["results"] = event["results"][:1]
    with pytest.raises(
        IncompletePersistenceError, match="no Parallel branch result reports 'metadataPersisted'"
    ):
        aggregate.lambda_handler(event, FakeLambdaContext())


def test_an_event_without_message_and_results_is_refused(audit_cloud: AuditCloud) -> None:
    with pytest.raises(InvalidMessageError, match=re.escape('expects {"message"')):
        aggregate.lambda_handler(load_event("audit_internal_message.json"), FakeLambdaContext())
