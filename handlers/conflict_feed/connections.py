"""The live conflict feed's $connect and $disconnect routes: keep the region's connections table.

Env: FeedConnectionsSettings (handlers/conflict_feed/contract.py). Event: API Gateway's WebSocket event
(requestContext.eventType CONNECT or DISCONNECT, connectionId, identity). API Gateway has authorized a
connect already (AWS_IAM: the subscriber signed the upgrade request and may execute-api:Connect); this
function records who connected and when, with a TTL past API Gateway's 2-hour connection limit, and
forgets the connection when it closes. $disconnect is best effort on AWS too: a connection it misses is
forgotten by the publisher (GoneException) or by the TTL.
"""

from __future__ import annotations

import functools
import os
import time
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.conflict_feed.contract import (
    CONNECTION_EXPIRY_ATTRIBUTE,
    CONNECTION_KEY,
    MAX_CONNECTION_SECONDS,
    FeedConnectionsSettings,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = Logger(service="events-feed-connections")
tracer = Tracer(service="events-feed-connections")
# Past API Gateway's own limit, so that an item outlives no connection by more than this.
EXPIRY_MARGIN_SECONDS = 300


class UnexpectedRouteError(Exception):
    """The function was reached by an event other than a connect or a disconnect."""


@functools.cache
def connections_table() -> Table:
    """Built on first use (not at import) so tests can import the module under moto."""
    settings = FeedConnectionsSettings.from_environment(os.environ)
    return boto3.resource("dynamodb").Table(settings.feed_connections_table)


def handle(event: APIGatewayWebSocketEvent, *, table: Table, now_s: float) -> dict[str, Any]:
    """Record a connect, forget a disconnect; 200 lets API Gateway complete the connect."""
    context = event.request_context
    connection_id = context.connection_id
    if context.event_type == "CONNECT":
        identity = context.identity
        table.put_item(
            Item={
                CONNECTION_KEY: connection_id,
                "ConnectedAt": context.connected_at,
                CONNECTION_EXPIRY_ATTRIBUTE: int(now_s) + MAX_CONNECTION_SECONDS + EXPIRY_MARGIN_SECONDS,
                # Who subscribed, as API Gateway vouched for it (the signer of the upgrade request).
                "Principal": str(identity.get("userArn") or ""),
                "SourceIp": identity.source_ip,
            }
        )
        logger.info("feed: subscriber connected", extra={"connectionId": connection_id})
    elif context.event_type == "DISCONNECT":
        table.delete_item(Key={CONNECTION_KEY: connection_id})
        logger.info(
            "feed: subscriber disconnected",
            extra={"connectionId": connection_id, "status": context.disconnect_status_code},
        )
    else:
        raise UnexpectedRouteError(
            f"the feed's connections function serves $connect and $disconnect only, not route "
            f"{context.route_key!r} (event type {context.event_type!r}); route messages elsewhere"
        )
    return {"statusCode": 200}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=APIGatewayWebSocketEvent)
def lambda_handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    return handle(event, table=connections_table(), now_s=time.time())
