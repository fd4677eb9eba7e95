"""A Distributed Map's EXPRESS children: accepted and run like STANDARD ones, refused where AWS refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from localcloud.services.stepfunctions import express_item_processors
from localcloud.services.stepfunctions.express_item_processors import ExpressProcessorError, for_grammar

LAMBDA_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:work", "Payload.$": "$"},
    "End": True,
}


def distributed(
    processor_states: dict[str, Any], *, execution_type: str = "EXPRESS", mode: str = "DISTRIBUTED"
) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": mode, "ExecutionType": execution_type},
                    "StartAt": next(iter(processor_states)),
                    "States": processor_states,
                },
                "End": True,
            }
        },
    }


def test_an_express_processor_reaches_the_grammar_as_standard_and_nothing_else_changes() -> None:
    # GIVEN a Distributed Map whose children are EXPRESS and run a Lambda task
    definition = distributed({"Work": LAMBDA_TASK})
    # WHEN prepared for moto's grammar
    prepared = json.loads(for_grammar(json.dumps(definition)))
    # THEN only the execution type differs
    expected = copy.deepcopy(definition)
    expected["States"]["Each"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "STANDARD"
    assert prepared == expected


def test_a_definition_without_express_children_is_handed_over_as_written() -> None:
    text = json.dumps(distributed({"Work": LAMBDA_TASK}, execution_type="STANDARD"))
    assert for_grammar(text) is text


@pytest.mark.parametrize(
    ("resource", "named"),
    [
        ("arn:aws:states:::states:startExecution.sync:2", ".sync"),
        ("arn:aws:states:::ecs:runTask.sync", ".sync"),
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", ".waitForTaskToken"),
        ("arn:aws:states:us-east-1:123456789012:activity:approve", "activities"),
    ],
)
def test_an_express_child_may_not_wait_for_a_job_a_token_or_an_activity(resource: str, named: str) -> None:
    # GIVEN an EXPRESS child whose second state uses what EXPRESS workflows do not support
    definition = distributed(
        {"Work": {**LAMBDA_TASK, "End": False, "Next": "Wait"}, "Wait": {**LAMBDA_TASK, "Resource": resource}}
    )
    # WHEN prepared  THEN it is refused, naming the Map, the state and the pattern
    with pytest.raises(ExpressProcessorError, match=rf"Map state 'Each'.*state 'Wait'.*{named}"):
        for_grammar(json.dumps(definition))


def test_a_job_wait_nested_in_a_parallel_branch_of_an_express_child_is_refused() -> None:
    parallel = {
        "Type": "Parallel",
        "Branches": [
            {
                "StartAt": "Deep",
                "States": {"Deep": {**LAMBDA_TASK, "Resource": "arn:aws:states:::glue:startJobRun.sync"}},
            }
        ],
        "End": True,
    }
    with pytest.raises(ExpressProcessorError, match="state 'Deep'"):
        for_grammar(json.dumps(distributed({"Fan": parallel})))


def test_execution_type_on_an_inline_map_is_refused() -> None:
    with pytest.raises(ExpressProcessorError, match="only in a DISTRIBUTED ItemProcessor"):
        for_grammar(json.dumps(distributed({"Work": LAMBDA_TASK}, mode="INLINE")))


def test_moto_accepts_and_refuses_the_definitions_once_applied() -> None:
    # GIVEN the patch applied to moto's parser
    express_item_processors.apply()
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    # THEN an EXPRESS processor parses (moto alone refuses the word), and a refused one still raises
    program, _ = AmazonStateLanguageParser.parse(json.dumps(distributed({"Work": LAMBDA_TASK})))
    assert program is not None
    with pytest.raises(ExpressProcessorError):
        AmazonStateLanguageParser.parse(
            json.dumps(
                distributed({"Work": {**LAMBDA_TASK, "Resource": "arn:aws:states:::ecs:runTask.sync"}})
            )
        )
