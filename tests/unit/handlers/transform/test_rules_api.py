"""GET /rules: every loaded rule set a person can upload with, by id, with its description; nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from handlers.transform import rules_api
from handlers.transform.contract import rule_item
from handlers.transform.rules import load_rule_files, parse_rule_set

from ..conftest import RULES_DIR, FakeLambdaContext, Pipeline, load_event


def rules_event(*, signed_in: bool = True) -> dict[str, Any]:
    event = copy.deepcopy(load_event("transform_rules_get.json"))
    if not signed_in:
        event["requestContext"].pop("authorizer")
    return event


def get_rules(context: FakeLambdaContext, *, signed_in: bool = True) -> tuple[int, dict[str, Any]]:
    response = rules_api.lambda_handler(rules_event(signed_in=signed_in), context)
    return response["statusCode"], json.loads(response["body"])


def test_every_loaded_rule_is_listed_by_id_with_its_description(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the rules table holding the rule files of rules/ (each with a description)
    rule_sets = load_rule_files(RULES_DIR)
    # WHEN a signed-in person asks for the rules
    status_code, body = get_rules(lambda_context)
    # THEN each is listed with its description, sorted by id
    assert status_code == 200
    assert body == {
        "rules": [
            {"ruleId": rule_id, "description": rule_sets[rule_id].description}
            for rule_id in sorted(rule_sets)
        ]
    }
    assert all(rule["description"] for rule in body["rules"])


def test_items_no_upload_could_use_are_left_out_and_logged(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN items written around scripts/put_rule.py: not JSON, an invalid rule set, another rule's set
    table = large_upload_env.dynamodb.Table(large_upload_env.rules_table_name)
    table.put_item(Item={"ruleId": "not-json", "rules": "{oops"})
    table.put_item(
        Item={"ruleId": "bad-cast", "rules": json.dumps({"ruleId": "bad-cast", "cast": {"a": "x"}})}
    )
    table.put_item(Item={**rule_item(parse_rule_set({"ruleId": "elsewhere"})), "ruleId": "misfiled"})
    table.put_item(Item={"ruleId": "no-rules"})
    # WHEN the rules are listed
    _, body = get_rules(lambda_context)
    # THEN only the rule sets of rules/ are offered
    assert [rule["ruleId"] for rule in body["rules"]] == sorted(load_rule_files(RULES_DIR))
    # AND each item left out is logged with its id
    left_out = {
        getattr(record, "ruleId", None)
        for record in caplog.records
        if record.getMessage().startswith("rules item left")
    }
    assert left_out == {"not-json", "bad-cast", "misfiled", "no-rules"}


def test_a_rule_without_a_description_is_listed_with_an_empty_one(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    table = large_upload_env.dynamodb.Table(large_upload_env.rules_table_name)
    table.put_item(Item=rule_item(parse_rule_set({"ruleId": "bare"})))
    _, body = get_rules(lambda_context)
    assert {"ruleId": "bare", "description": ""} in body["rules"]


def test_the_listing_is_bounded(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bound of one item WHEN the rules are listed THEN one is
    monkeypatch.setattr(rules_api, "MAX_RULES_LISTED", 1)
    _, body = get_rules(lambda_context)
    assert len(body["rules"]) == 1


def test_a_request_no_authorizer_vouched_for_is_401(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    status_code, body = get_rules(lambda_context, signed_in=False)
    assert (status_code, body["error"]) == (401, "unauthenticated")
