"""RuleStore: rule sets from the table, cached, with errors that say what to do."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from handlers.transform.rule_store import RuleNotFound, RuleStore
from handlers.transform.rules import InvalidRuleSet

from .conftest import Pipeline


def test_rule_set_is_read_and_parsed(pipeline: Pipeline) -> None:
    rule_set = pipeline.rules.get("orders-v1")
    assert rule_set.rule_id == "orders-v1" and rule_set.root == "orders"


def test_second_get_within_max_age_is_served_from_cache(pipeline: Pipeline) -> None:
    # GIVEN a rule read once
    first = pipeline.rules.get("catalog-flat")
    # WHEN its item is deleted from the table and it is read again within the cache time
    pipeline.dynamodb.Table(pipeline.rules_table_name).delete_item(Key={"ruleId": "catalog-flat"})
    # THEN the cached rule set is returned without reading DynamoDB
    assert pipeline.rules.get("catalog-flat") == first
    # AND a store without caching sees the deletion
    uncached = RuleStore(pipeline.rules_table_name, dynamodb_resource=pipeline.dynamodb, cache_seconds=0)
    with pytest.raises(RuleNotFound):
        uncached.get("catalog-flat")


def test_missing_rule_names_the_table_and_the_fix(pipeline: Pipeline) -> None:
    with pytest.raises(RuleNotFound) as caught:
        pipeline.rules.get("orders-v2")
    assert str(caught.value) == (
        "rule 'orders-v2' not found in table regionflow-transform-rules; load it with scripts/put_rule.py"
    )
    assert pipeline.rules.exists("orders-v2") is False
    assert pipeline.rules.exists("orders-v1") is True


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ('["a"]', "is not a JSON object"),
        ('{"ruleId": "bad-item", "cast": {"a/b": "decimal"}}', "allowed types"),
        ('{"ruleId": "other"}', "holds rule set 'other'"),
    ],
)
def test_a_broken_item_is_an_invalid_rule_set(pipeline: Pipeline, stored: str, expected: str) -> None:
    pipeline.dynamodb.Table(pipeline.rules_table_name).put_item(Item={"ruleId": "bad-item", "rules": stored})
    with pytest.raises(InvalidRuleSet, match=expected):
        pipeline.rules.get("bad-item")


def test_a_missing_table_is_not_mistaken_for_a_missing_rule(pipeline: Pipeline) -> None:
    # GIVEN a store whose table does not exist
    store = RuleStore("no-such-table", dynamodb_resource=pipeline.dynamodb)
    # WHEN a rule is read
    # THEN the read fails as a failed read (transient for the worker, which retries it), carrying
    # DynamoDB's own error, and not as RuleNotFound (which would fail the upload for good)
    with pytest.raises(
        GetParameterError, match=r"\(ResourceNotFoundException\) when calling the GetItem"
    ) as caught:
        store.get("orders-v1")
    assert not isinstance(caught.value, RuleNotFound)
    assert isinstance(caught.value.__context__, ClientError)
