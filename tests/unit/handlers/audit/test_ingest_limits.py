"""POST /audit's limits at their edges: one under, at, and one over each.

The body's size (6,000,000 bytes), the metadata's size (32 KiB as compact JSON) and nesting (16 levels),
the Idempotency-Key header (1-255 characters), the schema's 256-character sourceSystem and messageType,
and the replica wait's setting (1-1500 ms).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.audit.contract import IngestSettings
from handlers.environment import SettingError

from .conftest import MAX_BODY_BYTES, METADATA, AuditCloud, audit_post, audit_request, post

EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)
METADATA_LIMIT_BYTES = 32 * 1024


def assert_nothing_stored(cloud: AuditCloud) -> None:
    assert cloud.redis.keys("*") == []
    assert cloud.executions() == []


def metadata_of_size(size: int) -> dict[str, Any]:
    """The sample metadata plus a `notes` field, exactly `size` bytes as compact UTF-8 JSON (the measure
    the limit uses); the notes are two-byte characters but one, so bytes and characters differ."""
    bare = {**METADATA, "notes": ""}
    room = size - len(json.dumps(bare, separators=(",", ":"), ensure_ascii=False).encode())
    notes = "é" * (room // 2) + "e" * (room % 2)
    metadata = {**METADATA, "notes": notes}
    assert len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()) == size
    return metadata


def nested(levels: int) -> Any:
    value: Any = "deep"
    for _ in range(levels):
        value = [value]
    return value


def test_a_body_one_byte_under_the_limit_is_accepted(audit_cloud: AuditCloud) -> None:
    # (At the limit and one byte over are test_ingest_api.py's.)
    # GIVEN a body of 5,999,999 bytes
    skeleton = json.dumps(audit_request(""))
    body = json.dumps(audit_request("z" * (MAX_BODY_BYTES - 1 - len(skeleton))))
    assert len(body.encode()) == MAX_BODY_BYTES - 1
    # WHEN it is posted THEN it is accepted
    status, _, _ = post(audit_post(body))
    assert status == 202


@EDGES
def test_metadata_is_accepted_up_to_and_including_32_kib_as_json(
    audit_cloud: AuditCloud, offset: int, accepted: bool
) -> None:
    # GIVEN metadata of 32,767, 32,768 or 32,769 bytes as compact JSON
    size = METADATA_LIMIT_BYTES + offset
    request = {"payload": "eA==", "metadata": metadata_of_size(size)}
    # WHEN it is posted
    status, reply, _ = post(audit_post(json.dumps(request)))
    # THEN up to 32 KiB it is accepted; one byte more is 400 naming its size and the limit
    if accepted:
        assert status == 202, reply
    else:
        assert (status, reply["error"]) == (400, "metadata_too_large")
        assert reply["message"].startswith("metadata is 32769 bytes as JSON; keep it under 32768 bytes")
        assert_nothing_stored(audit_cloud)


@EDGES
def test_metadata_is_accepted_nested_up_to_and_including_16_levels(
    audit_cloud: AuditCloud, offset: int, accepted: bool
) -> None:
    # GIVEN metadata nesting 15, 16 or 17 levels (the metadata object is one, its notes the rest)
    levels = 16 + offset
    # WHEN it is posted
    status, reply, _ = post(audit_post(json.dumps(audit_request(notes=nested(levels - 1)))))
    # THEN up to 16 levels it is accepted; 17 is 400 naming the depth and the limit
    if accepted:
        assert status == 202, reply
    else:
        assert (status, reply["error"]) == (400, "metadata_too_deep")
        assert reply["message"].startswith(
            "metadata nests 17 levels of objects and arrays; keep it within 16"
        )
        assert_nothing_stored(audit_cloud)


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(0, False), (1, True), (254, True), (255, True), (256, False)],
    ids=["empty", "one", "under", "at", "over"],
)
def test_an_idempotency_key_may_have_1_to_255_characters(
    audit_cloud: AuditCloud, length: int, accepted: bool
) -> None:
    # GIVEN an Idempotency-Key of each length at either end of 1-255
    headers = {"idempotency-key": "k" * length}
    # WHEN a record is posted with it
    status, reply, _ = post(audit_post(audit_request(), headers=headers))
    # THEN within 1-255 it is accepted; outside, 400 saying what a key must be, and nothing is stored
    if accepted:
        assert status == 202, reply
    else:
        assert (status, reply["error"]) == (400, "invalid_idempotency_key")
        assert "must be 1-255 printable ASCII characters" in reply["message"]
        assert_nothing_stored(audit_cloud)


@EDGES
@pytest.mark.parametrize("field", ["sourceSystem", "messageType"])
def test_source_system_and_message_type_may_have_up_to_256_characters(
    audit_cloud: AuditCloud, field: str, offset: int, accepted: bool
) -> None:
    # GIVEN the field 255, 256 or 257 characters long
    value = "s" * (256 + offset)
    # WHEN a record is posted with it
    status, reply, _ = post(audit_post(audit_request(**{field: value})))
    # THEN up to 256 it is accepted; 257 is 400 naming the field
    if accepted:
        assert status == 202, reply
    else:
        assert (status, reply["error"]) == (400, "invalid_request")
        assert f"body.metadata.{field}" in reply["message"]
        assert_nothing_stored(audit_cloud)


@pytest.mark.parametrize(
    ("timeout_ms", "accepted"),
    [(0, False), (1, True), (1499, True), (1500, True), (1501, False)],
    ids=["zero", "one", "under", "at", "over"],
)
def test_the_replica_wait_may_be_set_from_1_to_1500_ms(timeout_ms: int, accepted: bool) -> None:
    # GIVEN the ingest function's environment with a replica wait at either end of 1-1500 ms
    env = {
        "REDIS_HOST": "h",
        "ARCHIVE_BUCKET": "b",
        "DLQ_URL": "q",
        "METADATA_TABLE": "t",
        "STATE_MACHINE_ARN": "arn",
        "IDEMPOTENCY_TABLE": "i",
        "REDIS_REPLICA_ACK_TIMEOUT_MS": str(timeout_ms),
    }
    # WHEN the settings are read THEN within 1-1500 ms they hold it; outside, the setting is refused by name
    if accepted:
        assert IngestSettings.from_environment(env).redis_replica_ack_timeout_ms == timeout_ms
    else:
        with pytest.raises(
            SettingError, match=f"REDIS_REPLICA_ACK_TIMEOUT_MS is {timeout_ms}; it must be 1-1500 ms"
        ):
            IngestSettings.from_environment(env)
