"""The latest CloudWatch Logs events of each Lambda function, read from moto's logs backend.

A function logs to its log group (LoggingConfig's, else /aws/lambda/<name>: moto's function model keeps
the one in effect as `logs_group_name`), one stream per invocation under localcloud; the events of all
its streams are merged by time.
"""

from __future__ import annotations

import heapq
from typing import Any

from localcloud.console.backends import copied, existing, iso_time, listed


def _log_group(account: str, region: str, name: str) -> Any:
    from moto.logs.models import logs_backends  # noqa: PLC0415 - moto is slow to import

    # dict.get: moto would create the account's or region's backend on a plain lookup.
    regions = dict.get(logs_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    return None if backend is None else dict.get(backend.groups, name)


def _latest_events(group: Any, limit: int) -> tuple[int, list[Any]]:
    events = [event for stream in copied(group.streams.values()) for event in copied(stream.events)]
    # Events of one stream are in time order already; ingestion time breaks ties across streams.
    latest = heapq.nlargest(limit, events, key=lambda event: (event.timestamp, event.ingestion_time))
    return len(events), sorted(latest, key=lambda event: (event.timestamp, event.ingestion_time))


def lambda_logs(limit: int) -> list[dict[str, Any]]:
    """Each function (by region, then name) with its log group, how many events it holds, and the
    `limit` latest, oldest first."""
    from moto.awslambda.models import lambda_backends  # noqa: PLC0415 - moto is slow to import

    found = []
    for account, region, backend in existing(lambda_backends):
        for function in listed(backend.list_functions):
            group_name = function.logs_group_name
            group = _log_group(account, region, group_name)
            total, events = _latest_events(group, limit) if group is not None else (0, [])
            found.append(
                {
                    "function": function.function_name,
                    "region": region,
                    "logGroup": group_name,
                    "total": total,
                    "events": [
                        {"timestamp": iso_time(event.timestamp), "message": event.message.rstrip("\n")}
                        for event in events
                    ],
                }
            )
    return sorted(found, key=lambda function: (function["region"], function["function"]))
