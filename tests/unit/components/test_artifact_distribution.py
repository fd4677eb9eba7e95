"""Guarantees about the ArtifactDistribution resource graph, for every stack file."""

from __future__ import annotations

import json

from localcloud.core.recording import BuiltStack, build_stack

FUNCTION = "aws:lambda/function:Function"


def regions_of(stack: BuiltStack) -> list[str]:
    return json.loads(stack.config["regionflow:regions"])


def function(stack: BuiltStack, role: str) -> dict:
    return stack.named(f"artifacts-{role}-function").inputs


def statements_of(stack: BuiltStack, role_policy: str) -> list[dict]:
    return json.loads(stack.named(role_policy).inputs["policy"])["Statement"]


def test_home_resources_are_in_the_first_region_and_one_bucket_and_sync_per_region(stack: BuiltStack) -> None:
    home, *others = regions_of(stack)
    for name in (
        "artifacts-global-bucket",
        "artifacts-builds-queue",
        "artifacts-api-api",
        "artifacts-file-distribution-machine",
        "artifacts-file-copy-tracking",
        "artifacts-host-deployment-logs",
    ):
        assert stack.named(name).region == home, name
    for region in [home, *others]:
        assert stack.named(f"artifacts-regional-{region}-bucket").region == region
        assert stack.named(f"artifacts-regional-sync-{region}-function").region == region
        assert stack.named(f"artifacts-regional-events-{region}").region == region
        assert stack.named(f"artifacts-async-dlq-{region}").region == region


def test_post_builds_validates_the_body_and_sends_straight_to_the_build_queue(stack: BuiltStack) -> None:
    method = stack.named("artifacts-api-post").inputs
    assert method["httpMethod"] == "POST" and method["authorization"] == "AWS_IAM"
    assert stack.named("artifacts-api-validator").inputs["validateRequestBody"] is True
    schema = json.loads(stack.named("artifacts-api-model").inputs["schema"])
    assert schema["required"] == ["commit"]
    assert schema["properties"]["commit"]["pattern"] == "^[0-9a-f]{4,64}$"
    integration = stack.named("artifacts-api-to-queue").inputs
    queue = stack.named("artifacts-builds-queue").outputs
    assert integration["type"] == "AWS"
    assert integration["uri"].endswith(f":sqs:path/{queue['arn'].split(':')[4]}/{queue['name']}")
    assert "Action=SendMessage" in integration["requestTemplates"]["application/json"]
    # AND the API's role may only send to that queue
    [statement] = statements_of(stack, "artifacts-api-send")
    assert statement == {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [queue["arn"]]}
    # AND an invalid body is answered 400 with a message naming the problem
    invalid = stack.named("artifacts-api-invalid-body").inputs
    assert (invalid["responseType"], invalid["statusCode"]) == ("BAD_REQUEST_BODY", "400")
    assert "validationErrorString" in invalid["responseTemplates"]["application/json"]


def test_build_queue_feeds_the_worker_with_partial_failures_and_a_dlq(stack: BuiltStack) -> None:
    queue = stack.named("artifacts-builds-queue")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.named("artifacts-builds-dlq").outputs["arn"]
    assert redrive["maxReceiveCount"] == int(stack.config["regionflow:artifactMaxReceiveCount"])
    mapping = stack.named("artifacts-build-trigger").inputs
    assert mapping["eventSourceArn"] == queue.outputs["arn"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["functionName"] == stack.named("artifacts-build-worker-function").outputs["name"]


def test_every_new_object_in_the_global_bucket_starts_the_replication_worker(stack: BuiltStack) -> None:
    # GIVEN the stack's default key filter (any key) WHEN deployed
    notification = stack.named("artifacts-global-events").inputs
    [target] = notification["lambdaFunctions"]
    # THEN every new object, a build or a file copied in, invokes the replication worker: no filter rule
    assert target["lambdaFunctionArn"] == stack.named("artifacts-replication-worker-function").outputs["arn"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert "filterPrefix" not in target and "filterSuffix" not in target
    permission = stack.named("artifacts-global-events-permission").inputs
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["sourceArn"] == stack.named("artifacts-global-bucket").outputs["arn"]


def test_replication_worker_targets_every_regional_bucket_and_only_starts_the_workflow(
    stack: BuiltStack,
) -> None:
    env = function(stack, "replication-worker")["environment"]["variables"]
    destinations = json.loads(env["DESTINATION_BUCKETS"])
    assert destinations == [
        {"bucket": stack.named(f"artifacts-regional-{region}-bucket").outputs["bucket"], "region": region}
        for region in regions_of(stack)
    ]
    machine_arn = stack.named("artifacts-file-distribution-machine").outputs["arn"]
    assert env["STATE_MACHINE_ARN"] == machine_arn
    actions = [s["Action"] for s in statements_of(stack, "artifacts-replication-worker-policy")]
    data_actions = [a for a in actions if not a[0].startswith(("logs:", "xray:"))]
    assert data_actions == [["states:StartExecution"], ["sqs:SendMessage"]]


def test_workflow_calls_its_three_functions_and_may_invoke_nothing_else(stack: BuiltStack) -> None:
    machine = stack.named("artifacts-file-distribution-machine").inputs
    definition = json.loads(machine["definition"])
    arns = {
        role: stack.named(f"artifacts-{role}-function").outputs["arn"]
        for role in ("validate-input", "copy-to-bucket", "process-results")
    }
    assert definition["States"]["Validate input"]["Parameters"]["FunctionName"] == arns["validate-input"]
    copy_state = definition["States"]["Copy to every regional bucket"]["ItemProcessor"]["States"][
        "Copy to bucket"
    ]
    assert copy_state["Parameters"]["FunctionName"] == arns["copy-to-bucket"]
    assert machine["type"] == "STANDARD"
    invoke = [
        s
        for s in statements_of(stack, "artifacts-file-distribution-policy")
        if s["Action"] == ["lambda:InvokeFunction"]
    ]
    assert invoke == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": list(arns.values())}
    ]


def test_an_accepted_build_request_names_the_key_its_build_will_have(stack: BuiltStack) -> None:
    # GIVEN the 202 answer POST /builds renders WHEN a request id is put in it
    template = stack.named("artifacts-api-accepted-response").inputs["responseTemplates"]["application/json"]
    answer = json.loads(
        template.replace("${context.requestId}", "4f1c-9a").replace("$context.requestId", "4f1c-9a")
    )
    # THEN it carries the build id and the global bucket key (the host log's build_id) built from it
    assert answer == {"buildId": "4f1c-9a", "status": "queued", "artifactKey": "build-4f1c-9a.zip"}


def test_copy_function_may_write_only_into_the_regional_buckets(stack: BuiltStack) -> None:
    writes = [
        s for s in statements_of(stack, "artifacts-copy-to-bucket-policy") if "s3:PutObject" in s["Action"]
    ]
    [statement] = writes
    assert statement["Resource"] == [
        stack.named(f"artifacts-regional-{region}-bucket").outputs["arn"] + "/*"
        for region in regions_of(stack)
    ]


def test_a_key_filter_narrows_the_notifications_the_iam_and_validate_input_alike() -> None:
    # GIVEN a stack that distributes releases/*.zip only
    stack = build_stack(
        "local",
        {
            "regionflow:artifactDistributionKeyPrefix": "releases/",
            "regionflow:artifactDistributionKeySuffix": ".zip",
        },
    )
    # THEN every bucket notification filters on both ends
    for notification in [stack.named("artifacts-global-events")] + [
        stack.named(f"artifacts-regional-events-{region}") for region in regions_of(stack)
    ]:
        [target] = notification.inputs["lambdaFunctions"]
        assert (target["filterPrefix"], target["filterSuffix"]) == ("releases/", ".zip")
    # AND the copy may write under the prefix only, and Validate input knows the filter
    [write] = [
        s for s in statements_of(stack, "artifacts-copy-to-bucket-policy") if "s3:PutObject" in s["Action"]
    ]
    assert all(resource.endswith("/releases/*") for resource in write["Resource"])
    env = function(stack, "validate-input")["environment"]["variables"]
    assert (env["KEY_PREFIX"], env["KEY_SUFFIX"]) == ("releases/", ".zip")


def test_tracking_and_host_log_tables_have_the_seeds_keys_and_the_build_index(stack: BuiltStack) -> None:
    tracking = stack.named("artifacts-file-copy-tracking").inputs
    assert (tracking["hashKey"], tracking["rangeKey"]) == ("fileKey", "sourceBucket")
    host_log = stack.named("artifacts-host-deployment-logs").inputs
    [index] = host_log["globalSecondaryIndexes"]
    assert (index["name"], index["hashKey"]) == ("build_id-index", "build_id")
    for table in (tracking, host_log):
        assert table["pointInTimeRecovery"]["enabled"] and table["serverSideEncryption"]["enabled"]


def test_regional_sync_writes_the_configured_host_count_into_the_home_host_log(stack: BuiltStack) -> None:
    home = regions_of(stack)[0]
    for region in regions_of(stack):
        env = function(stack, f"regional-sync-{region}")["environment"]["variables"]
        assert env["HOSTS_PER_REGION"] == stack.config["regionflow:artifactHostsPerRegion"]
        assert env["HOST_LOG_REGION"] == home
        assert env["HOST_LOG_TABLE"] == stack.named("artifacts-host-deployment-logs").outputs["name"]
        dlq = function(stack, f"regional-sync-{region}")["deadLetterConfig"]["targetArn"]
        assert dlq == stack.named(f"artifacts-async-dlq-{region}").outputs["arn"]
