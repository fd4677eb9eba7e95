"""Guarantees about BatchOrchestrator and the active-region signal, for every stack file."""

from __future__ import annotations

import fnmatch
import functools
import json
import runpy
from dataclasses import dataclass

import pulumi

from handlers.batch import contract
from localcloud.core.program import run_inline_program
from localcloud.core.recording import BuiltStack, RecordingMocks, build_stack
from localcloud.core.stack_files import PROJECT_DIR, load_stack_config

FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
BATCH_ORCHESTRATOR = "regionflow:batch:BatchOrchestrator"
BATCH_REGION = "regionflow:batch:BatchRegion"


def batch_regions(stack: BuiltStack) -> list[str]:
    return json.loads(stack.config["regionflow:regions"])[:2]


def statements_of(stack: BuiltStack, role_policy: str) -> list[dict]:
    return json.loads(stack.named(role_policy).inputs["policy"])["Statement"]


def grants(stack: BuiltStack, role_policy: str) -> set[tuple[str, str]]:
    return {
        (action, resource)
        for statement in statements_of(stack, role_policy)
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def test_every_processing_piece_is_deployed_in_both_regions(stack: BuiltStack) -> None:
    for region in batch_regions(stack):
        for role in (
            "trigger",
            "split-file",
            "validate-records",
            "enrich-records",
            "write-chunk",
            "merge-chunks",
            "email-link",
            "financials-api",
        ):
            assert stack.named(f"batch-{region}-{role}-function").region == region, (region, role)
        assert stack.named(f"batch-{region}-batch-workflow-machine").region == region
        assert stack.named(f"batch-{region}-dashboard").region == region


def test_the_batch_workflow_is_standard_and_runs_each_chunk_as_an_express_child(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    machine = stack.named(f"batch-{region}-batch-workflow-machine")
    assert machine.inputs["type"] == "STANDARD"
    definition = json.loads(machine.inputs["definition"])
    processor = definition["States"]["Process chunks"]["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    # its own region's chunk functions, which its role may invoke
    invoked = {
        state["Parameters"]["FunctionName"] for state in processor["States"].values() if "Parameters" in state
    }
    expected = {
        stack.named(f"batch-{region}-{role}-function").outputs["arn"]
        for role in ("validate-records", "enrich-records", "write-chunk")
    }
    assert invoked == expected
    role_grants = grants(stack, f"batch-{region}-batch-workflow-policy")
    assert expected <= {resource for action, resource in role_grants if action == "lambda:InvokeFunction"}
    # AND no other state machine is started or watched: the children are the workflow's own (self policy)
    assert not [action for action, _ in role_grants if action.startswith(("states:", "events:"))]
    assert definition["States"]["Process chunks"]["MaxConcurrency"] == int(
        stack.config["regionflow:batchMaxConcurrency"]
    )


def test_batch_max_concurrency_from_config_reaches_every_regions_distributed_map() -> None:
    # GIVEN a stack whose batchMaxConcurrency is neither the default (50) nor any stack file's value
    stack = build_stack("local", {"regionflow:batchMaxConcurrency": "7"})
    # THEN each region's Distributed Map runs at most 7 chunk executions at once
    for region in batch_regions(stack):
        definition = json.loads(stack.named(f"batch-{region}-batch-workflow-machine").inputs["definition"])
        assert definition["States"]["Process chunks"]["MaxConcurrency"] == 7


def test_batch_state_is_a_global_table_with_a_status_index_and_pitr(stack: BuiltStack) -> None:
    primary, secondary = batch_regions(stack)
    for role in ("batch-state", "errors", "financials"):
        table = stack.named(f"batch-{role}").inputs
        assert table["region"] == primary
        assert [replica["regionName"] for replica in table["replicas"]] == [secondary]
        assert table["pointInTimeRecovery"]["enabled"] is True
        assert table["serverSideEncryption"]["enabled"] is True
        assert table["billingMode"] == "PAY_PER_REQUEST"
        assert table["streamEnabled"] is True  # global tables replicate through the stream
    state = stack.named("batch-batch-state").inputs
    assert state["hashKey"] == "fileKey"
    [index] = state["globalSecondaryIndexes"]
    assert (index["name"], index["hashKey"]) == ("status-index", "status")


def test_buckets_replicate_inputs_and_outputs_both_ways(stack: BuiltStack) -> None:
    primary, secondary = batch_regions(stack)
    primary_bucket = stack.named("batch-data-primary-bucket")
    secondary_bucket = stack.named("batch-data-secondary-bucket")
    assert (primary_bucket.region, secondary_bucket.region) == (primary, secondary)
    for direction, source, destination in (
        ("to-secondary", primary_bucket, secondary_bucket),
        ("to-primary", secondary_bucket, primary_bucket),
    ):
        replication = stack.named(f"batch-data-{direction}").inputs
        assert replication["bucket"] == source.outputs["bucket"]
        assert {rule["filter"]["prefix"] for rule in replication["rules"]} == {"input/", "output/"}
        assert {rule["destination"]["bucket"] for rule in replication["rules"]} == {
            destination.outputs["arn"]
        }


def test_rtc_and_multi_region_access_point_follow_the_stack_config(stack: BuiltStack) -> None:
    rtc = stack.config["regionflow:batchReplicationTimeControl"] == "true"
    mrap = stack.config["regionflow:batchMultiRegionAccessPoint"] == "true"
    rules = stack.named("batch-data-to-secondary").inputs["rules"]
    assert all(("replicationTime" in rule["destination"]) is rtc for rule in rules)
    access_points = stack.resources_of(
        "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint", "batch-"
    )
    assert len(access_points) == int(mrap)
    email_env = stack.named(f"batch-{batch_regions(stack)[0]}-email-link-function").inputs["environment"]
    assert ("ACCESS_POINT_ARN" in email_env["variables"]) is mrap


def test_aws_stack_uses_rtc_and_the_access_point_and_local_stack_does_not(
    primary_stack: BuiltStack, local_stack: BuiltStack
) -> None:
    # LocalStack Community has neither: the local stack switches them off by config.
    assert primary_stack.resources_of("aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint")
    assert not local_stack.resources_of("aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint")


def test_only_csv_uploads_under_input_trigger_each_regions_function(stack: BuiltStack) -> None:
    for region, bucket_role in zip(batch_regions(stack), ("primary", "secondary"), strict=True):
        notification = stack.named(f"batch-{region}-input-events").inputs
        assert notification["region"] == region
        assert notification["bucket"] == stack.named(f"batch-data-{bucket_role}-bucket").outputs["bucket"]
        [target] = notification["lambdaFunctions"]
        assert target["lambdaFunctionArn"] == stack.named(f"batch-{region}-trigger-function").outputs["arn"]
        assert (target["filterPrefix"], target["filterSuffix"]) == ("input/", ".csv")


def test_trigger_reads_the_active_region_record_and_starts_only_its_regions_workflow(
    stack: BuiltStack,
) -> None:
    region = batch_regions(stack)[1]
    trigger = grants(stack, f"batch-{region}-trigger-policy")
    workflow_arn = stack.named(f"batch-{region}-batch-workflow-machine").outputs["arn"]
    assert signal_read_grants(stack) <= trigger
    assert ("states:StartExecution", workflow_arn) in trigger
    state_table = stack.named("batch-batch-state").outputs["arn"].replace(batch_regions(stack)[0], region)
    assert ("dynamodb:PutItem", state_table) in trigger  # its own region's replica
    env = stack.named(f"batch-{region}-trigger-function").inputs["environment"]["variables"]
    assert env["ACTIVE_REGION_RECORD_NAME"] == stack.exports["activeRegionRecordName"]
    assert env["ACTIVE_REGION_CACHE_SECONDS"] == stack.config["regionflow:activeRegionTtlSeconds"]


def signal_read_grants(stack: BuiltStack) -> set[tuple[str, str]]:
    """What reading the active region takes: routing control states where ARC drives it, else the record."""
    controls = stack.exports["activeRegionRoutingControls"]
    if controls:
        return {("route53-recovery-cluster:GetRoutingControlState", arn) for arn in controls.values()}
    return {("route53:ListResourceRecordSets", stack.named("failover-zone").outputs["arn"])}


def test_chunk_steps_touch_only_their_prefixes(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    bucket = stack.named("batch-data-primary-bucket").outputs["arn"]
    validate = grants(stack, f"batch-{region}-validate-records-policy")
    assert ("s3:GetObject", f"{bucket}/chunks/*") in validate
    assert ("s3:PutObject", f"{bucket}/work/*/valid/*") in validate
    assert not {
        g for g in validate if g[1].startswith(f"{bucket}/input/") or g[1].startswith(f"{bucket}/output/")
    }
    # Each step reads only the stage before it and writes only its own: enrich cannot overwrite the
    # valid rows it reads, write cannot read what validate wrote.
    enrich = grants(stack, f"batch-{region}-enrich-records-policy")
    assert {g for g in enrich if g[0].startswith("s3:")} == {
        ("s3:GetObject", f"{bucket}/work/*/valid/*"),
        ("s3:PutObject", f"{bucket}/work/*/enriched/*"),
    }
    write = grants(stack, f"batch-{region}-write-chunk-policy")
    assert ("s3:GetObject", f"{bucket}/work/*/enriched/*") in write
    assert ("s3:PutObject", f"{bucket}/processed/*") in write
    # AND the patterns match the keys the handlers use (IAM's * spans slashes, as fnmatch's does)
    assert fnmatch.fnmatchcase(contract.valid_key("f1", "part-00001"), contract.VALID_FILES + "*")
    assert fnmatch.fnmatchcase(contract.enriched_key("f1", "part-00001"), contract.ENRICHED_FILES + "*")
    assert not fnmatch.fnmatchcase(contract.enriched_key("f1", "part-00001"), contract.VALID_FILES + "*")
    merge = grants(stack, f"batch-{region}-merge-chunks-policy")
    assert ("s3:PutObject", f"{bucket}/output/*") in merge
    assert not {g for g in merge if g[0] == "s3:PutObject" and not g[1].endswith("/output/*")}


def test_email_step_sends_only_as_the_configured_identity(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    identity = stack.named(f"batch-{region}-sender")
    assert identity.inputs["emailIdentity"] == stack.config["regionflow:batchSenderEmail"]
    assert ("ses:SendEmail", identity.outputs["arn"]) in grants(stack, f"batch-{region}-email-link-policy")
    env = stack.named(f"batch-{region}-email-link-function").inputs["environment"]["variables"]
    assert json.loads(env["RECIPIENT_EMAILS"]) == json.loads(stack.config["regionflow:batchRecipientEmails"])


def test_distributed_map_may_run_its_own_children_and_watch_them(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    machine = stack.named(f"batch-{region}-batch-workflow-machine").outputs["arn"]
    own = grants(stack, f"batch-{region}-batch-workflow-self-policy")
    assert ("states:StartExecution", machine) in own
    # Step Functions names a Distributed Map's children execution:<machine>/<map run label>:<id>
    # (AWS's "IAM policies for using Distributed Map states"); the map is labelled "Chunks".
    machine_name = machine.rsplit(":", 1)[1]
    child = f"arn:aws:states:{region}:123456789012:execution:{machine_name}/Chunks:0b6a7c3e-1f"
    described = [resource for action, resource in own if action == "states:DescribeExecution"]
    stopped = [resource for action, resource in own if action == "states:StopExecution"]
    assert described == stopped == [f"arn:aws:states:{region}:123456789012:execution:{machine_name}/Chunks:*"]
    assert fnmatch.fnmatchcase(child, described[0])


def test_failed_executions_raise_alarms_to_an_encrypted_topic_cloudwatch_can_use(stack: BuiltStack) -> None:
    for region in batch_regions(stack):
        alarm = stack.named(f"batch-{region}-batch-workflow-failed").inputs
        assert alarm["metricName"] == "ExecutionsFailed" and alarm["namespace"] == "AWS/States"
        assert (
            alarm["dimensions"]["StateMachineArn"]
            == (stack.named(f"batch-{region}-batch-workflow-machine").outputs["arn"])
        )
        assert alarm["alarmActions"] == [stack.named(f"batch-{region}-alarms").outputs["arn"]]
        topic = stack.named(f"batch-{region}-alarms").inputs
        key = stack.named(f"batch-{region}-alarm-key")
        assert topic["kmsMasterKeyId"] == key.outputs["arn"]  # not alias/aws/sns: alarms cannot use it
        principals = [s["Principal"] for s in json.loads(key.inputs["policy"])["Statement"]]
        assert {"Service": "cloudwatch.amazonaws.com"} in principals


def test_dashboard_shows_files_chunk_rows_and_the_workflows_executions(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    body = json.loads(stack.named(f"batch-{region}-dashboard").inputs["dashboardBody"])
    metrics = {tuple(m[:2]) for w in body["widgets"] for m in w["properties"]["metrics"]}
    for metric in (
        "FilesSplit",
        "FilesProcessed",
        "ReconciledFiles",
        "ValidRows",
        "InvalidRows",
        "MissingFinancials",
        "RowsWritten",
    ):
        assert ("regionflow", metric) in metrics
    arns = {m[3] for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "AWS/States"}
    assert arns == {stack.named(f"batch-{region}-batch-workflow-machine").outputs["arn"]}


def test_working_files_expire_and_inputs_outputs_do_not(stack: BuiltStack) -> None:
    rules = stack.named("batch-data-primary-lifecycle").inputs["rules"]
    expiring = {r["filter"]["prefix"] for r in rules if "expiration" in r}
    assert expiring == {"chunks/", "manifests/", "work/", "processed/"}


@dataclass(frozen=True)
class Constructed:
    typ: str
    name: str
    resource: pulumi.Resource
    opts: pulumi.ResourceOptions  # as the program passed them: parent, aliases, ...


@functools.cache
def constructed(stack: str) -> list[Constructed]:
    """Every resource of the program with the options it was constructed with, under recording mocks."""
    found: list[Constructed] = []

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        found.append(Constructed(args.type_, args.name, args.resource, args.opts))

    def program() -> None:
        pulumi.runtime.register_stack_transformation(record)
        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

    run_inline_program(RecordingMocks(), program, stack=stack, config=load_stack_config(stack))
    return found


def test_each_region_is_built_by_its_own_batch_region_inside_the_orchestrator() -> None:
    # GIVEN the local stack's program as constructed
    resources = constructed("local")
    [orchestrator] = [r for r in resources if r.typ == BATCH_ORCHESTRATOR]
    # THEN one BatchRegion per batch region, a child of the orchestrator, holds that region's resources
    regions = [r for r in resources if r.typ == BATCH_REGION]
    assert sorted(r.name for r in regions) == sorted(
        f"batch-{region}" for region in batch_regions(build_stack("local"))
    )
    assert all(r.opts.parent is orchestrator.resource for r in regions)
    for region in regions:
        children = {r.name for r in resources if r.opts.parent is region.resource}
        assert {
            f"{region.name}-trigger",
            f"{region.name}-batch-workflow",
            f"{region.name}-dashboard",
        } <= children


def test_resources_moved_into_a_batch_region_keep_their_urn_under_the_orchestrator_as_an_alias() -> None:
    # GIVEN the local stack's program as constructed
    resources = constructed("local")
    [orchestrator] = [r for r in resources if r.typ == BATCH_ORCHESTRATOR]
    regions = [r.resource for r in resources if r.typ == BATCH_REGION]
    # WHEN a resource sits directly in a BatchRegion (issue 14 moved it there from the orchestrator)
    moved = [r for r in resources if any(r.opts.parent is region for region in regions)]
    assert {"aws:cloudwatch/dashboard:Dashboard", "regionflow:compute:Function"} <= {r.typ for r in moved}
    # THEN it names the orchestrator as its former parent, so its URN from before the move is an alias and
    # existing stacks update it in place (resources inside a moved component inherit the alias)
    for resource in moved:
        aliases = resource.opts.aliases or []
        assert any(
            isinstance(alias, pulumi.Alias) and alias.parent is orchestrator.resource for alias in aliases
        ), resource.name
