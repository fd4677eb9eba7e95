"""A stand-in for localcloud's Lambda runtime behind the gateway: records each event it is invoked with
and answers a fixed proxy reply, so a test sees exactly what reached the function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Invocation:
    """What the runtime returns (localcloud.services.apigateway.http.InvocationResult)."""

    payload: Any
    error_type: str | None = None


@dataclass
class RecordingLambda:
    reply: dict[str, Any]  # the function's proxy response, e.g. {"statusCode": 202, "body": "accepted"}
    events: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, function_arn: str, region: str, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return Invocation(self.reply)
