"""Lambda event source mappings: the one model both pollers (SQS queues, DynamoDB streams) run from.

A mapping comes from the Lambda API's shape (`from_api`: what CreateEventSourceMapping answers and
ListEventSourceMappings lists) or, for SQS, from the provisioner's record (`SqsMappingRecord`): SQS
mappings are deliberately not created in moto, whose own trigger would invoke the function inside
send_message (see the lambda_ provisioning module), so nothing in the emulator could be read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True, kw_only=True)
class EventSourceMapping:
    """What a poller needs of one mapping; unset settings are None and take the source's default."""

    uuid: str
    source_arn: str
    function_arn: str
    region: str
    enabled: bool = True
    batch_size: int | None = None
    maximum_batching_window_seconds: float = 0.0
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None  # SQS: ScalingConfig.MaximumConcurrency
    starting_position: str | None = None  # streams: TRIM_HORIZON or LATEST
    filter_patterns: tuple[str | None, ...] = ()  # streams: FilterCriteria.Filters[].Pattern
    bisect_batch_on_function_error: bool = False  # streams
    maximum_retry_attempts: int | None = None  # streams: None or -1 retry until the batch succeeds
    on_failure_destination: str | None = None  # streams: DestinationConfig.OnFailure.Destination

    @classmethod
    def from_api(cls, configuration: Mapping[str, Any], region: str) -> EventSourceMapping:
        """A mapping from the Lambda API's EventSourceMappingConfiguration shape."""
        filters = (configuration.get("FilterCriteria") or {}).get("Filters") or []
        on_failure = ((configuration.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        retries = configuration.get("MaximumRetryAttempts")
        return cls(
            uuid=str(configuration["UUID"]),
            source_arn=str(configuration["EventSourceArn"]),
            function_arn=str(configuration["FunctionArn"]),
            region=region,
            enabled=configuration.get("State") != "Disabled",
            batch_size=configuration.get("BatchSize") or None,
            maximum_batching_window_seconds=float(configuration.get("MaximumBatchingWindowInSeconds") or 0),
            function_response_types=tuple(configuration.get("FunctionResponseTypes") or ()),
            maximum_concurrency=(configuration.get("ScalingConfig") or {}).get("MaximumConcurrency") or None,
            starting_position=configuration.get("StartingPosition") or None,
            filter_patterns=tuple(entry.get("Pattern") for entry in filters),
            bisect_batch_on_function_error=bool(configuration.get("BisectBatchOnFunctionError")),
            maximum_retry_attempts=None if retries is None else int(retries),
            on_failure_destination=on_failure or None,
        )

    @property
    def report_batch_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    @property
    def source_account(self) -> str:
        return self.source_arn.split(":")[4]

    @property
    def source_name(self) -> str:
        """The queue's name (SQS) or the stream's resource (table/<name>/stream/<label>)."""
        return self.source_arn.split(":", 5)[5]

    @property
    def is_sqs(self) -> bool:
        return self.source_arn.startswith("arn:aws:sqs:")


@dataclass
class SqsMappingRecord:
    """The deployment's SQS event source mappings, which localcloud's SQS poller runs (see the module
    docstring for why they are not in the emulator)."""

    mappings: list[EventSourceMapping] = field(default_factory=list)
