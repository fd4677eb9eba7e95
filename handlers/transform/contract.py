"""The XML -> JSON pipeline's contract: what TransformPipeline and the transform handlers both rely on.

Each function's settings (its environment variables, with the one default of each), the object key
layout of the two buckets, the key attributes of the rules and status tables, and the rule items the
program loads into the rules table from rules/*.json. Pure Python: the Pulumi program imports this with
requirements.txt alone (the rule language it loads files with is standard-library only).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from handlers.environment import Environment
from handlers.transform.rules import RuleSet, load_rule_files

# The upload API writes uploads/<uploadId>.xml; the input bucket's notification filters on both ends.
INPUT_PREFIX = "uploads/"
INPUT_SUFFIX = ".xml"
# A large upload: POST /uploads hands out a presigned POST for incoming/<uploadId>.xml, the client sends
# the file straight to S3, and the staged-upload validator either moves it on to uploads/<uploadId>.xml or
# keeps it as quarantine/<uploadId>.xml with the row rejected. The input bucket notifies the validator of
# incoming/ (same suffix) and the buffer of uploads/.
STAGING_PREFIX = "incoming/"
QUARANTINE_PREFIX = "quarantine/"
# The one media type a presigned POST allows: what the object is stored as, and what the form must say.
STAGED_CONTENT_TYPE = "application/xml"
# The worker writes results/<uploadId>.json.
OUTPUT_PREFIX = "results/"
OUTPUT_SUFFIX = ".json"
# A file put straight into incoming/ (seed 001's `aws s3 cp ... --recursive`), not through either API:
# its rule is the folder under incoming/ (incoming/<ruleId>/<name>) or its `rule-id` metadata; it is
# checked like an upload and, once accepted, transformed to results/incoming/<ruleId>/<name>.json. It is
# never moved or deleted. Anywhere else in the bucket but the pipeline's own prefixes, a put is refused.
DROPPED_RULE_METADATA = "rule-id"
# The input bucket's prefixes: what the bucket policy lets anyone write at all.
INPUT_BUCKET_PREFIXES = (INPUT_PREFIX, STAGING_PREFIX, QUARANTINE_PREFIX)
# A dropped file's upload id: a UUID named by the object version, so every delivery of its event agrees.
_DROPPED_NAMESPACE = uuid.UUID("5b0f7c9e-3a51-4c1e-9a55-6f1d2f1e0d01")

# The rules table: one item per rule set, the rule set as a JSON string.
RULES_TABLE_KEY = "ruleId"
RULES_VALUE_ATTRIBUTE = "rules"
# The upload status table: one row per upload.
STATUS_TABLE_KEY = "uploadId"

_UPLOAD_ID = "(?P<id>[0-9a-f-]{36})"
_INPUT_KEY = re.compile(rf"{re.escape(INPUT_PREFIX)}{_UPLOAD_ID}{re.escape(INPUT_SUFFIX)}")
_STAGED_KEY = re.compile(rf"{re.escape(STAGING_PREFIX)}{_UPLOAD_ID}{re.escape(INPUT_SUFFIX)}")


def input_key(upload_id: str) -> str:
    return f"{INPUT_PREFIX}{upload_id}{INPUT_SUFFIX}"


def upload_id_of(key: str) -> str | None:
    """The upload id an input key names (the inverse of input_key), or None for any other key."""
    match = _INPUT_KEY.fullmatch(key)
    return match.group("id") if match else None


def staged_key(upload_id: str) -> str:
    """Where a large upload's client posts the file (a presigned POST fixes this key)."""
    return f"{STAGING_PREFIX}{upload_id}{INPUT_SUFFIX}"


def staged_upload_id_of(key: str) -> str | None:
    """The upload id a staged key names (the inverse of staged_key), or None for any other key."""
    match = _STAGED_KEY.fullmatch(key)
    return match.group("id") if match else None


def quarantine_key(upload_id: str) -> str:
    """Where a refused large upload's file is kept, never deleted."""
    return f"{QUARANTINE_PREFIX}{upload_id}{INPUT_SUFFIX}"


def output_key(upload_id: str) -> str:
    return f"{OUTPUT_PREFIX}{upload_id}{OUTPUT_SUFFIX}"


def dropped_upload_id(bucket: str, key: str, version: str | None) -> str:
    """The upload id of one version of a file dropped into incoming/ (`version`: its version id, or its
    event's sequencer when the bucket keeps none)."""
    return str(uuid.uuid5(_DROPPED_NAMESPACE, f"{bucket}\n{key}\n{version or ''}"))


def dropped_rule_folder(key: str) -> str | None:
    """The rule a dropped file's folder names (incoming/<ruleId>/<name>), or None for incoming/<name>."""
    folder, slash, rest = key.removeprefix(STAGING_PREFIX).partition("/")
    return folder if slash and folder and rest else None


def dropped_output_key(key: str) -> str:
    """Where a dropped file's JSON goes: results/ + its key, .xml replaced by .json (the seed's data.json)."""
    return f"{OUTPUT_PREFIX}{key.removesuffix(INPUT_SUFFIX)}{OUTPUT_SUFFIX}"


def rule_item(rule_set: RuleSet) -> dict[str, str]:
    """The one rules-table item shape: the id as key and the rule set as a JSON string.

    Keys keep their file order: among wildcard paths of one operation the first listed wins.
    """
    return {RULES_TABLE_KEY: rule_set.rule_id, RULES_VALUE_ATTRIBUTE: json.dumps(rule_set.to_json())}


def rule_items(directory: Path) -> list[dict[str, str]]:
    """Every rules/*.json file of `directory`, validated, as rules-table items (ruleIds unique)."""
    return [rule_item(rule_set) for rule_set in load_rule_files(directory).values()]


@dataclass(frozen=True, kw_only=True)
class RuleReaderSettings(Environment):
    """What a function reading rule sets needs: the table and how long a read rule set is reused."""

    rules_table: str
    rule_cache_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class UploadSettings(RuleReaderSettings):
    """POST /upload (handlers/transform/upload_api.py)."""

    input_bucket: str
    status_table: str
    # API Gateway HTTP APIs refuse bodies above 10 MB, so a larger limit could never be reached.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_xml_depth: int = 64


@dataclass(frozen=True, kw_only=True)
class UploadUrlSettings(RuleReaderSettings):
    """POST /uploads (handlers/transform/upload_url_api.py): a presigned POST for a large document."""

    input_bucket: str
    status_table: str
    max_upload_bytes: int = UploadSettings.max_upload_bytes
    # How long the presigned POST may be used: the client starts sending the file within it.
    upload_url_ttl_seconds: int = 900


@dataclass(frozen=True, kw_only=True)
class StagedUploadSettings(RuleReaderSettings):
    """The staged-upload validator (handlers/transform/staged_upload_validator.py): the upload API's checks
    on a file posted straight to S3, then on to the buffer or into quarantine."""

    input_bucket: str
    status_table: str
    topic_arn: str
    max_upload_bytes: int = UploadSettings.max_upload_bytes
    max_xml_depth: int = UploadSettings.max_xml_depth


@dataclass(frozen=True, kw_only=True)
class RulesListSettings(Environment):
    """GET /rules (handlers/transform/rules_api.py)."""

    rules_table: str


def url_origin(url: str) -> str:
    """scheme://host[:port] of `url`: what a browser's Origin header and CORS rules name."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# The largest file the upload page sends through POST /upload; larger ones go straight to S3 (POST /uploads).
# A Lambda request carries 6 MB, event included, and a body API Gateway base64-encodes grows by a third.
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class UploadPageSettings(Environment):
    """GET / and GET /page/{asset}: the upload page (handlers/transform/upload_page.py)."""

    user_pool_client_id: str  # the app client people sign in with (USER_PASSWORD_AUTH from the browser)
    input_bucket: str  # where large files go: its origin is the one the page may post to
    max_upload_bytes: int = UploadSettings.max_upload_bytes


@dataclass(frozen=True, kw_only=True)
class StatusSettings(Environment):
    """GET /uploads/{id} (handlers/transform/status_api.py)."""

    status_table: str
    output_bucket: str
    presigned_url_ttl_seconds: int = 900


@dataclass(frozen=True, kw_only=True)
class WorkerSettings(RuleReaderSettings):
    """The transform worker on the buffer queue (handlers/transform/transform_worker.py)."""

    output_bucket: str
    status_table: str
    topic_arn: str
    # Receives before the buffer queue moves a message to its DLQ: the worker's last attempt marks the
    # upload failed, so the queue's redrive policy and this must agree.
    max_receive_count: int = 5


@dataclass(frozen=True, kw_only=True)
class DeadLetterSettings(Environment):
    """The buffer DLQ's consumer (handlers/transform/dead_letters.py): fails and announces the uploads the
    worker never finished."""

    status_table: str
    topic_arn: str
