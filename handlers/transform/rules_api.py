"""GET /rules: the rule sets a person can upload with, each with its id and description.

Read from the rules table (one Scan, paginated, of the id and the rule set only): every item that holds a
valid rule set under its own id is listed, sorted by id; any other item is left out (an upload naming it
would be refused) and logged. A rules table holds tens of rule sets; MAX_RULES_LISTED bounds the reply.
"""

from __future__ import annotations

import functools
import json
import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.http_request import UNAUTHENTICATED_MESSAGE, caller_arn
from handlers.transform.contract import RULES_TABLE_KEY, RULES_VALUE_ATTRIBUTE, RulesListSettings
from handlers.transform.rules import InvalidRuleSet, parse_rule_set

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_RULES_LISTED = 1000

logger = Logger(service="transform-rules")
tracer = Tracer(service="transform-rules")
app = APIGatewayHttpResolver()


@functools.cache
def dependencies() -> tuple[DynamoDBClient, str]:
    """The client (built on first use, so tests can import the module under moto) and the table."""
    settings = RulesListSettings.from_environment(os.environ)
    return boto3.client("dynamodb"), settings.rules_table


def list_rules(dynamodb: DynamoDBClient, table: str) -> list[dict[str, str]]:
    """[{"ruleId", "description"}] of every valid rule set in `table`, by id, at most MAX_RULES_LISTED."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="#id, #rules",
        ExpressionAttributeNames={"#id": RULES_TABLE_KEY, "#rules": RULES_VALUE_ATTRIBUTE},
        PaginationConfig={"MaxItems": MAX_RULES_LISTED},
    )
    listed = []
    for item in (item for page in pages for item in page.get("Items", [])):
        rule_id = item.get(RULES_TABLE_KEY, {}).get("S", "")
        described = _described(rule_id, item.get(RULES_VALUE_ATTRIBUTE, {}).get("S"))
        if described is not None:
            listed.append(described)
    return sorted(listed, key=lambda rule: rule["ruleId"])


def _described(rule_id: str, rules_json: str | None) -> dict[str, str] | None:
    """The listing entry of one item, or None (logged) when it holds no valid rule set under its id."""
    try:
        rule_set = parse_rule_set(json.loads(rules_json or "null"))
    except (ValueError, InvalidRuleSet) as error:
        logger.warning(
            "rules item left out: not a valid rule set", extra={"ruleId": rule_id, "reason": str(error)}
        )
        return None
    if rule_set.rule_id != rule_id:
        logger.warning(
            "rules item left out: it holds another rule set",
            extra={"ruleId": rule_id, "holds": rule_set.rule_id},
        )
        return None
    return {"ruleId": rule_set.rule_id, "description": rule_set.description}


@app.get("/rules")
@tracer.capture_method
def get_rules() -> Response:
    if caller_arn(app.current_event.raw_event) is None:
        # Defence in depth: the route's authorizer lets no anonymous request through.
        return Response(
            status_code=401,
            content_type="application/json",
            body=json.dumps({"error": "unauthenticated", "message": UNAUTHENTICATED_MESSAGE}),
        )
    dynamodb, table = dependencies()
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps({"rules": list_rules(dynamodb, table)}, ensure_ascii=False),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
