"""REST API request body validation with AWS's wording of the errors.

A request validator checks a JSON body against the method's model (a JSON schema, draft 04) with
jsonschema; `$context.error.validationErrorString` then carries AWS's (java-json-tools) messages for the
common keywords: required, type, pattern, enum, min/maxLength, minimum/maximum, additionalProperties,
min/maxItems. Other keywords give jsonschema's own message, a non-JSON body "Invalid JSON: <reason>".
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import jsonschema


def _json_list(values: Any) -> str:
    return "[" + ",".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _message(error: jsonschema.ValidationError) -> str:  # noqa: PLR0911 - one per keyword
    """java-json-tools' wording (what AWS reports) for `error`'s keyword; jsonschema's otherwise."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return f"object has missing required properties ({_json_list(missing)})"
    if keyword == "type":
        allowed = [expected] if isinstance(expected, str) else list(expected)
        return (
            f"instance type ({_json_type(instance)}) does not match any allowed primitive type "
            f"(allowed: {_json_list(allowed)})"
        )
    if keyword == "pattern":
        return f"ECMA 262 regex {json.dumps(expected)} does not match input string {json.dumps(instance)}"
    if keyword == "enum":
        return (
            f"instance value ({json.dumps(instance)}) not found in enum "
            f"(possible values: {_json_list(expected)})"
        )
    if keyword in {"minLength", "maxLength"}:
        short = keyword == "minLength"
        return (
            f"string {json.dumps(instance)} is too {'short' if short else 'long'} (length: {len(instance)}, "
            f"required {'minimum' if short else 'maximum'}: {expected})"
        )
    if keyword == "minimum":
        return f"numeric instance is lower than the required minimum (minimum: {expected}, found: {instance})"
    if keyword == "maximum":
        return (
            f"numeric instance is greater than the required maximum (maximum: {expected}, found: {instance})"
        )
    if keyword == "additionalProperties" and isinstance(instance, dict):
        declared = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = sorted(k for k in instance if k not in declared and not any(p.search(k) for p in patterns))
        return f"object instance has properties which are not allowed by the schema: {_json_list(extra)}"
    if keyword in {"minItems", "maxItems"}:
        short = keyword == "minItems"
        return (
            f"array is too {'short' if short else 'long'}: must have at {'least' if short else 'most'} "
            f"{expected} elements but instance has {len(instance)} elements"
        )
    return str(error.message)


_VALIDATORS: dict[str, jsonschema.Draft4Validator] = {}
_VALIDATORS_LOCK = threading.Lock()


def validate_body(schema: str, body: str) -> list[str]:
    """AWS-worded validation errors of `body` against the draft-04 `schema` ([] when valid)."""
    with _VALIDATORS_LOCK:
        validator = _VALIDATORS.get(schema)
        if validator is None:
            validator = _VALIDATORS[schema] = jsonschema.Draft4Validator(json.loads(schema))
    try:
        document = json.loads(body)
    except ValueError as invalid:
        return [f"Invalid JSON: {invalid}"]
    errors = sorted(
        validator.iter_errors(document),
        key=lambda error: (list(map(str, error.absolute_path)), error.validator),
    )
    messages: list[str] = []
    for error in errors:
        message = _message(error)
        if message not in messages:  # jsonschema reports each missing required property separately
            messages.append(message)
    return messages
