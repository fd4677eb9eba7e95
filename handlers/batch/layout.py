"""Where a batch's files live in the regional bucket, and the names that make reprocessing idempotent.

One input object version is one batch: its fileId is a hash of (key, versionId), so a redelivered S3
event maps to the same chunk keys, the same execution name and the same batch-state item.
"""

from __future__ import annotations

import hashlib
import posixpath

INPUT_PREFIX = "input/"
INPUT_SUFFIX = ".csv"
OUTPUT_PREFIX = "output/"
CHUNKS_PREFIX = "chunks/"
MANIFESTS_PREFIX = "manifests/"
WORK_PREFIX = "work/"
PROCESSED_PREFIX = "processed/"
PART_DIGITS = 5  # part-00001 ... part-99999: lexicographic order is numeric order
MANIFEST_HEADER = "chunkKey"
# The batch-state table's GSI (status, updatedAt): reconciliation finds unfinished files through it.
STATUS_INDEX = "status-index"

# Metrics every batch handler emits under one namespace and service, so the dashboard finds them.
METRICS_NAMESPACE = "regionflow"
METRICS_SERVICE = "batch"
FILES_SPLIT = "FilesSplit"
FILES_PROCESSED = "FilesProcessed"
FILES_RECONCILED = "ReconciledFiles"
FILES_MISSING_AT_RECONCILIATION = "FilesMissingAtReconciliation"
FILES_IGNORED_INACTIVE = "FilesIgnoredInactiveRegion"


def file_id(key: str, version_id: str | None) -> str:
    """Stable id of one uploaded object version (32 hex characters)."""
    return hashlib.sha256(f"{key}\n{version_id or 'null'}".encode()).hexdigest()[:32]


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


def valid_key(file_id_: str, part: str) -> str:
    return f"{WORK_PREFIX}{file_id_}/valid/{part}.jsonl"


def enriched_key(file_id_: str, part: str) -> str:
    return f"{WORK_PREFIX}{file_id_}/enriched/{part}.jsonl"


def processed_prefix(file_id_: str) -> str:
    return f"{PROCESSED_PREFIX}{file_id_}/"


def processed_key(file_id_: str, part: str) -> str:
    return f"{processed_prefix(file_id_)}{part}.csv"


def output_key(input_key: str) -> str:
    """input/a/b.csv -> output/a/b.csv (same name, so users find their result)."""
    if not input_key.startswith(INPUT_PREFIX):
        raise ValueError(f"{input_key!r} is not under {INPUT_PREFIX}")
    return OUTPUT_PREFIX + input_key[len(INPUT_PREFIX) :]
