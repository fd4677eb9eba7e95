"""Workflow task: combine the Parallel branches into the message's final state and release its payload.

Event: {"message": <internal message>, "results": [<archive output>, <metadata output>]}. Only when the
payload is archived and the metadata recorded is the Redis copy deleted; anything less raises, so the
workflow's failure path salvages the message while Redis still holds it. The workflow publishes the
returned final state to SNS.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.audit import redis_store
from handlers.audit.message import InvalidMessageError, validate_message
from handlers.audit.redis_store import PayloadStore

logger = Logger(service="audit-aggregate")
tracer = Tracer(service="audit-aggregate")
metrics = Metrics(namespace="regionflow", service="audit-aggregate")


class IncompletePersistenceError(Exception):
    """A branch did not report its copy persisted: the message is not safely stored."""


@functools.cache
def payload_store() -> PayloadStore:
    return redis_store.from_environment()


def _branch(results: Sequence[Any], flag: str) -> Mapping[str, Any]:
    """The branch output carrying flag; found by content, so the branch order cannot mix them up."""
    for result in results:
        if isinstance(result, Mapping) and flag in result:
            return result
    raise IncompletePersistenceError(
        f"no Parallel branch result reports {flag!r} (got {list(results)!r}); expected the archive and "
        "metadata task outputs"
    )


@tracer.capture_method
def aggregate(event: Mapping[str, Any], *, store: PayloadStore) -> dict[str, Any]:
    """The final state {messageId, persistedInS3, metadataPersisted, storage, checksum, metadata}."""
    if not isinstance(event, Mapping) or not isinstance(event.get("results"), list):
        raise InvalidMessageError(
            'the aggregate step expects {"message": <internal message>, "results": [<archive output>, '
            "<metadata output>]}"
        )
    message = validate_message(event.get("message"), what="event.message")
    archived = _branch(event["results"], "persistedInS3")
    recorded = _branch(event["results"], "metadataPersisted")
    flags = {
        "persistedInS3": archived["persistedInS3"] is True,
        "metadataPersisted": recorded["metadataPersisted"] is True,
    }
    if not all(flags.values()):
        raise IncompletePersistenceError(
            f"message {message['messageId']} is not fully persisted ({flags}); its payload stays in "
            f"Redis at {message['storage']['redisKey']!r} for the failure path"
        )
    storage = copy.deepcopy(message["storage"])
    storage["s3"] = {"bucket": archived["bucket"], "key": archived["key"]}
    if archived.get("versionId"):
        storage["s3"]["versionId"] = archived["versionId"]
    storage["flags"] = flags
    # Deleting an already-deleted key is fine: a retried aggregate step releases nothing twice.
    store.delete(message["storage"]["redisKey"])
    return {
        "messageId": message["messageId"],
        **flags,
        "storage": storage,
        "checksum": message["checksum"],
        "metadata": message["metadata"],
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    final_state = aggregate(event, store=payload_store())
    logger.info("audit message stored", extra={"messageId": final_state["messageId"]})
    metrics.add_metric(name="AuditCompleted", unit=MetricUnit.Count, value=1)
    return final_state
