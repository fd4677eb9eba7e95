"""A compiled schema check fails exactly as Powertools' `validate` does: same verdict, same error fields."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

from handlers.audit.audit_request import REQUEST_SCHEMA_CHECK
from handlers.audit.message import MESSAGE_SCHEMA_CHECK
from handlers.batch.records import record_from_cells
from handlers.batch.validate_records import RECORDS_SCHEMA_CHECK
from handlers.events.event_item import EVENT_SCHEMA_CHECK
from handlers.events.tmf688 import TMF688_SCHEMA_CHECK
from handlers.json_schema import CompiledSchema
from samples.batch_records import generate_batch

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def _body(event_file: str) -> Any:
    return json.loads(json.loads((EVENTS_DIR / event_file).read_text())["body"])


BATCH_RECORDS = [
    record_from_cells(cells)
    for cells in list(csv.reader(io.StringIO(generate_batch(2, 0).input_csv.decode())))[1:]
]
# (check, a document it accepts)
VALID_DOCUMENTS = {
    "event": (EVENT_SCHEMA_CHECK, _body("events_post.json")),
    "tmf688": (TMF688_SCHEMA_CHECK, _body("events_post_tmf688.json")),
    "audit request": (REQUEST_SCHEMA_CHECK, _body("audit_ingest_post.json")),
    "audit message": (
        MESSAGE_SCHEMA_CHECK,
        json.loads((EVENTS_DIR / "audit_internal_message.json").read_text()),
    ),
    "batch records": (RECORDS_SCHEMA_CHECK, BATCH_RECORDS),
}
REPLACEMENTS: list[Any] = [None, 12345, -1, "", "x" * 300_000, [], {}, True, 1.5]


def variants(document: Any) -> list[Any]:
    """The document, each of its top-level fields (or an array's items) removed or replaced by values of
    other types and sizes, and documents of other types."""
    found: list[Any] = [document, None, "text", 7, [], {}]
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    for key in keys:
        if isinstance(document, dict):
            missing = copy.deepcopy(document)
            del missing[key]
            found.append(missing)
        for value in REPLACEMENTS:
            changed = copy.deepcopy(document)
            changed[key] = value
            found.append(changed)
    return found


def verdict(check: Any) -> Any:
    try:
        check()
    except SchemaValidationError as error:
        return (
            str(error),
            error.validation_message,
            error.name,
            error.path,
            error.value,
            error.rule,
            error.rule_definition,
        )
    return "valid"


@pytest.mark.parametrize("name", VALID_DOCUMENTS)
def test_a_compiled_schema_gives_powertools_verdict_and_error_for_every_variant(name: str) -> None:
    # GIVEN one of the handlers' compiled schemas and a document it accepts
    check, document = VALID_DOCUMENTS[name]
    assert verdict(lambda: check.validate(document)) == "valid"
    # WHEN that document and its variants are checked by both
    for candidate in variants(document):
        ours = verdict(lambda: check.validate(candidate))  # noqa: B023 - called at once
        powertools = verdict(lambda: validate(event=candidate, schema=dict(check.schema)))  # noqa: B023
        # THEN each gets the same verdict and, when refused, the same error
        assert ours == powertools, candidate


def test_a_schema_is_compiled_once_not_at_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a compiled schema
    check = CompiledSchema({"type": "object", "required": ["id"]})
    compiled: list[Any] = []
    monkeypatch.setattr("fastjsonschema.compile", lambda *args, **kwargs: compiled.append(args))
    # WHEN it checks documents
    check.validate({"id": 1})
    with pytest.raises(SchemaValidationError, match="must contain"):
        check.validate({})
    # THEN nothing is compiled again
    assert compiled == []
