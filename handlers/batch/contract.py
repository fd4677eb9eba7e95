"""The multi-region batch system's contract: what BatchOrchestrator, its workflows and handlers share.

- Where a batch's files live in the regional bucket, and the names that make reprocessing idempotent:
  one input object version is one batch, its fileId a hash of (key, versionId), so a redelivered S3 event
  maps to the same chunk keys, the same execution name and the same batch-state item.
- The key attributes, index and statuses of the batch-state, errors and financials tables.
- The metrics every batch handler emits (the dashboard reads them).
- Each function's settings (its environment variables, with the one default of each), the errors the
  batch workflows retry (TRANSIENT_ERRORS) and the error the failover runbook retries the reconciliation on.

Pure Python: the Pulumi program imports this with requirements.txt alone.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

from handlers.active_region.contract import ActiveRegionSettings
from handlers.environment import Environment, SettingError

# ---- the regional bucket's layout ------------------------------------------------------------------
INPUT_PREFIX = "input/"
INPUT_SUFFIX = ".csv"
OUTPUT_PREFIX = "output/"
CHUNKS_PREFIX = "chunks/"
MANIFESTS_PREFIX = "manifests/"
WORK_PREFIX = "work/"
PROCESSED_PREFIX = "processed/"
# Only what users bring and get back replicates; the working files stay in their region and expire.
REPLICATED_PREFIXES = (INPUT_PREFIX, OUTPUT_PREFIX)
WORKING_PREFIXES = (CHUNKS_PREFIX, MANIFESTS_PREFIX, WORK_PREFIX, PROCESSED_PREFIX)
PART_DIGITS = 5  # part-00001 ... part-99999: lexicographic order is numeric order
# The manifest's one column: the Distributed Map reads each chunk key under this name.
MANIFEST_HEADER = "chunkKey"

# ---- tables -----------------------------------------------------------------------------------------
# Batch state (a global table): one item per input file name, the batch now being processed for it.
BATCH_STATE_KEY = "fileKey"
NO_VERSION = "null"  # what S3 calls the version of an object written while versioning was off
# Its GSI (status, updatedAt): reconciliation finds unfinished files through it.
STATUS_INDEX = "status-index"
STATUS_INDEX_KEY = "status"
STATUS_INDEX_SORT_KEY = "updatedAt"
# A batch's status: the trigger writes PROCESSING, the batch workflow COMPLETED or FAILED.
STATUS_PROCESSING = "PROCESSING"
STATUS_COMPLETED = "COMPLETED"
STATUS_FAILED = "FAILED"
# Validation errors (a global table): one item per rejected row.
ERRORS_KEY = "fileId"
ERRORS_SORT_KEY = "rowNumber"  # a number
# Financial data (a global table): one item per order.
FINANCIALS_KEY = "uuid"

# ---- metrics: every batch handler emits under one namespace and service, so the dashboard finds them --
METRICS_NAMESPACE = "regionflow"
METRICS_SERVICE = "batch"
FILES_SPLIT = "FilesSplit"
FILES_PROCESSED = "FilesProcessed"
# Per chunk, from the chunk processor's tasks.
VALID_ROWS = "ValidRows"
INVALID_ROWS = "InvalidRows"
MISSING_FINANCIALS = "MissingFinancials"
ROWS_WRITTEN = "RowsWritten"
FILES_RECONCILED = "ReconciledFiles"
FILES_MISSING_AT_RECONCILIATION = "FilesMissingAtReconciliation"
FILES_IGNORED_INACTIVE = "FilesIgnoredInactiveRegion"

# SigV4 and SigV4A presigned URLs are valid for at most 7 days.
MAX_LINK_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_RECIPIENTS = 50  # SES: destinations per message


def file_id(key: str, version_id: str | None) -> str:
    """Stable id of one uploaded object version (32 hex characters)."""
    return hashlib.sha256(f"{key}\n{version_id or NO_VERSION}".encode()).hexdigest()[:32]


def execution_name(file_id_: str) -> str:
    """Main-workflow execution name for a batch: a duplicate event cannot start a second execution."""
    return f"batch-{file_id_}"


def part_name(part: int) -> str:
    return f"part-{part:0{PART_DIGITS}d}"


def part_of(chunk_key: str) -> str:
    """`part-00001` from any chunk, work or processed key."""
    return posixpath.splitext(posixpath.basename(chunk_key))[0]


def chunk_key(file_id_: str, part: int) -> str:
    return f"{CHUNKS_PREFIX}{file_id_}/{part_name(part)}.csv"


def manifest_key(file_id_: str) -> str:
    return f"{MANIFESTS_PREFIX}{file_id_}.csv"


VALID_STAGE = "valid"  # work/<fileId>/valid/<part>.jsonl: validate writes, enrich reads
ENRICHED_STAGE = "enriched"  # work/<fileId>/enriched/<part>.jsonl: enrich writes, write reads
# Key patterns of each stage's files across all batches, for scoping IAM statements to one stage.
VALID_FILES = f"{WORK_PREFIX}*/{VALID_STAGE}/"
ENRICHED_FILES = f"{WORK_PREFIX}*/{ENRICHED_STAGE}/"


def valid_key(file_id_: str, part: str) -> str:
    return f"{WORK_PREFIX}{file_id_}/{VALID_STAGE}/{part}.jsonl"


def enriched_key(file_id_: str, part: str) -> str:
    return f"{WORK_PREFIX}{file_id_}/{ENRICHED_STAGE}/{part}.jsonl"


def processed_prefix(file_id_: str) -> str:
    return f"{PROCESSED_PREFIX}{file_id_}/"


def processed_key(file_id_: str, part: str) -> str:
    return f"{processed_prefix(file_id_)}{part}.csv"


def output_key(input_key: str) -> str:
    """input/a/b.csv -> output/a/b.csv (same name, so users find their result)."""
    if not input_key.startswith(INPUT_PREFIX):
        raise ValueError(f"{input_key!r} is not under {INPUT_PREFIX}")
    return OUTPUT_PREFIX + input_key[len(INPUT_PREFIX) :]


# ---- each function's settings ------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TriggerSettings(ActiveRegionSettings):
    """input/*.csv events -> claim the batch and start it, in the active region only (trigger.py)."""

    batch_state_table: str
    state_machine_arn: str


@dataclass(frozen=True, kw_only=True)
class SplitSettings(Environment):
    """Split the input file into chunks (split_file.py)."""

    records_per_chunk: int = 1000

    def __post_init__(self) -> None:
        if self.records_per_chunk < 1:
            raise SettingError(f"RECORDS_PER_CHUNK must be at least 1, got {self.records_per_chunk}")


@dataclass(frozen=True, kw_only=True)
class ValidateSettings(Environment):
    """Validate a chunk's records (validate_records.py)."""

    errors_table: str


@dataclass(frozen=True, kw_only=True)
class EnrichSettings(Environment):
    """Add financial data to a chunk's valid records (enrich_records.py)."""

    financials_table: str
    errors_table: str


@dataclass(frozen=True, kw_only=True)
class EmailSettings(Environment):
    """Email a presigned link to the merged output (email_link.py).

    With an access point (an S3 Multi-Region Access Point) the link goes through it, so it works from
    whichever region is closest and after a failover; without one it names the regional bucket.
    """

    sender_email: str
    recipient_emails: tuple[str, ...]
    link_expiry_seconds: int = 6 * 3600
    access_point_arn: str | None = None

    def __post_init__(self) -> None:
        recipients = self.recipient_emails
        if not recipients or not all(isinstance(address, str) and "@" in address for address in recipients):
            raise SettingError(
                'RECIPIENT_EMAILS must be a JSON list of email addresses, e.g. ["ops@example.com"]; '
                f"got {list(recipients)!r:.200}"
            )
        if len(recipients) > MAX_RECIPIENTS:
            raise SettingError(
                f"RECIPIENT_EMAILS lists {len(recipients)} addresses; SES sends to at most {MAX_RECIPIENTS}"
            )
        if not 1 <= self.link_expiry_seconds <= MAX_LINK_EXPIRY_SECONDS:
            raise SettingError(
                f"LINK_EXPIRY_SECONDS must be between 1 and {MAX_LINK_EXPIRY_SECONDS}, "
                f"got {self.link_expiry_seconds}"
            )


@dataclass(frozen=True, kw_only=True)
class FinancialsApiSettings(Environment):
    """GET /financials/{uuid} (financials_api.py)."""

    financials_table: str


class FinancialsUnavailableError(Exception):
    """BatchGetItem still left keys unprocessed after every attempt (the table is throttling).

    Raised by financials.py during "Enrich records"; a later attempt, once the table has capacity again,
    succeeds, so the batch workflows retry it (TRANSIENT_ERRORS).
    """


# What the batch tasks raise when a dependency is briefly unavailable, by the name Lambda reports (the
# exception's class name) and so Step Functions matches: our own FinancialsUnavailableError; DynamoDB's
# throttling and 5xx, which boto3 raises as these modelled exceptions once its own retries are spent; and
# botocore's network failures. Anything else a task raises (bad input, a chunk the split step did not
# write, a ClientError such as AccessDenied or ValidationException) is permanent: retrying cannot fix it.
TRANSIENT_ERRORS = (
    FinancialsUnavailableError.__name__,
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
)


class ReconcileIncompleteError(Exception):
    """Some files could not be re-copied; their marks were removed, so a retry copies them again.

    Raised by reconcile.py; the failover runbook (workflows/failover_runbook.py) retries the
    reconciliation on this error's name.
    """


# How long a reconciliation mark holds a file for the run that set it; an older mark is taken over.
STALE_MARK_SECONDS = 900


class ReconcileMarkStuckError(Exception):
    """A file could not be re-copied and its mark could not be removed either: until the mark is stale
    (STALE_MARK_SECONDS) every run leaves the file to the run that marked it, so only a run after that
    copies it. The failover runbook retries on this name after the mark has gone stale.
    """


@dataclass(frozen=True, kw_only=True)
class ReconcileSettings(Environment):
    """Reconciliation after a failover, in one region (reconcile.py; run by the failover runbook)."""

    batch_state_table: str
    bucket: str  # this region's batch bucket
