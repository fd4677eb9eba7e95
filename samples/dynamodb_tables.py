"""The DynamoDB tables the handlers use, as create_table requests for an emulator (tests, benchmarks).

Keyed as the system contracts declare them and shaped as the components deploy them (on-demand, the same
indexes and streams): tests/unit/components/test_table_keys.py compares each with its deployed table, so
a handler test or benchmark never runs against a table shape the program does not deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.artifacts import contract as artifacts
from handlers.audit import contract as audit
from handlers.batch import contract as batch
from handlers.events import contract as events
from handlers.transform import contract as transform


def key_schema(key: str, sort_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": key, "KeyType": "HASH"}]
    if sort_key is not None:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def table_request(
    name: str,
    *,
    key: str,
    sort_key: str | None = None,
    attribute_types: dict[str, str] | None = None,
    indexes: Sequence[tuple[str, str, str | None, str]] = (),
    stream: bool = False,
) -> dict[str, Any]:
    """An on-demand table; `indexes` are (name, key, sort key or None, projection type) GSIs."""
    types = attribute_types or {}
    attributes = [key, *([sort_key] if sort_key else [])]
    for _, index_key, index_sort_key, _ in indexes:
        attributes.extend(name for name in (index_key, index_sort_key) if name and name not in attributes)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema(key, sort_key),
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": types.get(attribute, "S")}
            for attribute in attributes
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index_name,
                "KeySchema": key_schema(index_key, index_sort_key),
                "Projection": {"ProjectionType": projection},
            }
            for index_name, index_key, index_sort_key, projection in indexes
        ]
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return request


def rules_table(name: str) -> dict[str, Any]:
    return table_request(name, key=transform.RULES_TABLE_KEY)


def upload_status_table(name: str) -> dict[str, Any]:
    return table_request(name, key=transform.STATUS_TABLE_KEY)


def host_log_table(name: str) -> dict[str, Any]:
    """(host_id, build_id) and the GSI by build that counts a build's hosts."""
    return table_request(
        name,
        key=artifacts.HOST_LOG_KEY,
        sort_key=artifacts.HOST_LOG_SORT_KEY,
        indexes=[
            (artifacts.BUILD_ID_INDEX, artifacts.HOST_LOG_SORT_KEY, artifacts.HOST_LOG_KEY, "KEYS_ONLY")
        ],
    )


def batch_state_table(name: str) -> dict[str, Any]:
    """fileKey, and the (status, updatedAt) GSI reconciliation reads."""
    return table_request(
        name,
        key=batch.BATCH_STATE_KEY,
        indexes=[(batch.STATUS_INDEX, batch.STATUS_INDEX_KEY, batch.STATUS_INDEX_SORT_KEY, "ALL")],
    )


def errors_table(name: str) -> dict[str, Any]:
    return table_request(
        name,
        key=batch.ERRORS_KEY,
        sort_key=batch.ERRORS_SORT_KEY,
        attribute_types={batch.ERRORS_SORT_KEY: "N"},
    )


def financials_table(name: str) -> dict[str, Any]:
    return table_request(name, key=batch.FINANCIALS_KEY)


def metadata_table(name: str) -> dict[str, Any]:
    return table_request(name, key=audit.METADATA_TABLE_KEY)


def audit_idempotency_table(name: str) -> dict[str, Any]:
    return table_request(name, key=audit.IDEMPOTENCY_TABLE_KEY)


def events_table(name: str) -> dict[str, Any]:
    """Id, the GSI by idempotency key, and a stream of both images (the repair function compares them)."""
    return table_request(
        name,
        key=events.EVENTS_TABLE_KEY,
        indexes=[(events.IDEMPOTENCY_INDEX, events.IDEMPOTENCY_INDEX_KEY, None, "ALL")],
        stream=True,
    )


def events_idempotency_table(name: str) -> dict[str, Any]:
    return table_request(name, key=events.IDEMPOTENCY_TABLE_KEY)
