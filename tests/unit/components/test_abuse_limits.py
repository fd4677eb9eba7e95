"""What an anonymous caller can make the program spend is bounded by config.

Functions behind a public endpoint or on a queue have reserved concurrency (a flood is throttled, not
scaled into the account's whole quota); every route of an HTTP or REST front door has its own throttle;
one POST /builds cannot fan out beyond the stack's cap on hosts per region. The functions and routes are
found in the recorded resources, so a new endpoint or consumer without its limit fails here.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import fields
from typing import Any

import pytest

from components.active_active_events import ActiveActiveEventsArgs
from components.artifact_distribution import ArtifactDistributionArgs
from components.audit_ingest import AuditIngestArgs
from components.batch_orchestrator import BatchOrchestratorArgs
from components.config import ConfigError, load_settings
from components.transform_pipeline import PAGE_CONCURRENCY, TransformPipelineArgs
from localcloud.core.recording import BuiltStack, RecordedResource, build_stack
from localcloud.core.stack_files import declared_config, load_stack_config

FUNCTION = "aws:lambda/function:Function"
# A tenth of Lambda's default regional quota (1,000): the rest stays for everything else in the account,
# well above the 100 Lambda insists stay unreserved.
MODEST_RESERVATIONS_PER_REGION = 100
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
# Functions reached from outside (API routes, function URLs) or fed by a queue -> the key reserving them.
RESERVATION_KEYS = {
    "transform-upload-function": "transformApiConcurrency",
    "transform-upload-url-function": "transformApiConcurrency",
    "transform-status-function": "transformApiConcurrency",
    "transform-rules-api-function": "transformApiConcurrency",
    "transform-worker-function": "transformWorkerConcurrency",
    "transform-dead-letters-function": "transformDeadLetterConcurrency",
    "artifacts-build-worker-function": "artifactBuildWorkerConcurrency",
    "audit-ingest-api-function": "auditApiConcurrency",
    "events-*-api-function": "eventsApiConcurrency",
    "batch-*-financials-api-function": "batchApiConcurrency",
}
# Each system's front door -> the prefix of its throttle keys (<prefix>ApiRateLimit, <prefix>ApiBurstLimit).
THROTTLE_PREFIXES = {
    "transform": "transform",
    "artifacts": "artifact",
    "batch": "batch",
    "audit": "audit",
    "events": "events",
}
# Values no stack file and no default has, each different, so a key wired to the wrong place shows.
OVERRIDES = {
    "transformApiConcurrency": "3",
    "transformWorkerConcurrency": "4",
    "transformDeadLetterConcurrency": "5",
    "artifactBuildWorkerConcurrency": "6",
    "auditApiConcurrency": "7",
    "eventsApiConcurrency": "8",
    "batchApiConcurrency": "9",
    "transformApiRateLimit": "11",
    "transformApiBurstLimit": "12",
    "artifactApiRateLimit": "13",
    "artifactApiBurstLimit": "14",
    "batchApiRateLimit": "15",
    "batchApiBurstLimit": "16",
    "auditApiRateLimit": "17",
    "auditApiBurstLimit": "18",
    "eventsApiRateLimit": "19",
    "eventsApiBurstLimit": "21",
}


# Each limit key -> the component Args field carrying it (a throttle key: its ApiThrottle's member).
ARGS_FIELDS: dict[str, tuple[type, str, str | None]] = {
    "transformApiConcurrency": (TransformPipelineArgs, "api_concurrency", None),
    "transformWorkerConcurrency": (TransformPipelineArgs, "worker_concurrency", None),
    "transformDeadLetterConcurrency": (TransformPipelineArgs, "dead_letter_concurrency", None),
    "artifactBuildWorkerConcurrency": (ArtifactDistributionArgs, "build_worker_concurrency", None),
    "auditApiConcurrency": (AuditIngestArgs, "api_concurrency", None),
    "eventsApiConcurrency": (ActiveActiveEventsArgs, "api_concurrency", None),
    "batchApiConcurrency": (BatchOrchestratorArgs, "api_concurrency", None),
    **{
        f"{prefix}Api{limit}Limit": (args, "api_throttle", member)
        for prefix, args in (
            ("transform", TransformPipelineArgs),
            ("artifact", ArtifactDistributionArgs),
            ("batch", BatchOrchestratorArgs),
            ("audit", AuditIngestArgs),
            ("events", ActiveActiveEventsArgs),
        )
        for limit, member in (("Rate", "rate_limit_per_second"), ("Burst", "burst_limit"))
    },
}


@pytest.fixture(scope="module")
def limited_stack() -> BuiltStack:
    """The AWS stack (API Gateway front doors) with every abuse limit set away from its default."""
    return build_stack("primary", {f"regionflow:{key}": value for key, value in OVERRIDES.items()})


def exposed_or_queue_fed(stack: BuiltStack) -> list[RecordedResource]:
    """Functions an HTTP route, a function URL or an SQS mapping invokes."""
    functions = stack.resources_of(FUNCTION)
    by_arn = {function.outputs["arn"]: function for function in functions}
    by_name = {function.outputs["name"]: function for function in functions}
    # An HTTP API integration names the function's ARN; a WebSocket API's, its invocation URI
    # (arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations).
    found = [
        by_arn[r.inputs["integrationUri"].split("/functions/")[-1].removesuffix("/invocations")]
        for r in stack.resources_of("aws:apigatewayv2/integration:Integration")
    ]
    found += [
        by_name[url.inputs["functionName"]]
        for url in stack.resources_of("aws:lambda/functionUrl:FunctionUrl")
    ]
    found += [
        by_name[mapping.inputs["functionName"]]
        for mapping in stack.resources_of(MAPPING)
        if mapping.inputs["eventSourceArn"].startswith("arn:aws:sqs:")
    ]
    return list({function.name: function for function in found}.values())


# Functions whose reservation is the program's own choice, not a config key's.
FIXED_RESERVATIONS = {
    "transform-upload-page-function": PAGE_CONCURRENCY,
    # The live feed's $connect/$disconnect function (primary: both regions).
    "events-us-east-1-feed-connections-function": ActiveActiveEventsArgs.feed_connections_concurrency,
    "events-us-west-2-feed-connections-function": ActiveActiveEventsArgs.feed_connections_concurrency,
}


def expected_reservation(function: RecordedResource, config: dict[str, str]) -> float:
    """What `function` reserves under `config` ({key: value}, keys without the project prefix)."""
    fixed = FIXED_RESERVATIONS.get(function.name)
    return float(fixed) if fixed is not None else float(config[reservation_key(function)])


def reservation_key(function: RecordedResource) -> str:
    [key] = [key for pattern, key in RESERVATION_KEYS.items() if fnmatch.fnmatchcase(function.name, pattern)]
    return key


def test_every_exposed_or_queue_fed_function_reserves_its_systems_configured_concurrency(
    limited_stack: BuiltStack,
) -> None:
    # GIVEN every reservation key set to its own unusual value
    functions = exposed_or_queue_fed(limited_stack)
    # THEN the functions found are exactly those the reservation keys name (both regions where regional)
    assert {function.name for function in functions} >= set(FIXED_RESERVATIONS)
    assert len(functions) == 12 + len(FIXED_RESERVATIONS)
    for function in functions:
        # WHEN a function behind a route, URL or queue is read
        # THEN it reserves its system's configured concurrency
        expected = expected_reservation(function, OVERRIDES)
        assert function.inputs.get("reservedConcurrentExecutions") == expected, function.name


def test_function_urls_are_limited_by_the_same_reservations(stack: BuiltStack) -> None:
    # GIVEN each stack file (local's front door is function URLs, which API Gateway cannot throttle)
    for function in exposed_or_queue_fed(stack):
        # THEN every exposed or queue-fed function reserves what the stack's config says
        config = {key.removeprefix("regionflow:"): value for key, value in stack.config.items()}
        expected = expected_reservation(function, config)
        assert function.inputs.get("reservedConcurrentExecutions") == expected, function.name


def test_queue_consumers_poll_no_faster_than_their_reserved_concurrency(limited_stack: BuiltStack) -> None:
    for mapping in limited_stack.resources_of(MAPPING):
        if not mapping.inputs["eventSourceArn"].startswith("arn:aws:sqs:"):
            continue
        # GIVEN an SQS mapping and the function it feeds
        [function] = [
            function
            for function in limited_stack.resources_of(FUNCTION)
            if function.outputs["name"] == mapping.inputs["functionName"]
        ]
        # THEN its pollers never outnumber the function's reserved executions (a throttled batch would
        # spend its messages' receives towards the dead-letter queue)
        assert (
            mapping.inputs["scalingConfig"]["maximumConcurrency"]
            == function.inputs["reservedConcurrentExecutions"]
        ), mapping.name


def test_the_default_reservations_fit_an_account_with_the_default_quota(stack: BuiltStack) -> None:
    # GIVEN each stack's reservations, summed per region
    per_region: Counter[str] = Counter()
    for function in stack.resources_of(FUNCTION):
        reserved = function.inputs.get("reservedConcurrentExecutions")
        if reserved is not None and reserved >= 0:
            per_region[str(function.region)] += int(reserved)
    # THEN each region reserves a modest share of the default quota
    assert per_region
    assert all(total <= MODEST_RESERVATIONS_PER_REGION for total in per_region.values()), per_region


def test_every_http_api_route_has_its_systems_configured_throttle(limited_stack: BuiltStack) -> None:
    stages = {
        stage.inputs["apiId"]: stage for stage in limited_stack.resources_of("aws:apigatewayv2/stage:Stage")
    }
    routes = limited_stack.resources_of("aws:apigatewayv2/route:Route")
    assert routes
    for route in routes:
        # GIVEN an HTTP API route and its system's throttle keys
        prefix = THROTTLE_PREFIXES[route.name.split("-", 1)[0]]
        expected = {
            "throttlingRateLimit": float(OVERRIDES[f"{prefix}ApiRateLimit"]),
            "throttlingBurstLimit": float(OVERRIDES[f"{prefix}ApiBurstLimit"]),
        }
        # WHEN its API's stage is read
        stage = stages[route.inputs["apiId"]].inputs
        # THEN the route has its own throttle from config, and so has any route added later (the default)
        [settings] = [each for each in stage["routeSettings"] if each["routeKey"] == route.inputs["routeKey"]]
        assert {key: settings[key] for key in expected} == expected, route.name
        assert {key: stage["defaultRouteSettings"][key] for key in expected} == expected


def test_post_builds_is_throttled_from_config_on_every_method(limited_stack: BuiltStack) -> None:
    # GIVEN the REST API in front of the builds queue
    [settings] = limited_stack.resources_of("aws:apigateway/methodSettings:MethodSettings", "artifacts-")
    # THEN every method of its stage (POST /builds) is throttled as artifactApi* say
    assert settings.inputs["methodPath"] == "*/*"
    assert settings.inputs["settings"]["throttlingRateLimit"] == float(OVERRIDES["artifactApiRateLimit"])
    assert settings.inputs["settings"]["throttlingBurstLimit"] == float(OVERRIDES["artifactApiBurstLimit"])


@pytest.mark.parametrize("key", sorted(ARGS_FIELDS))
def test_pulumi_yaml_and_the_component_default_to_the_same_limit(key: str) -> None:
    # GIVEN a limit key's declared default and the default of the component field it feeds
    declared = declared_config()[key]["default"]
    args, field_name, member = ARGS_FIELDS[key]
    [field] = [field for field in fields(args) if field.name == field_name]
    default: Any = field.default if member is None else getattr(field.default, member)
    # THEN they agree: a component built without config is as limited as a stack without the key
    assert declared == default, f"Pulumi.yaml {key} = {declared}, {args.__name__}.{field_name} = {default}"
    assert set(OVERRIDES) == set(ARGS_FIELDS)


# ---- one build's fan-out ------------------------------------------------------------------------------


class StackFile:
    def __init__(self, **overrides: str) -> None:
        self.values = load_stack_config("primary")
        self.values.update({f"regionflow:{key}": value for key, value in overrides.items()})

    def get(self, key: str) -> str | None:
        return self.values.get(f"regionflow:{key}")


def test_hosts_per_region_above_the_cap_is_refused_naming_both_keys_and_the_fan_out() -> None:
    # GIVEN a stack asking each build to reach more hosts per region than its cap
    # WHEN its config is read
    with pytest.raises(ConfigError) as refused:
        load_settings(StackFile(artifactHostsPerRegion="8000", artifactMaxHostsPerRegion="5000"), stack="x")
    # THEN it is refused, naming both keys, the fan-out and how to proceed
    message = str(refused.value)
    assert (
        "regionflow:artifactHostsPerRegion = 8000 is above regionflow:artifactMaxHostsPerRegion = 5000"
        in (message)
    )
    assert "each POST /builds would write 8000 host-log items in every region" in message
    assert "raise artifactMaxHostsPerRegion (at most 50000)" in message


def test_the_cap_itself_has_a_ceiling() -> None:
    with pytest.raises(
        ConfigError, match=r"artifactMaxHostsPerRegion = '60000' is not allowed: .* 1 to 50000"
    ):
        load_settings(StackFile(artifactMaxHostsPerRegion="60000"), stack="x")


def test_hosts_per_region_within_a_raised_cap_is_accepted() -> None:
    settings = load_settings(
        StackFile(artifactHostsPerRegion="8000", artifactMaxHostsPerRegion="10000"), stack="x"
    )
    assert (settings.artifacts.hosts_per_region, settings.artifacts.max_hosts_per_region) == (8000, 10000)


def test_every_regional_sync_function_is_told_the_cap_it_enforces(stack: BuiltStack) -> None:
    syncs = stack.resources_of(FUNCTION, "artifacts-regional-sync-")
    assert len(syncs) == len(stack.exports["artifactRegionalBuckets"])
    for function in syncs:
        variables = function.inputs["environment"]["variables"]
        assert variables["MAX_HOSTS_PER_REGION"] == stack.config["regionflow:artifactMaxHostsPerRegion"]
        assert int(variables["HOSTS_PER_REGION"]) <= int(variables["MAX_HOSTS_PER_REGION"])
