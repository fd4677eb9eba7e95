"""The console's snapshot of the running cloud: one JSON-able dict, read without side effects.

Each part is read on its own: one that cannot be read (a moto model that changed shape) is reported in
`errors` by name while the others still show. The JSON escapes <, > and & so no text in it (message
bodies and log lines are anyone's) can close or open markup, wherever the JSON ends up.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from localcloud.console.backends import iso_time
from localcloud.console.executions import state_machines
from localcloud.console.logs import lambda_logs
from localcloud.console.messages import dead_letter_queues, sent_emails, sns_messages
from localcloud.console.stack import outputs, resources_by_system
from localcloud.core.deployment import DeployedResource

logger = logging.getLogger(__name__)

# How much of each part the page shows (the totals say how much there is): enough to follow a demo
# while a snapshot stays small enough to poll every 2 s.
EXECUTIONS_PER_MACHINE = 25
LOG_EVENTS_PER_FUNCTION = 20
MESSAGES_PER_TOPIC = 20
EMAILS = 50
MESSAGES_PER_DLQ = 50

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def snapshot(
    *, stack: str, exports: Mapping[str, Any], resources: Sequence[DeployedResource]
) -> dict[str, Any]:
    """What the console shows: the stack's outputs and resources, Step Functions executions, Lambda
    logs, SNS messages, sent emails and dead-letter queues."""
    parts: dict[str, Callable[[], Any]] = {
        "outputs": lambda: outputs(exports),
        "resources": lambda: resources_by_system(resources),
        "stateMachines": lambda: state_machines(EXECUTIONS_PER_MACHINE),
        "lambdaLogs": lambda: lambda_logs(LOG_EVENTS_PER_FUNCTION),
        "topics": lambda: sns_messages(MESSAGES_PER_TOPIC),
        "emails": lambda: sent_emails(EMAILS),
        "deadLetterQueues": lambda: dead_letter_queues(MESSAGES_PER_DLQ),
    }
    taken: dict[str, Any] = {
        "stack": stack,
        "takenAt": iso_time(datetime.datetime.now(tz=datetime.UTC)),
        "errors": {},
    }
    for name, read in parts.items():
        try:
            taken[name] = read()
        except Exception as failure:
            logger.exception("console: could not read %s", name)
            taken[name] = None
            taken["errors"][name] = f"{type(failure).__name__}: {failure}"
    return taken


def to_json(value: Any) -> bytes:
    """Compact JSON with <, > and & escaped (still the same JSON to any parser)."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES).encode("utf-8")
