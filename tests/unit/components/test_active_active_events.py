"""Guarantees about ActiveActiveEvents: one global event table, the same pipeline in both regions.

Eventual consistency (the default) adds a repair function on each replica's stream; strong consistency
(MRSC) replaces it with a witness region and conditional writes checked across regions.
"""

from __future__ import annotations

import json

import pytest

from components.active_active_events import EVENTS_ROUTE, management_endpoint
from handlers.conflict_feed.contract import CONNECTION_EXPIRY_ATTRIBUTE, CONNECTION_KEY, FEED_STAGE
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
        # (the feed's table aside: test_the_processor_and_repair_publish_to_their_regions_feed_only)
        assert {
            (a, r) for a, r in processor if a.startswith("dynamodb:") and not r.endswith("-feed-subscribers")
        } == {
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


# ---- the live conflict feed ------------------------------------------------------------------------------


def test_each_region_serves_a_websocket_feed_whose_connect_takes_a_sigv4_signature(
    primary_stack: BuiltStack,
) -> None:
    # GIVEN the production stack (API Gateway v2 front doors)
    for region in event_regions(primary_stack):
        # THEN each region has a WebSocket API of its own
        api = primary_stack.named(f"events-{region}-feed-api")
        assert (api.region, api.inputs["protocolType"]) == (region, "WEBSOCKET")
        assert api.inputs["routeSelectionExpression"]
        # AND $connect answers only signers allowed execute-api:Connect; $disconnect has no authorization
        routes = {
            route.inputs["routeKey"]: route.inputs
            for route in primary_stack.resources_of("aws:apigatewayv2/route:Route", f"events-{region}-feed-")
        }
        assert set(routes) == {"$connect", "$disconnect"}
        assert routes["$connect"]["authorizationType"] == "AWS_IAM"
        assert routes["$disconnect"]["authorizationType"] == "NONE"
        integration = primary_stack.named(f"events-{region}-feed-integration").inputs
        function = primary_stack.named(f"events-{region}-feed-connections-function")
        assert integration["integrationUri"] == function.outputs["invokeArn"]
        # (the recording mocks give a resource the id "<logical name>-id")
        assert {route["target"] for route in routes.values()} == {
            f"integrations/events-{region}-feed-integration-id"
        }
        # AND the stage is throttled and writes access logs
        stage = primary_stack.named(f"events-{region}-feed-stage").inputs
        assert stage["name"] == FEED_STAGE
        assert stage["defaultRouteSettings"]["throttlingRateLimit"] > 0
        assert stage["accessLogSettings"]["destinationArn"]
        # AND the feed URL is exported per region, as the other per-region outputs are
        assert primary_stack.exports["eventsFeedUrls"][region] == f"{api.outputs['apiEndpoint']}/{FEED_STAGE}"


def test_only_api_gateway_may_invoke_the_connections_function_and_only_for_its_own_routes(
    primary_stack: BuiltStack,
) -> None:
    for region in event_regions(primary_stack):
        api = primary_stack.named(f"events-{region}-feed-api").outputs
        function = primary_stack.named(f"events-{region}-feed-connections-function")
        grants = {
            permission.inputs["sourceArn"]: permission.inputs
            for permission in primary_stack.resources_of(
                "aws:lambda/permission:Permission", f"events-{region}-feed-"
            )
        }
        assert set(grants) == {
            f"{api['executionArn']}/{FEED_STAGE}/$connect",
            f"{api['executionArn']}/{FEED_STAGE}/$disconnect",
        }
        for grant in grants.values():
            assert grant["principal"] == "apigateway.amazonaws.com"
            assert grant["function"] == function.outputs["name"]
        # AND it is reserved concurrency, as every function API Gateway calls is
        assert function.inputs["reservedConcurrentExecutions"] > 0


def test_the_connections_table_expires_its_items_and_is_encrypted(primary_stack: BuiltStack) -> None:
    for region in event_regions(primary_stack):
        table = primary_stack.named(f"events-{region}-feed-subscribers")
        assert table.region == region
        assert table.inputs["hashKey"] == CONNECTION_KEY
        assert table.inputs["ttl"] == {"attributeName": CONNECTION_EXPIRY_ATTRIBUTE, "enabled": True}
        assert table.inputs["serverSideEncryption"] == {"enabled": True}
        connections = grants(primary_stack, f"events-{region}-feed-connections-policy")
        assert {(a, r) for a, r in connections if a.startswith("dynamodb:")} == {
            ("dynamodb:PutItem", table.outputs["arn"]),
            ("dynamodb:DeleteItem", table.outputs["arn"]),
        }


def test_the_processor_and_repair_publish_to_their_regions_feed_only(primary_stack: BuiltStack) -> None:
    for region in event_regions(primary_stack):
        api = primary_stack.named(f"events-{region}-feed-api").outputs
        table = primary_stack.named(f"events-{region}-feed-subscribers").outputs
        feed_url = primary_stack.exports["eventsFeedUrls"][region]
        for function in ("processor", "repair"):
            # THEN each may post to its own region's connections, on the feed's stage, and nothing else
            granted = grants(primary_stack, f"events-{region}-{function}-policy")
            assert {(a, r) for a, r in granted if a.startswith("execute-api:")} == {
                ("execute-api:ManageConnections", f"{api['executionArn']}/{FEED_STAGE}/POST/@connections/*")
            }
            assert {("dynamodb:Scan", table["arn"]), ("dynamodb:DeleteItem", table["arn"])} <= granted
            # AND it is told where: that region's connections table and Management API endpoint
            env = primary_stack.named(f"events-{region}-{function}-function").inputs["environment"][
                "variables"
            ]
            assert env["FEED_CONNECTIONS_TABLE"] == table["name"]
            assert env["FEED_ENDPOINT"] == management_endpoint(feed_url)


def test_subscribers_get_a_role_that_may_connect_to_every_regions_feed_and_nothing_else(
    primary_stack: BuiltStack,
) -> None:
    connects = {
        f"{primary_stack.named(f'events-{region}-feed-api').outputs['executionArn']}/{FEED_STAGE}/$connect"
        for region in event_regions(primary_stack)
    }
    assert grants(primary_stack, "events-feed-subscriber-invoke") == {
        ("execute-api:Connect", arn) for arn in connects
    }
    assert (
        primary_stack.exports["eventsFeedSubscriberRoleArn"]
        == (primary_stack.named("events-feed-subscriber-role").outputs["arn"])
    )
    # AND writing is another role's: the producers' role cannot connect
    assert not any(
        action == "execute-api:Connect" for action, _ in grants(primary_stack, "events-caller-invoke")
    )


def test_the_management_endpoint_is_the_feed_url_over_https() -> None:
    assert management_endpoint("wss://abc.execute-api.eu-west-1.amazonaws.com/live") == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/live"
    )
    assert management_endpoint("ws://127.0.0.1:9/apis/abc/live") == "http://127.0.0.1:9/apis/abc/live"


def test_a_stack_deploys_the_feed_exactly_when_its_front_door_is_api_gateway_v2(stack: BuiltStack) -> None:
    # GIVEN either stack; the local one fronts its functions with function URLs (LocalStack Community has
    # no API Gateway v2, so no WebSocket APIs)
    has_v2 = stack.config.get("regionflow:apiFrontDoor") != "functionUrl"
    regions = event_regions(stack)
    # THEN a WebSocket API and an exported feed URL per region where it has, none where it has not
    assert len(stack.resources_of("aws:apigatewayv2/api:Api", "events-us-")) == (
        2 * len(regions) if has_v2 else 0
    )
    assert set(stack.exports["eventsFeedUrls"]) == (set(regions) if has_v2 else set())
    assert ("eventsFeedSubscriberRoleArn" in stack.exports) is has_v2
    # AND the publishers are told of a feed only where there is one
    for region in regions:
        env = stack.named(f"events-{region}-processor-function").inputs["environment"]["variables"]
        assert ("FEED_ENDPOINT" in env) is has_v2
