"""The host deployment log's shape: what regional sync writes and how a build's deployments are counted.

Key (host_id, build_id): a redelivered event rewrites the same items, so counts never double. The GSI
on build_id makes "how many hosts run build X" one COUNT query (the seed's verification step).
"""

from __future__ import annotations

from typing import Any

BUILD_ID_INDEX = "build_id-index"


def table_definition(table_name: str) -> dict[str, Any]:
    """create_table arguments for the log, matching ArtifactDistribution's table (for emulators)."""
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": "host_id", "KeyType": "HASH"},
            {"AttributeName": "build_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "host_id", "AttributeType": "S"},
            {"AttributeName": "build_id", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BUILD_ID_INDEX,
                "KeySchema": [
                    {"AttributeName": "build_id", "KeyType": "HASH"},
                    {"AttributeName": "host_id", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def count_deployments(dynamodb_client: Any, table_name: str, build_id: str) -> int:
    """Hosts that have `build_id`: COUNT through the GSI, following every page."""
    total = 0
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": BUILD_ID_INDEX,
        "KeyConditionExpression": "build_id = :build",
        "ExpressionAttributeValues": {":build": {"S": build_id}},
        "Select": "COUNT",
    }
    while True:
        page = dynamodb_client.query(**request)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
