"""Guarantees about ActiveActiveEvents: one global event table, the same pipeline in both regions.

Eventual consistency (the default) adds a repair function on each replica's stream; strong consistency
(MRSC) replaces it with a witness region and conditional writes checked across regions.
"""

from __future__ import annotations

import json

import pytest

from components.active_active_events import EVENTS_ROUTE
from handlers.events.contract import IDEMPOTENCY_INDEX, STEP_FUNCTIONS_MAX_INPUT_BYTES
from localcloud.core.recording import BuiltStack, build_stack
from tests.unit.components.test_batch_orchestrator import grants

WITNESS = "us-east-2"


@pytest.fixture(scope="module")
def strong_stack() -> BuiltStack:
    return build_stack(
        "primary", {"regionflow:eventsConsistency": "strong", "regionflow:eventsWitnessRegion": WITNESS}
    )


def event_regions(stack: BuiltStack) -> list[str]:
    return json.loads(stack.config["regionflow:regions"])[:2]


def test_the_event_table_has_the_documented_schema_index_and_protection(stack: BuiltStack) -> None:
    table = stack.named("events-table").inputs
    assert table["hashKey"] == "Id"
    assert {a["name"]: a["type"] for a in table["attributes"]} == {"Id": "S", "IdempotencyKey": "S"}
    [index] = table["globalSecondaryIndexes"]
    assert (index["name"], index["hashKey"], index["projectionType"]) == (
        IDEMPOTENCY_INDEX,
        "IdempotencyKey",
        "ALL",
    )
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    assert (table["streamEnabled"], table["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")


def test_the_event_table_has_a_replica_in_each_event_region(stack: BuiltStack) -> None:
    home, other = event_regions(stack)
    table = stack.named("events-table")
    assert table.region == home
    assert [(r["regionName"], r["pointInTimeRecovery"]) for r in table.inputs["replicas"]] == [(other, True)]
    # AND the idempotency records are global too: a key repeated in the other region is recognised
    idempotency = stack.named("events-idempotency").inputs
    assert [r["regionName"] for r in idempotency["replicas"]] == [other]
    assert idempotency["ttl"] == {"attributeName": "expiration", "enabled": True}


def test_each_region_runs_api_workflow_processor_and_dlq_in_that_region(stack: BuiltStack) -> None:
    for region in event_regions(stack):
        for name in (
            f"events-{region}-api-function",
            f"events-{region}-processor-function",
            f"events-{region}-workflow-machine",
            f"events-{region}-dlq",
        ):
            assert stack.named(name).region == region, name
        assert stack.named(f"events-{region}-workflow-machine").inputs["type"] == "EXPRESS"
        assert stack.named(f"events-{region}-dlq").inputs["sqsManagedSseEnabled"] is True
        assert stack.named(f"events-{region}-dlq").inputs["maxMessageSize"] == 1024 * 1024
        assert stack.exports["eventsUrls"][region].endswith("/events")
    assert EVENTS_ROUTE == "POST /events"


def test_each_function_touches_only_its_own_regions_replica(stack: BuiltStack) -> None:
    table_arn = stack.named("events-table").outputs["arn"]
    idempotency_arn = stack.named("events-idempotency").outputs["arn"]
    home = event_regions(stack)[0]
    for region in event_regions(stack):
        local_table = table_arn.replace(f":{home}:", f":{region}:")
        local_idempotency = idempotency_arn.replace(f":{home}:", f":{region}:")
        processor = grants(stack, f"events-{region}-processor-policy")
        assert {(a, r) for a, r in processor if a.startswith("dynamodb:")} == {
            ("dynamodb:GetItem", local_table),
            ("dynamodb:PutItem", local_table),
            *(
                (action, local_idempotency)
                for action in (
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                )
            ),
        }
        api = grants(stack, f"events-{region}-api-policy")
        machine = stack.named(f"events-{region}-workflow-machine").outputs["arn"]
        dlq = stack.named(f"events-{region}-dlq").outputs["arn"]
        assert {(a, r) for a, r in api if not a.startswith(("logs:", "xray:"))} == {
            ("states:StartSyncExecution", machine),
            ("sqs:SendMessage", dlq),
        }


def test_the_workflow_runs_its_regions_processor_and_dead_letters_to_its_regions_dlq(
    stack: BuiltStack,
) -> None:
    for region in event_regions(stack):
        definition = json.loads(stack.named(f"events-{region}-workflow-machine").inputs["definition"])
        processor = stack.named(f"events-{region}-processor-function").outputs["arn"]
        assert definition["States"]["Process event"]["Parameters"]["FunctionName"] == processor
        assert (
            definition["States"]["Send to DLQ"]["Parameters"]["QueueUrl"]
            == (stack.named(f"events-{region}-dlq").outputs["url"])
        )
        workflow = grants(stack, f"events-{region}-workflow-policy")
        assert ("lambda:InvokeFunction", processor) in workflow


def test_the_api_refuses_bodies_over_step_functions_input_limit(stack: BuiltStack) -> None:
    for region in event_regions(stack):
        env = stack.named(f"events-{region}-api-function").inputs["environment"]["variables"]
        assert int(env["MAX_BODY_BYTES"]) == STEP_FUNCTIONS_MAX_INPUT_BYTES <= 256 * 1024
        processor_env = stack.named(f"events-{region}-processor-function").inputs["environment"]["variables"]
        assert processor_env["MAX_CLOCK_SKEW_SECONDS"] == stack.config.get(
            "regionflow:eventsMaxClockSkewSeconds", "300"
        )


def test_under_eventual_consistency_each_replicas_stream_feeds_its_regions_repair_function(
    stack: BuiltStack,
) -> None:
    table = stack.named("events-table")
    streams = {table.region: table.outputs["streamArn"]}
    streams |= {r["regionName"]: r["streamArn"] for r in table.outputs["replicas"]}
    for region in event_regions(stack):
        mapping = stack.named(f"events-{region}-repair-trigger").inputs
        assert mapping["region"] == region
        assert mapping["eventSourceArn"] == streams[region]
        assert mapping["functionName"] == stack.named(f"events-{region}-repair-function").outputs["name"]
        assert json.loads(mapping["filterCriteria"]["filters"][0]["pattern"]) == {"eventName": ["MODIFY"]}
        assert mapping["bisectBatchOnFunctionError"] is True
        assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
        dlq = stack.named(f"events-{region}-dlq").outputs["arn"]
        assert mapping["destinationConfig"]["onFailure"]["destinationArn"] == dlq
        repair = grants(stack, f"events-{region}-repair-policy")
        assert ("dynamodb:GetRecords", streams[region]) in repair
        assert ("sqs:SendMessage", dlq) in repair


def test_strong_consistency_uses_mrsc_with_a_witness_and_needs_no_repair(strong_stack: BuiltStack) -> None:
    table = strong_stack.named("events-table").inputs
    assert [r["consistencyMode"] for r in table["replicas"]] == ["STRONG"]
    assert table["globalTableWitness"] == {"regionName": WITNESS}
    assert strong_stack.resources_of("aws:lambda/eventSourceMapping:EventSourceMapping", "events-") == []
    assert strong_stack.resources_of("aws:lambda/function:Function", "events-us-east-1-repair") == []
    # AND the idempotency table stays eventual (MRSC has no TTL)
    assert "consistencyMode" not in strong_stack.named("events-idempotency").inputs["replicas"][0]


def test_eventual_consistency_declares_no_witness(stack: BuiltStack) -> None:
    table = stack.named("events-table").inputs
    assert "globalTableWitness" not in table
    assert all(r.get("consistencyMode") in (None, "EVENTUAL") for r in table["replicas"])
