"""Guarantees about the TransformPipeline's resource graph, checked for every stack file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.core.recording import ACCOUNT_ID, BuiltStack, RecordedResource

BUCKET = "aws:s3/bucket:Bucket"
FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


def function_named(stack: BuiltStack, component: str) -> RecordedResource:
    return stack.named(f"transform-{component}-function")


def test_every_stack_file_builds_and_exports_the_transform_endpoints(stack: BuiltStack) -> None:
    # GIVEN a stack file WHEN the program is built from it THEN every transform output is exported
    for key in (
        "transformUploadUrl",
        "transformUploadsUrl",
        "transformStatusUrl",
        "transformRulesUrl",
        "transformInputBucket",
        "transformOutputBucket",
        "transformRulesTable",
        "transformStatusTable",
        "transformTopicArn",
        "transformDlqUrl",
    ):
        assert stack.exports.get(key), f"{stack.name}: export {key} missing"
    assert stack.exports["transformUploadUrl"].endswith("/upload")
    assert stack.exports["transformUploadsUrl"].endswith("/uploads")
    assert stack.exports["transformStatusUrl"].endswith("/uploads/{id}")
    assert stack.exports["transformRulesUrl"].endswith("/rules")


def test_every_regional_transform_resource_is_in_the_primary_region(stack: BuiltStack) -> None:
    # GIVEN the stack's configured regions
    primary = json.loads(stack.config["regionflow:regions"])[0]
    # THEN every resource that takes a region is created in the primary one (IAM is global)
    regional = [
        r
        for r in stack.resources
        if r.name.startswith("transform-") and r.typ.startswith("aws:") and not r.typ.startswith("aws:iam/")
    ]
    assert regional
    misplaced = [(r.typ, r.name, r.region) for r in regional if r.region != primary]
    assert not misplaced


# The people's routes -> the function behind each.
ROUTE_FUNCTIONS = {
    "POST /upload": "upload",
    "POST /uploads": "upload-url",
    "GET /uploads/{id}": "status",
    "GET /rules": "rules-api",
}
PAGE_ROUTES = {"GET /": "upload-page", "GET /page/{asset}": "upload-page"}


def test_primary_stack_routes_every_endpoint_through_api_gateway_for_signed_in_people(
    primary_stack: BuiltStack,
) -> None:
    # GIVEN the AWS stack WHEN its HTTP API is built
    routes = {
        r.inputs["routeKey"]: r
        for r in primary_stack.resources_of("aws:apigatewayv2/route:Route", "transform-")
    }
    # THEN upload, upload URL, status, rules and the page are the only routes, each to a Lambda proxy
    # (payload 2.0) of its own function
    assert set(routes) == set(ROUTE_FUNCTIONS) | set(PAGE_ROUTES)
    integrations = {
        f"integrations/{r.name}-id": r
        for r in primary_stack.resources_of("aws:apigatewayv2/integration:Integration")
    }
    targets = {key: integrations[route.inputs["target"]].inputs for key, route in routes.items()}
    assert all(
        t["integrationType"] == "AWS_PROXY" and t["payloadFormatVersion"] == "2.0" for t in targets.values()
    )
    for route_key, component in {**ROUTE_FUNCTIONS, **PAGE_ROUTES}.items():
        assert targets[route_key]["integrationUri"] == function_named(primary_stack, component).outputs["arn"]
    # AND every data route takes the user pool's JWT, the same authorizer for all
    [authorizer] = primary_stack.resources_of("aws:apigatewayv2/authorizer:Authorizer", "transform-")
    data_routes = [route for key, route in routes.items() if key in ROUTE_FUNCTIONS]
    assert {(r.inputs["authorizationType"], r.inputs["authorizerId"]) for r in data_routes} == {
        ("JWT", authorizer.outputs.get("id", f"{authorizer.name}-id"))
    }


def test_api_may_invoke_each_function_only_through_its_own_route(primary_stack: BuiltStack) -> None:
    permissions = primary_stack.resources_of("aws:lambda/permission:Permission")
    source_arns = {
        p.inputs["function"]: p.inputs["sourceArn"]
        for p in permissions
        if p.inputs["principal"] == "apigateway.amazonaws.com"
    }
    expected = {
        "upload": "/*/POST/upload",
        "upload-url": "/*/POST/uploads",
        "status": "/*/GET/uploads/*",
        "rules-api": "/*/GET/rules",
    }
    for component, suffix in expected.items():
        assert source_arns[function_named(primary_stack, component).outputs["name"]].endswith(suffix)


def test_local_stack_exposes_the_endpoints_as_function_urls(local_stack: BuiltStack) -> None:
    # GIVEN LocalStack Community, which has no API Gateway v2
    assert not local_stack.resources_of("aws:apigatewayv2/api:Api")
    urls = {
        r.inputs["functionName"]
        for r in local_stack.resources_of("aws:lambda/functionUrl:FunctionUrl", "transform-")
    }
    # THEN the functions behind the four routes (only those) get function URLs
    assert urls == {
        function_named(local_stack, component).outputs["name"] for component in ROUTE_FUNCTIONS.values()
    }


def test_input_bucket_events_reach_the_buffer_queue_and_staged_files_the_validator(stack: BuiltStack) -> None:
    notification = stack.named("transform-input-events")
    input_bucket = stack.named("transform-input-bucket")
    queue = stack.named("transform-buffer-queue")
    # GIVEN the one notification configuration S3 allows a bucket
    assert [
        n.name
        for n in stack.resources_of("aws:s3/bucketNotification:BucketNotification")
        if n.inputs["bucket"] == input_bucket.outputs["bucket"]
    ] == ["transform-input-events"]
    # THEN new uploads/*.xml objects in the input bucket are announced to the buffer queue
    assert notification.inputs["bucket"] == input_bucket.outputs["bucket"]
    [target] = notification.inputs["queues"]
    assert target["queueArn"] == queue.outputs["arn"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert (target["filterPrefix"], target["filterSuffix"]) == ("uploads/", ".xml")
    # AND every file put into incoming/ (a large upload's, or any dropped there) invokes the validator
    [staged] = notification.inputs["lambdaFunctions"]
    assert staged["lambdaFunctionArn"] == function_named(stack, "staged-upload").outputs["arn"]
    assert staged["events"] == ["s3:ObjectCreated:*"]
    assert staged["filterPrefix"] == "incoming/" and "filterSuffix" not in staged
    # AND only S3, on behalf of that bucket of this account, may send to the queue (and only over TLS)
    policy = json.loads(stack.named("transform-buffer-policy").inputs["policy"])
    statement, tls_only = policy["Statement"]
    assert (tls_only["Sid"], tls_only["Effect"]) == ("DenyInsecureTransport", "Deny")
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": input_bucket.outputs["arn"]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
    }


def test_buffer_queue_moves_poison_messages_to_the_dlq(stack: BuiltStack) -> None:
    queue = stack.named("transform-buffer-queue")
    dlq = stack.named("transform-buffer-dlq")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq.outputs["arn"]
    assert redrive["maxReceiveCount"] == int(stack.config["regionflow:transformMaxReceiveCount"])
    # AND a message outlives its retries: the DLQ keeps it for SQS's maximum of 14 days
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert all(q.inputs["sqsManagedSseEnabled"] for q in stack.resources_of(QUEUE))


def test_worker_consumes_the_buffer_with_partial_batch_failures(stack: BuiltStack) -> None:
    mapping = stack.named("transform-worker-trigger")
    assert mapping.inputs["eventSourceArn"] == stack.named("transform-buffer-queue").outputs["arn"]
    assert mapping.inputs["functionName"] == function_named(stack, "worker").outputs["name"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["batchSize"] == int(stack.config["regionflow:transformBatchSize"])


def test_the_dlq_is_consumed_by_the_dead_letter_settler_with_partial_batch_failures(
    stack: BuiltStack,
) -> None:
    # GIVEN the buffer's DLQ WHEN its mapping is read THEN it feeds the settler, which may fail records alone
    mapping = stack.named("transform-dead-letters-trigger")
    dlq = stack.named("transform-buffer-dlq")
    settler = function_named(stack, "dead-letters")
    assert mapping.inputs["eventSourceArn"] == dlq.outputs["arn"]
    assert mapping.inputs["functionName"] == settler.outputs["name"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    # AND the DLQ hides a message in flight for six times the settler's timeout, as Lambda asks
    assert dlq.inputs["visibilityTimeoutSeconds"] == 6 * settler.inputs["timeout"]
    # AND it reserves the concurrency the stack configures for it
    assert settler.inputs["reservedConcurrentExecutions"] == float(
        stack.config["regionflow:transformDeadLetterConcurrency"]
    )


def test_queue_visibility_timeout_is_six_times_the_worker_timeout(stack: BuiltStack) -> None:
    worker_timeout = function_named(stack, "worker").inputs["timeout"]
    assert stack.named("transform-buffer-queue").inputs["visibilityTimeoutSeconds"] == 6 * worker_timeout


@pytest.mark.parametrize("bucket", ["transform-input", "transform-output"])
def test_buckets_are_encrypted_versioned_private_and_tls_only(stack: BuiltStack, bucket: str) -> None:
    bucket_id = stack.named(f"{bucket}-bucket").outputs["bucket"] + "-id"
    encryption = stack.named(f"{bucket}-encryption").inputs
    assert encryption["bucket"] == bucket_id
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in (
        "AES256",
        "aws:kms",
    )
    assert stack.named(f"{bucket}-versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    block = stack.named(f"{bucket}-public-access").inputs
    assert all(
        block[flag]
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert stack.named(f"{bucket}-ownership").inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    statement = json.loads(stack.named(f"{bucket}-tls-only").inputs["policy"])["Statement"][-1]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_input_bucket_refuses_a_put_outside_the_pipelines_prefixes(stack: BuiltStack) -> None:
    # GIVEN the input bucket's policy WHEN read
    arn = stack.named("transform-input-bucket").outputs["arn"]
    writes, _ = json.loads(stack.named("transform-input-tls-only").inputs["policy"])["Statement"]
    # THEN anyone's PutObject anywhere but uploads/, incoming/ and quarantine/ is denied: a file put where
    # nothing reads it is refused at once, never silently kept
    assert (writes["Effect"], writes["Principal"], writes["Action"]) == ("Deny", "*", ["s3:PutObject"])
    assert writes["NotResource"] == [f"{arn}/uploads/*", f"{arn}/incoming/*", f"{arn}/quarantine/*"]
    # AND the output bucket has no such rule (the worker writes results/ only, by its own IAM)
    assert len(json.loads(stack.named("transform-output-tls-only").inputs["policy"])["Statement"]) == 1


def test_tables_and_topic_are_encrypted_and_tables_recoverable(stack: BuiltStack) -> None:
    tables = stack.resources_of("aws:dynamodb/table:Table", "transform-")
    assert len(tables) == 2
    assert all(t.inputs["serverSideEncryption"]["enabled"] for t in tables)
    assert all(t.inputs["pointInTimeRecovery"]["enabled"] for t in tables)
    # Both topics: the per-upload notifications and the alarms.
    topics = stack.resources_of("aws:sns/topic:Topic", "transform-")
    assert {topic.name for topic in topics} == {"transform-notifications", "transform-alarms"}
    assert all(topic.inputs["kmsMasterKeyId"] for topic in topics)


def test_every_example_rule_is_deployed_into_the_rules_table(stack: BuiltStack) -> None:
    items = stack.resources_of("aws:dynamodb/tableItem:TableItem")
    deployed = {json.loads(i.inputs["item"])["ruleId"]["S"] for i in items}
    assert deployed == {json.loads(p.read_text())["ruleId"] for p in RULES_DIR.glob("*.json")}
    assert {i.inputs["tableName"] for i in items} == {stack.named("transform-rules").outputs["name"]}


def test_each_function_logs_json_to_its_own_group_with_configured_retention(stack: BuiltStack) -> None:
    retention = int(stack.config["regionflow:logRetentionDays"])
    for component in (
        "upload",
        "upload-url",
        "status",
        "rules-api",
        "worker",
        "staged-upload",
        "dead-letters",
    ):
        log_group = stack.named(f"transform-{component}-logs")
        function = function_named(stack, component)
        assert log_group.inputs["retentionInDays"] == retention
        assert function.inputs["loggingConfig"] == {
            "logFormat": "JSON",
            "logGroup": log_group.outputs["name"],
        }


def test_primary_stack_ships_dependencies_as_a_layer_in_the_functions_region(
    primary_stack: BuiltStack,
) -> None:
    layers = {
        layer.region: layer for layer in primary_stack.resources_of("aws:lambda/layerVersion:LayerVersion")
    }
    for function in primary_stack.resources_of(FUNCTION):
        assert function.inputs["layers"] == [layers[function.region].outputs["arn"]]


def test_local_stack_bundles_dependencies_because_localstack_community_has_no_layers(
    local_stack: BuiltStack,
) -> None:
    assert not local_stack.resources_of("aws:lambda/layerVersion:LayerVersion")
    assert all(not f.inputs.get("layers") for f in local_stack.resources_of(FUNCTION))


def test_tracing_follows_the_stack_config(stack: BuiltStack) -> None:
    expected = "Active" if stack.config["regionflow:tracing"] == "true" else "PassThrough"
    assert {f.inputs["tracingConfig"]["mode"] for f in stack.resources_of(FUNCTION)} == {expected}


def test_every_function_url_takes_sigv4_and_no_function_is_public(local_stack: BuiltStack) -> None:
    # GIVEN the local stack's function URLs (LocalStack Community has no API Gateway v2 nor Cognito)
    urls = local_stack.resources_of("aws:lambda/functionUrl:FunctionUrl")
    # THEN every one is AWS_IAM, and no function grants anyone ("*") an invocation
    assert len(urls) == 9 and {url.inputs["authorizationType"] for url in urls} == {"AWS_IAM"}
    permissions = local_stack.resources_of("aws:lambda/permission:Permission")
    assert [p.name for p in permissions if p.inputs["principal"] == "*"] == []


def test_each_caller_role_may_invoke_exactly_its_systems_function_urls(local_stack: BuiltStack) -> None:
    # GIVEN each system's caller role and the functions behind its URLs
    url_functions = {
        url.inputs["functionName"] for url in local_stack.resources_of("aws:lambda/functionUrl:FunctionUrl")
    }
    functions = {
        f.outputs["name"]: f.outputs["arn"] for f in local_stack.resources_of("aws:lambda/function:Function")
    }
    granted: dict[str, set[str]] = {}
    for policy in local_stack.resources_of("aws:iam/rolePolicy:RolePolicy"):
        if "-caller-invoke" in policy.name:
            for statement in json.loads(policy.inputs["policy"])["Statement"]:
                if statement["Action"] == ["execute-api:Invoke"]:
                    continue  # POST /builds is a REST API even here
                granted.setdefault(policy.name.split("-caller-invoke")[0], set()).update(
                    statement["Resource"]
                )
                # THEN every grant is conditioned on the URL's auth type or on invocation through a URL
                assert statement["Condition"] in (
                    {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
                    {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
                ), policy.name
    # AND the roles together reach every URL's function, each function through one system's role only
    reached = [arn for arns in granted.values() for arn in arns]
    assert sorted(reached) == sorted({functions[name] for name in url_functions})
    assert set(granted) == {"transform", "batch", "audit", "events"}


def test_primary_stack_grants_no_public_invoke(primary_stack: BuiltStack) -> None:
    # GIVEN the AWS stack, whose endpoints are API Gateway routes
    permissions = primary_stack.resources_of("aws:lambda/permission:Permission")
    # THEN no function may be invoked by anyone ("*") nor through a function URL
    assert [p.name for p in permissions if p.inputs["principal"] == "*"] == []
    assert not primary_stack.resources_of("aws:lambda/functionUrl:FunctionUrl")


def table_arn(stack: BuiltStack, logical_name: str) -> str:
    [table] = [t for t in stack.resources_of("aws:dynamodb/table:Table") if t.name == logical_name]
    return str(table.outputs["arn"])


def statements_of(stack: BuiltStack, component: str) -> list[dict[str, Any]]:
    """A function's statements besides logging and tracing (what its own work needs)."""
    policy = json.loads(stack.named(f"transform-{component}-policy").inputs["policy"])
    return [
        statement
        for statement in policy["Statement"]
        if not statement["Action"][0].startswith(("logs:", "xray:"))
    ]


def test_s3_may_invoke_the_validator_for_the_input_bucket_of_this_account_only(stack: BuiltStack) -> None:
    # GIVEN the validator's resource policy for S3
    validator = function_named(stack, "staged-upload")
    [permission] = [
        p
        for p in stack.resources_of("aws:lambda/permission:Permission", "transform-")
        if p.inputs["principal"] == "s3.amazonaws.com"
    ]
    # THEN it names the function, the input bucket and this account (a bucket name is no account's own)
    assert permission.inputs["function"] == validator.outputs["name"]
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == stack.named("transform-input-bucket").outputs["arn"]
    assert permission.inputs["sourceAccount"] == ACCOUNT_ID


def test_the_validator_may_move_staged_files_on_or_into_quarantine_and_nothing_else(
    stack: BuiltStack,
) -> None:
    # GIVEN the validator's role WHEN its statements are read
    inputs = stack.named("transform-input-bucket").outputs["arn"]
    statuses = table_arn(stack, "transform-status")
    rules = table_arn(stack, "transform-rules")
    topic = stack.named("transform-notifications").outputs["arn"]
    dlq = stack.named("transform-validator-dlq").outputs["arn"]
    # THEN it reads and removes staged files, writes uploads/ and quarantine/ (no delete there), creates
    # (a dropped file's) and updates status rows, reads rules, publishes outcomes, and sends its failures
    # to its own DLQ
    assert [(s["Action"], s["Resource"]) for s in statements_of(stack, "staged-upload")] == [
        (["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"], [f"{inputs}/incoming/*"]),
        (["s3:PutObject"], [f"{inputs}/uploads/*", f"{inputs}/quarantine/*"]),
        (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [statuses]),
        (["dynamodb:GetItem"], [rules]),
        (["sns:Publish"], [topic]),
        (["sqs:SendMessage"], [dlq]),
    ]


def test_the_upload_url_function_may_sign_for_staged_files_only(stack: BuiltStack) -> None:
    # GIVEN POST /uploads, whose presigned POST S3 authorizes as the function's role
    inputs = stack.named("transform-input-bucket").outputs["arn"]
    # THEN that role may put incoming/* objects and nothing else in S3, create rows and read rules
    assert [(s["Action"], s["Resource"]) for s in statements_of(stack, "upload-url")] == [
        (["s3:PutObject"], [f"{inputs}/incoming/*"]),
        (["dynamodb:PutItem"], [table_arn(stack, "transform-status")]),
        (["dynamodb:GetItem"], [table_arn(stack, "transform-rules")]),
    ]


def test_the_rules_function_only_scans_the_rules_table(stack: BuiltStack) -> None:
    assert [(s["Action"], s["Resource"]) for s in statements_of(stack, "rules-api")] == [
        (["dynamodb:Scan"], [table_arn(stack, "transform-rules")])
    ]


def test_the_validators_failures_land_in_an_alarmed_dlq_its_settler_consumes(stack: BuiltStack) -> None:
    # GIVEN the validator, which S3 invokes asynchronously
    validator = function_named(stack, "staged-upload")
    dlq = stack.named("transform-validator-dlq")
    # THEN what fails Lambda's retries goes to its own DLQ, kept 14 days
    assert validator.inputs["deadLetterConfig"] == {"targetArn": dlq.outputs["arn"]}
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    # AND the DLQ alarms on its first message
    alarms = [
        a
        for a in stack.resources_of("aws:cloudwatch/metricAlarm:MetricAlarm", "transform-")
        if a.inputs["dimensions"].get("QueueName") == dlq.outputs["name"]
    ]
    assert len(alarms) == 1
    # AND the dead-letter settler consumes it with partial batch failures, as it does the buffer's DLQ
    settler = function_named(stack, "dead-letters")
    mapping = stack.named("transform-validator-dead-letters-trigger")
    assert mapping.inputs["eventSourceArn"] == dlq.outputs["arn"]
    assert mapping.inputs["functionName"] == settler.outputs["name"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert dlq.inputs["visibilityTimeoutSeconds"] == 6 * settler.inputs["timeout"]
    consumer = [s for s in statements_of(stack, "dead-letters") if s["Resource"] == [dlq.outputs["arn"]]]
    assert [s["Action"] for s in consumer] == [
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    ]


def test_the_new_api_functions_reserve_the_api_concurrency_and_alarm_on_errors(stack: BuiltStack) -> None:
    reserved = float(stack.config.get("regionflow:transformApiConcurrency", "10"))
    alarm_topic = stack.named("transform-alarms").outputs["arn"]
    for component in ("upload-url", "rules-api", "staged-upload"):
        assert function_named(stack, component).inputs["reservedConcurrentExecutions"] == reserved
    for component in ("upload-url", "rules-api"):
        # GIVEN a function that answers people directly WHEN its alarms are looked up
        name = function_named(stack, component).outputs["name"]
        alarms = [
            a
            for a in stack.resources_of("aws:cloudwatch/metricAlarm:MetricAlarm", "transform-")
            if a.inputs["dimensions"].get("FunctionName") == name
        ]
        # THEN one fires on its errors, to the transform alarm topic
        assert [(a.inputs["metricName"], a.inputs["alarmActions"]) for a in alarms] == [
            ("Errors", [alarm_topic])
        ]


def test_the_upload_page_is_served_at_the_api_root_without_a_token_and_reads_no_data(
    primary_stack: BuiltStack,
) -> None:
    # GIVEN the production stack (HTTP API, the stack's own user pool)
    routes = {
        route.inputs["routeKey"]: route.inputs["authorizationType"]
        for route in primary_stack.resources_of(HTTP_ROUTE, "transform-")
    }
    # THEN the page and its assets are the API's only anonymous routes, every data route wants a token
    assert {key for key, authorization in routes.items() if authorization == "NONE"} == {
        "GET /",
        "GET /page/{asset}",
    }
    assert (
        routes["GET /uploads/{id}"]
        == routes["GET /rules"]
        == routes["POST /upload"]
        == routes["POST /uploads"]
        == "JWT"
    )
    # AND the page's function may do nothing but log: no statement beyond its log group
    assert statements_of(primary_stack, "upload-page") == []
    # AND it is exported where a person opens it: the API's root, with the slash its links resolve under
    assert primary_stack.exports["transformUploadPageUrl"].endswith("/")


def test_only_the_upload_pages_origin_may_post_to_the_input_bucket(primary_stack: BuiltStack) -> None:
    # GIVEN the production stack's upload page, served from the transform API's origin
    [cors] = primary_stack.resources_of(
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "transform-"
    )
    bucket = primary_stack.named("transform-input-bucket")
    page_url = primary_stack.exports["transformUploadPageUrl"]
    # THEN the input bucket (only) answers a browser's POST from that origin, and no other method
    assert cors.inputs["bucket"] == bucket.outputs["bucket"]
    [rule] = cors.inputs["corsRules"]
    assert rule["allowedMethods"] == ["POST"]
    assert rule["allowedOrigins"] == [page_url.rstrip("/")]


def test_no_page_and_no_cors_where_people_sign_with_iam(local_stack: BuiltStack) -> None:
    # GIVEN the LocalStack stack: function URLs, no user pool for a browser to sign in to
    # THEN there is no page, and the input bucket answers no browser
    assert local_stack.exports.get("transformUploadPageUrl") is None
    assert not local_stack.resources_of("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert not [f for f in local_stack.resources_of(FUNCTION) if "upload-page" in f.name]
