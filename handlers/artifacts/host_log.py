"""How a build's deployments are counted in the host deployment log (keys: handlers/artifacts/contract.py).

Key (host_id, build_id): a redelivered event rewrites the same items, so counts never double. The GSI
on build_id makes "how many hosts run build X" one COUNT query (the seed's verification step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.artifacts.contract import BUILD_ID_INDEX, HOST_LOG_SORT_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef


def count_deployments(dynamodb_client: DynamoDBClient, table_name: str, build_id: str) -> int:
    """Hosts that have `build_id`: COUNT through the GSI, following every page."""
    total = 0
    request: QueryInputTypeDef = {
        "TableName": table_name,
        "IndexName": BUILD_ID_INDEX,
        "KeyConditionExpression": f"{HOST_LOG_SORT_KEY} = :build",
        "ExpressionAttributeValues": {":build": {"S": build_id}},
        "Select": "COUNT",
    }
    while True:
        page = dynamodb_client.query(**request)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
