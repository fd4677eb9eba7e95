"""Rule errors are permanent and reported in full.

A rule file is checked for paths that conflict (a cast path and a path inside the value it casts), and every
problem of every file is reported at once. A rule that still fails while it is applied fails the upload at
once, with the reason, a `failed` message and the SQS message on its way to the DLQ: retrying cannot help.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.transform import transform_worker
from handlers.transform.rules import (
    CastType,
    InvalidRuleSet,
    RuleApplicationError,
    RuleSet,
    parse_rule_set,
)
from handlers.transform.s3_events import ObjectRef
from handlers.transform.transform import transform_document
from handlers.transform.transform_worker import UploadAlreadyFailedError, transform_object
from scripts.put_rule import main

from ..conftest import FakeLambdaContext, Pipeline, sqs_event
from .conftest import CountingS3, FixedRules, buffer_record, status_of, told, upload

AMOUNTS = b'<orders><order id="1"><amount currency="EUR">12.50</amount></order></orders>'
# Each cast alone is valid; together the amount's text would be cast twice.
DOUBLE_CAST: dict[str, CastType] = {"orders/order/amount": "float", "orders/order/amount/#text": "float"}


def invalid(data: dict[str, Any]) -> InvalidRuleSet:
    with pytest.raises(InvalidRuleSet) as caught:
        parse_rule_set(data)
    return caught.value


@pytest.mark.parametrize(
    "casts",
    [
        DOUBLE_CAST,
        {"orders/order/*": "int", "orders/order/amount/#text": "float"},
        {"orders/order/*/#text": "int", "orders/order/amount": "float"},
        {"orders/order/amount": "int", "orders/order/amount/cents": "int"},
    ],
    ids=["text-of-itself", "wildcard-parent", "wildcard-child", "child-element"],
)
def test_a_cast_path_and_a_path_inside_it_conflict(casts: dict[str, str]) -> None:
    # GIVEN a rule set casting an element and something inside that element's value
    error = invalid({"ruleId": "conflict", "cast": casts})
    # THEN it is refused, naming both paths
    shorter, longer = sorted(casts, key=lambda path: path.count("/"))
    assert "conflict" in str(error) and repr(shorter) in str(error) and repr(longer) in str(error)


def test_an_element_and_its_own_attributes_may_both_be_cast() -> None:
    rule_set = parse_rule_set(
        {
            "ruleId": "amounts",
            "cast": {
                "orders/order/amount": "float",
                "orders/order/amount/@currency": "str",
                "orders/order/@*": "str",
            },
        }
    )
    assert json.loads(transform_document(AMOUNTS, rule_set)) == {
        "orders": {"order": {"@id": "1", "amount": {"@currency": "EUR", "#text": 12.5}}}
    }


def test_every_problem_of_a_rule_set_is_reported_not_just_the_first() -> None:
    # GIVEN a rule set with six independent mistakes
    error = invalid(
        {
            "ruleId": "orders v1",
            "rmove": [],
            "forceList": ["a/@x"],
            "cast": {"a/b": "decimal", **DOUBLE_CAST},
            "rename": {"a//b": "c"},
        }
    )
    # THEN each is listed, and the message says how many there are
    assert len(error.problems) == 6
    for expected in (
        "unknown key(s) 'rmove'",
        "'ruleId' 'orders v1' is invalid",
        "'forceList' path 'a/@x' must end with an element name",
        "has type 'decimal'",
        "'rename' path 'a//b' is malformed",
        "'orders/order/amount/#text'",
    ):
        assert sum(expected in problem for problem in error.problems) == 1, expected
        assert expected in str(error)
    assert str(error).startswith("6 problems: ")


def test_put_rule_reports_every_problem_of_every_file_and_writes_nothing(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN one valid file and two invalid ones, the second with two problems
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"ruleId": "good-rule"}), encoding="utf-8")
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"ruleId": "typo", "cast": {"a/b": "decimal"}}), encoding="utf-8")
    conflict = tmp_path / "conflict.json"
    conflict.write_text(
        json.dumps({"ruleId": "conflict", "rmove": [], "cast": DOUBLE_CAST}), encoding="utf-8"
    )
    table = pipeline.dynamodb.Table(pipeline.rules_table_name)
    before = table.scan()["Items"]
    # WHEN the CLI is given all three
    code = main(
        ["--table", pipeline.rules_table_name, "--region", "eu-west-1", str(good), str(typo), str(conflict)]
    )
    # THEN it exits 2 and prints each problem on its own line, prefixed with its file
    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "typo.json" in line and "has type 'decimal'" in line]
    assert [line for line in lines if "conflict.json" in line and "unknown key(s) 'rmove'" in line]
    assert [line for line in lines if "conflict.json" in line and "'orders/order/amount/#text'" in line]
    assert "nothing was written" in lines[-1]
    # AND the table is unchanged, the valid file included
    assert table.scan()["Items"] == before


def test_an_error_raised_inside_a_rule_is_a_rule_application_error_naming_the_path() -> None:
    # GIVEN a rule set that bypassed validation and casts the amount's text twice
    rule_set = RuleSet(rule_id="double-cast", cast=tuple(DOUBLE_CAST.items()))
    # WHEN it is applied
    with pytest.raises(RuleApplicationError) as caught:
        transform_document(AMOUNTS, rule_set)
    # THEN the error is the rule's, naming the rule set and where it failed
    assert "'double-cast'" in str(caught.value) and "orders/order/amount" in str(caught.value)


def test_a_rule_that_crashes_while_applied_fails_the_upload_at_once_with_the_reason(
    pipeline: Pipeline,
) -> None:
    # GIVEN an upload whose rule set (stored before conflicts were checked) casts the amount's text twice
    upload_id = upload(pipeline, AMOUNTS)
    args = {
        **pipeline.worker_args(),
        "rules": FixedRules(RuleSet(rule_id="orders-v1", cast=tuple(DOUBLE_CAST.items()))),
    }
    # WHEN the worker receives it for the first time
    with pytest.raises(RuleApplicationError):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), receive_count=1, **args
        )
    # THEN the upload is failed at once with a reason naming the rule and the path
    row = status_of(pipeline, upload_id)
    assert row["status"] == "failed"
    assert "'orders-v1'" in row["reason"] and "orders/order/amount" in row["reason"]
    # AND subscribers were told once
    assert told(pipeline, upload_id) == ["failed"]


def test_a_conflicting_rule_item_in_the_table_fails_the_upload_at_once(
    handler_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a rules-table item written before conflicts were checked, and an upload under it
    table = handler_env.dynamodb.Table(handler_env.rules_table_name)
    upload_id = upload(handler_env, AMOUNTS)
    table.put_item(
        Item={"ruleId": "orders-v1", "rules": json.dumps({"ruleId": "orders-v1", "cast": DOUBLE_CAST})}
    )
    record = buffer_record(handler_env, upload_id)
    # WHEN the worker Lambda receives its S3 event
    response = transform_worker.lambda_handler(sqs_event(record), lambda_context)
    # THEN the record fails (SQS will move it to the DLQ) and the upload is failed at once, saying why
    assert [failure["itemIdentifier"] for failure in response["batchItemFailures"]] == [record["messageId"]]
    row = status_of(handler_env, upload_id)
    assert row["status"] == "failed" and "conflict" in row["reason"]
    assert told(handler_env, upload_id) == ["failed"]


def test_a_permanently_failed_upload_is_never_transformed_again(
    pipeline: Pipeline, counting_s3: CountingS3
) -> None:
    # GIVEN an upload that failed permanently on its first receive
    upload_id = upload(pipeline, AMOUNTS)
    rules = FixedRules(RuleSet(rule_id="orders-v1", cast=(("orders/order/amount", "int"),)))
    args = {**pipeline.worker_args(), "s3": counting_s3, "rules": rules}
    ref = ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml")
    with pytest.raises(RuleApplicationError):
        transform_object(ref, receive_count=1, **args)
    reason = status_of(pipeline, upload_id)["reason"]
    assert counting_s3.objects_read == 1
    # WHEN SQS delivers the message again
    with pytest.raises(UploadAlreadyFailedError):
        transform_object(ref, receive_count=2, **args)
    # THEN it fails again at once, without reading the document, changing the reason or telling anyone
    assert counting_s3.objects_read == 1
    assert status_of(pipeline, upload_id)["reason"] == reason
    assert told(pipeline, upload_id) == ["failed"]
