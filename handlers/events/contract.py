"""Active-active events' contract: what ActiveActiveEvents, its workflow and the events handlers share.

Each function's settings (its environment variables, with the one default of each), the key schema of
the event and idempotency tables, and the errors the processor raises that the workflow retries and the
API answers, by name. Pure Python: the Pulumi program imports this with requirements.txt alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.conflict_feed.contract import FeedSettings
from handlers.environment import Environment

# The global event table: one item per event id; the GSI finds an item by its idempotency key. Keys are
# scoped per principal (two principals may send the same key), so a lookup by key must match Owner too.
EVENTS_TABLE_KEY = "Id"
IDEMPOTENCY_INDEX = "IdempotencyIndex"
IDEMPOTENCY_INDEX_KEY = "IdempotencyKey"
# The idempotency table (global too), in Powertools idempotency's DynamoDB layout.
IDEMPOTENCY_TABLE_KEY = "id"
IDEMPOTENCY_EXPIRY_ATTRIBUTE = "expiration"
# Step Functions caps an execution's input at 256 KB: the API refuses larger bodies with 413.
STEP_FUNCTIONS_MAX_INPUT_BYTES = 256 * 1024


class PoisonEventError(Exception):
    """The event can never be applied as sent (its client clock is too far ahead): no retry helps."""


class WriteConflictError(Exception):
    """The item changed in this replica between read and conditional write: re-read and decide again."""


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was already used for a different event (id, data or timestamp)."""


class EventOwnedByAnotherPrincipalError(Exception):
    """The event's id belongs to another principal (handlers/events/ownership.py): no retry helps."""


# Powertools' error for a key still being processed by another invocation (its first run's result
# answers the repeat once that completes): the workflow retries it, the API answers it 409.
IDEMPOTENCY_IN_PROGRESS_ERROR = "IdempotencyAlreadyInProgressError"


@dataclass(frozen=True, kw_only=True)
class ApiSettings(Environment):
    """POST /events (handlers/events/api.py)."""

    state_machine_arn: str  # this region's EXPRESS workflow, run synchronously
    dlq_url: str
    max_body_bytes: int = STEP_FUNCTIONS_MAX_INPUT_BYTES


@dataclass(frozen=True, kw_only=True)
class ProcessorSettings(FeedSettings):
    """The workflow's task: apply one event, once per idempotency key (handlers/events/processor.py); it
    tells the region's live feed (FeedSettings) each outcome."""

    events_table: str
    idempotency_table: str
    # A client clock further ahead than this would win every conflict: such events are refused.
    max_clock_skew_seconds: int = 300
    idempotency_ttl_seconds: int = 24 * 3600


@dataclass(frozen=True, kw_only=True)
class RepairSettings(FeedSettings):
    """The stream function that restores the ConflictResolver's winner (handlers/events/repair.py); it
    tells the region's live feed (FeedSettings) each restore."""

    events_table: str
