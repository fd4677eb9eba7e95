"""GET /financials/{uuid}: the financial data of one order (API Gateway HTTP API, payload v2.0)."""

from __future__ import annotations

import functools
import json
import os
import re
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.batch import financials
from handlers.batch.contract import FinancialsApiSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

UUID_PATTERN = re.compile(r"[0-9A-Za-z-]{1,9}")
UUID_RULE = "a uuid is 1 to 9 characters, each a digit, a letter (A-Z, a-z) or '-'"

logger = Logger(service="batch-financials-api")
tracer = Tracer(service="batch-financials-api")
app = APIGatewayHttpResolver()


@functools.cache
def financials_table() -> Table:
    """Built on first use (not at import) so tests can import the module under moto."""
    settings = FinancialsApiSettings.from_environment(os.environ)
    return boto3.resource("dynamodb").Table(settings.financials_table)


def describe_financials(uuid: str, *, table: Table) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for GET /financials/{uuid}."""
    if not UUID_PATTERN.fullmatch(uuid):
        return 400, {"message": f"{uuid[:100]!r} is not a uuid: {UUID_RULE}"}
    item = financials.get_one(table, uuid)
    if item is None:
        return 404, {"message": f"no financial data for uuid {uuid}"}
    return 200, {"uuid": uuid, **item}


# Neither trace records the response: it is an order's financial data (revenue, cost, profit), which X-Ray
# would keep and show to anyone who may read traces.
@app.get("/financials/<uuid>")
@tracer.capture_method(capture_response=False)
def get_financials(uuid: str) -> Response:
    status_code, body = describe_financials(uuid, table=financials_table())
    return Response(status_code=status_code, content_type="application/json", body=json.dumps(body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
