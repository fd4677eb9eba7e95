"""Metadata task: one row per message, conditional so a retry is fine and an impostor is refused."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from handlers.audit import metadata
from handlers.audit.metadata import MessageIdConflictError, TableMismatchError, record_metadata

from ..conftest import FakeLambdaContext, load_event
from .conftest import METADATA_TABLE, AuditCloud


def sample_message() -> dict[str, Any]:
    return load_event("audit_internal_message.json")


def test_the_row_records_metadata_checksum_security_context_and_storage(audit_cloud: AuditCloud) -> None:
    # GIVEN the sample message
    message = sample_message()
    # WHEN the metadata task runs
    result = metadata.lambda_handler(message, FakeLambdaContext())
    # THEN it reports the row it wrote
    assert result == {
        "metadataPersisted": True,
        "table": METADATA_TABLE,
        "key": {"messageId": message["messageId"]},
    }
    # AND the row holds who, what, when, the checksum and where the payload lives
    [row] = audit_cloud.metadata_rows()
    assert row == {
        "messageId": message["messageId"],
        "receivedAt": "2024-06-01T10:00:00.123Z",
        "sourceSystem": "billing",
        "messageType": "invoice.created",
        "producerTimestamp": "2024-06-01T09:59:58.250Z",
        "metadata": message["metadata"],
        "checksum": message["checksum"],
        "sizeBytes": Decimal(message["sizeBytes"]),
        "securityContext": message["securityContext"],
        "storage": {"redisKey": message["storage"]["redisKey"], "s3": message["storage"]["s3"]},
    }


def test_a_retry_of_the_same_message_succeeds_and_leaves_one_row(audit_cloud: AuditCloud) -> None:
    message = sample_message()
    table = metadata.metadata_table()
    record_metadata(message, table=table)
    assert record_metadata(message, table=table)["metadataPersisted"] is True
    assert len(audit_cloud.metadata_rows()) == 1


def test_a_different_message_under_an_existing_id_is_refused_and_the_row_kept(
    audit_cloud: AuditCloud,
) -> None:
    # GIVEN a recorded message
    message = sample_message()
    table = metadata.metadata_table()
    record_metadata(message, table=table)
    # WHEN another payload arrives under the same message id
    impostor = copy.deepcopy(message)
    impostor["checksum"] = "0" * 64
    impostor["metadata"]["messageType"] = "invoice.deleted"
    # THEN it is refused naming the message and table, and the first row is unchanged
    with pytest.raises(MessageIdConflictError, match=rf"{METADATA_TABLE} already holds a row for message"):
        record_metadata(impostor, table=table)
    [row] = audit_cloud.metadata_rows()
    assert row["checksum"] == message["checksum"] and row["messageType"] == "invoice.created"


def test_extra_metadata_with_decimals_and_nesting_is_stored_exactly(audit_cloud: AuditCloud) -> None:
    # GIVEN metadata extras a producer may send: fractions, nesting, booleans, nulls
    message = sample_message()
    message["metadata"].update(
        {"amount": 1234.56, "lines": [{"qty": 2, "price": 9.5}], "test": False, "n": None}
    )
    # WHEN recorded
    record_metadata(message, table=metadata.metadata_table())
    # THEN DynamoDB holds the numbers exactly as sent
    [row] = audit_cloud.metadata_rows()
    assert row["metadata"]["amount"] == Decimal("1234.56")
    assert row["metadata"]["lines"] == [{"qty": Decimal(2), "price": Decimal("9.5")}]
    assert row["metadata"]["test"] is False and row["metadata"]["n"] is None


def test_a_message_naming_another_table_is_refused(audit_cloud: AuditCloud) -> None:
    message = sample_message()
    message["storage"]["dynamodb"]["table"] = "someone-elses-table"
    with pytest.raises(TableMismatchError, match="names metadata table 'someone-elses-table'"):
        record_metadata(message, table=metadata.metadata_table())
    assert audit_cloud.metadata_rows() == []
