"""How the build worker names a build: the build id and its `build-<id>.zip` key in the global bucket."""

from __future__ import annotations

import re

from handlers.artifacts.contract import BUILD_KEY_PREFIX, BUILD_KEY_SUFFIX

MAX_BUILD_ID_CHARS = 64
_NOT_BUILD_ID_CHAR = re.compile(r"[^A-Za-z0-9-]")


def sanitise_build_id(raw: str) -> str:
    """Keep [A-Za-z0-9-] only, at most 64 characters: the id becomes an S3 key and a DynamoDB key.

    API Gateway request ids contain '=' and SQS message ids are UUIDs; either survives this intact
    enough to stay unique. Returns '' when nothing is left, so the caller can fall back.
    """
    return _NOT_BUILD_ID_CHAR.sub("", raw)[:MAX_BUILD_ID_CHARS]


def build_key(build_id: str) -> str:
    return f"{BUILD_KEY_PREFIX}{build_id}{BUILD_KEY_SUFFIX}"
