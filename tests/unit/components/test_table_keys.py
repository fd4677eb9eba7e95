"""The tables handler tests and benchmarks create are the tables the program deploys: same keys, key types,
indexes and streams, all named by the system contracts (samples/dynamodb_tables.py builds them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localcloud.core.recording import BuiltStack
from samples import dynamodb_tables

# Deployed table (logical name) -> the create_table request tests and benchmarks make for it.
SAMPLE_OF_TABLE: dict[str, Callable[[str], dict[str, Any]]] = {
    "transform-rules": dynamodb_tables.rules_table,
    "transform-status": dynamodb_tables.upload_status_table,
    "artifacts-host-deployment-logs": dynamodb_tables.host_log_table,
    "batch-batch-state": dynamodb_tables.batch_state_table,
    "batch-errors": dynamodb_tables.errors_table,
    "batch-financials": dynamodb_tables.financials_table,
    "audit-metadata-table": dynamodb_tables.metadata_table,
    "audit-idempotency": dynamodb_tables.audit_idempotency_table,
    "events-table": dynamodb_tables.events_table,
    "events-idempotency": dynamodb_tables.events_idempotency_table,
}

# The repair function reads the event table's stream (both images).
STREAMS_READ_BY_HANDLERS = {"events-table"}


def deployed_shape(inputs: dict[str, Any]) -> dict[str, Any]:
    """Keys, attribute types, indexes and stream of a recorded aws:dynamodb/table:Table."""
    return {
        "keys": (inputs["hashKey"], inputs.get("rangeKey")),
        "attributes": {attribute["name"]: attribute["type"] for attribute in inputs["attributes"]},
        "indexes": {
            index["name"]: (index["hashKey"], index.get("rangeKey"), index["projectionType"])
            for index in inputs.get("globalSecondaryIndexes") or []
        },
        "stream": bool(inputs.get("streamEnabled")),
    }


def sample_shape(request: dict[str, Any]) -> dict[str, Any]:
    """The same, of a create_table request."""
    keys = {key["KeyType"]: key["AttributeName"] for key in request["KeySchema"]}
    return {
        "keys": (keys["HASH"], keys.get("RANGE")),
        "attributes": {a["AttributeName"]: a["AttributeType"] for a in request["AttributeDefinitions"]},
        "indexes": {
            index["IndexName"]: (
                *(
                    {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}.get(kind)
                    for kind in ("HASH", "RANGE")
                ),
                index["Projection"]["ProjectionType"],
            )
            for index in request.get("GlobalSecondaryIndexes", [])
        },
        "stream": bool(request.get("StreamSpecification", {}).get("StreamEnabled")),
    }


@pytest.mark.parametrize("table", sorted(SAMPLE_OF_TABLE))
def test_the_sample_table_is_keyed_as_the_deployed_one(stack: BuiltStack, table: str) -> None:
    [deployed_table] = stack.resources_of("aws:dynamodb/table:Table", table)
    deployed = deployed_shape(deployed_table.inputs)
    sample = sample_shape(SAMPLE_OF_TABLE[table]("sample"))
    if table not in STREAMS_READ_BY_HANDLERS:
        # Global tables replicate through a stream of their own, which no handler reads.
        del deployed["stream"], sample["stream"]
    assert sample == deployed
