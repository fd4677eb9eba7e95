"""Guarantees about FailoverControl (the active-region signal) and FailoverRunbook, for every stack file.

ARC and SSM Automation exist only where the stack asks for them (the primary stack: AWS); the local stack
works without them, on a plain TXT record the runbook rewrites.
"""

from __future__ import annotations

import json

import pytest

from localcloud.core.recording import BuiltStack
from tests.unit.components.test_batch_orchestrator import batch_regions, grants, signal_read_grants

ARC_TYPES = (
    "aws:route53recoverycontrol/cluster:Cluster",
    "aws:route53recoverycontrol/controlPanel:ControlPanel",
    "aws:route53recoverycontrol/routingControl:RoutingControl",
    "aws:route53recoverycontrol/safetyRule:SafetyRule",
)


def uses_recovery_control(stack: BuiltStack) -> bool:
    return stack.config.get("regionflow:activeRegionRecoveryControl") == "true"


def test_the_zone_is_private_to_both_batch_regions(stack: BuiltStack) -> None:
    zone = stack.named("failover-zone").inputs
    assert zone["name"] == stack.config["regionflow:activeRegionZoneName"]
    assert {vpc["vpcRegion"] for vpc in zone["vpcs"]} == set(batch_regions(stack))


def test_local_stack_writes_a_plain_record_starting_at_the_primary_and_has_no_arc_or_ssm(
    local_stack: BuiltStack,
) -> None:
    primary, _ = batch_regions(local_stack)
    record = local_stack.named("failover-active-region").inputs
    assert (record["type"], record["records"]) == ("TXT", [primary])
    assert record["ttl"] == int(local_stack.config["regionflow:activeRegionTtlSeconds"])
    for typ in (*ARC_TYPES, "aws:ssm/document:Document", "aws:route53/healthCheck:HealthCheck"):
        assert local_stack.resources_of(typ) == [], typ


def test_primary_stack_drives_the_record_with_one_routing_control_per_region(
    primary_stack: BuiltStack,
) -> None:
    primary, secondary = batch_regions(primary_stack)
    assert uses_recovery_control(primary_stack)
    cluster = primary_stack.named("failover-cluster")
    panel = primary_stack.named("failover-control-panel")
    assert panel.inputs["clusterArn"] == cluster.outputs["arn"]
    controls = {region: primary_stack.named(f"failover-control-{region}") for region in (primary, secondary)}
    assert all(control.inputs["controlPanelArn"] == panel.outputs["arn"] for control in controls.values())
    assert primary_stack.exports["activeRegionRoutingControls"] == {
        region: control.outputs["arn"] for region, control in controls.items()
    }
    # AND the two records are a failover pair, each healthy only while its region's control is On
    for region, role in ((primary, "PRIMARY"), (secondary, "SECONDARY")):
        record = primary_stack.named(f"failover-active-region-{region}").inputs
        health = primary_stack.named(f"failover-health-{region}")
        assert (record["type"], record["records"], record["setIdentifier"]) == ("TXT", [region], region)
        assert record["failoverRoutingPolicies"] == [{"type": role}]
        assert record["healthCheckId"] == f"{health.name}-id"  # the mocks' id for it
        assert (health.inputs["type"], health.inputs["routingControlArn"]) == (
            "RECOVERY_CONTROL",
            controls[region].outputs["arn"],
        )


def test_the_cluster_endpoints_are_exported_for_operators_and_readers(
    primary_stack: BuiltStack, local_stack: BuiltStack
) -> None:
    # GIVEN the ARC stack WHEN its outputs are read THEN they list the cluster's endpoints as DescribeCluster
    # does (what `aws route53-recovery-cluster --endpoint-url` and the functions' readers need)
    cluster = primary_stack.named("failover-cluster").outputs
    expected = [
        {"Endpoint": endpoint["endpoint"], "Region": endpoint["region"]}
        for endpoint in cluster["clusterEndpoints"]
    ]
    assert len(expected) == 5
    assert primary_stack.exports["activeRegionClusterEndpoints"] == expected
    # AND a stack without ARC exports none
    assert local_stack.exports["activeRegionClusterEndpoints"] == []


def test_the_safety_rule_never_lets_every_region_be_off(primary_stack: BuiltStack) -> None:
    rule = primary_stack.named("failover-at-least-one-active").inputs
    assert rule["ruleConfig"] == {"inverted": False, "threshold": 1, "type": "ATLEAST"}
    assert sorted(rule["assertedControls"]) == sorted(
        primary_stack.exports["activeRegionRoutingControls"].values()
    )


def test_each_region_has_its_own_standard_runbook_calling_its_own_functions(stack: BuiltStack) -> None:
    # the wait covers replication and the expiry of every reader's cached signal
    wait = max(
        int(stack.config["regionflow:failoverReplicationWaitSeconds"]),
        int(stack.config["regionflow:activeRegionTtlSeconds"]),
    )
    for region in batch_regions(stack):
        machine = stack.named(f"failover-runbook-{region}-runbook-machine")
        assert (machine.region, machine.inputs["type"]) == (region, "STANDARD")
        definition = json.loads(machine.inputs["definition"])
        states = definition["States"]
        for state, function in (
            ("Read active region", "read-active-region"),
            ("Activate region", "activate-region"),
            ("Reconcile unfinished files", "reconcile"),
        ):
            arn = stack.named(f"failover-runbook-{region}-{function}-function").outputs["arn"]
            assert states[state]["Parameters"]["FunctionName"] == arn
            assert f":{region}:" in arn
        assert states["Activate region"]["Parameters"]["Payload"] == {"targetRegion": region}
        assert states["Wait for replication"]["Seconds"] == wait
        assert stack.exports["failoverRunbookArns"][region] == machine.outputs["arn"]


def test_the_local_stack_waits_seconds_for_replication_and_aws_the_rtc_sla(
    local_stack: BuiltStack, primary_stack: BuiltStack
) -> None:
    assert int(local_stack.config["regionflow:failoverReplicationWaitSeconds"]) <= 60
    assert int(primary_stack.config["regionflow:failoverReplicationWaitSeconds"]) == 15 * 60


def test_activation_may_change_only_the_signal(stack: BuiltStack) -> None:
    region = batch_regions(stack)[1]
    policy = json.loads(stack.named(f"failover-runbook-{region}-activate-region-policy").inputs["policy"])
    changes = [s for s in policy["Statement"] if any("Change" in a or "Update" in a for a in s["Action"])]
    if uses_recovery_control(stack):
        controls = set(stack.exports["activeRegionRoutingControls"].values())
        assert all(set(s["Resource"]) == controls for s in changes)
        assert {a for s in changes for a in s["Action"]} >= {
            "route53-recovery-cluster:UpdateRoutingControlStates"
        }
    else:
        [change] = changes
        assert change["Action"] == ["route53:ChangeResourceRecordSets"]
        assert change["Resource"] == [stack.named("failover-zone").outputs["arn"]]
        # only the active-region TXT record, only upserted
        condition = change["Condition"]["ForAllValues:StringEquals"]
        assert condition["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
            stack.exports["activeRegionRecordName"]
        ]
        assert condition["route53:ChangeResourceRecordSetsRecordTypes"] == ["TXT"]
    # AND it reads the signal back the way the trigger does
    assert signal_read_grants(stack) <= grants(stack, f"failover-runbook-{region}-activate-region-policy")


def test_reconciliation_touches_only_its_regions_bucket_input_and_the_state_table(stack: BuiltStack) -> None:
    primary, secondary = batch_regions(stack)
    bucket = stack.named("batch-data-secondary-bucket").outputs["arn"]
    table = stack.named("batch-batch-state").outputs["arn"].replace(f":{primary}:", f":{secondary}:")
    reconcile = grants(stack, f"failover-runbook-{secondary}-reconcile-policy")
    assert {
        ("dynamodb:Query", f"{table}/index/status-index"),
        ("dynamodb:UpdateItem", table),
        ("s3:ListBucketVersions", bucket),
        ("s3:GetObjectVersion", f"{bucket}/input/*"),
        ("s3:PutObject", f"{bucket}/input/*"),
    } <= reconcile
    s3_resources = {resource for action, resource in reconcile if action.startswith("s3:")}
    assert s3_resources <= {bucket, f"{bucket}/input/*"}
    env = stack.named(f"failover-runbook-{secondary}-reconcile-function").inputs["environment"]["variables"]
    assert env["BUCKET"] == stack.exports["batchBuckets"][secondary]
    assert env["BATCH_STATE_TABLE"] == stack.exports["batchStateTable"]


def test_runbook_functions_read_arc_where_arc_drives_the_signal(stack: BuiltStack) -> None:
    region = batch_regions(stack)[0]
    env = stack.named(f"failover-runbook-{region}-activate-region-function").inputs["environment"][
        "variables"
    ]
    assert json.loads(env["ACTIVE_REGION_REGIONS"]) == batch_regions(stack)
    if uses_recovery_control(stack):
        assert (
            json.loads(env["ACTIVE_REGION_ROUTING_CONTROLS"]) == stack.exports["activeRegionRoutingControls"]
        )
        endpoints = json.loads(env["ACTIVE_REGION_CLUSTER_ENDPOINTS"])
        assert len(endpoints) == 5 and all(e["Endpoint"].startswith("https://") for e in endpoints)
    else:
        assert "ACTIVE_REGION_ROUTING_CONTROLS" not in env


@pytest.mark.parametrize("position", [0, 1])
def test_ssm_automation_starts_and_awaits_its_regions_runbook_on_aws(
    primary_stack: BuiltStack, position: int
) -> None:
    region = batch_regions(primary_stack)[position]
    document = primary_stack.named(f"failover-runbook-{region}-automation")
    assert (document.region, document.inputs["documentType"]) == (region, "Automation")
    content = json.loads(document.inputs["content"])
    runbook_arn = primary_stack.exports["failoverRunbookArns"][region]
    start, wait, check = content["mainSteps"]
    assert (start["action"], start["inputs"]["Api"], start["inputs"]["stateMachineArn"]) == (
        "aws:executeAwsApi",
        "StartExecution",
        runbook_arn,
    )
    assert wait["action"] == "aws:waitForAwsResourceProperty"
    assert check["inputs"]["DesiredValues"] == ["SUCCEEDED"]
    # AND its role may start only that runbook
    role = grants(primary_stack, f"failover-runbook-{region}-automation-policy")
    assert ("states:StartExecution", runbook_arn) in role
    assert {resource for _, resource in role} <= {
        runbook_arn,
        runbook_arn.replace(":stateMachine:", ":execution:") + ":*",
    }
    assert primary_stack.exports["failoverAutomationDocuments"][region] == document.outputs["name"]


DATA_PLANE = ("split-file", "validate-records", "enrich-records", "write-chunk", "merge-chunks")


def test_chaos_is_off_unless_asked_for(stack: BuiltStack) -> None:
    assert stack.resources_of("aws:fis/experimentTemplate:ExperimentTemplate") == []
    assert stack.resources_of("aws:ec2/subnet:Subnet", "batch-") == []
    for region in batch_regions(stack):
        assert stack.named(f"batch-{region}-validate-records-function").inputs.get("vpcConfig") is None


def test_with_chaos_the_data_plane_runs_in_private_subnets_reaching_only_s3_and_dynamodb(
    chaos_stack: BuiltStack,
) -> None:
    for region in batch_regions(chaos_stack):
        subnets = chaos_stack.resources_of("aws:ec2/subnet:Subnet", f"batch-network-{region}-")
        assert len(subnets) == 2 and all(s.region == region for s in subnets)
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
        assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
        # only gateway endpoints lead out: no internet or NAT route
        endpoints = chaos_stack.resources_of("aws:ec2/vpcEndpoint:VpcEndpoint", f"batch-network-{region}-")
        assert {(e.inputs["serviceName"], e.inputs["vpcEndpointType"]) for e in endpoints} == {
            (f"com.amazonaws.{region}.s3", "Gateway"),
            (f"com.amazonaws.{region}.dynamodb", "Gateway"),
        }
        assert chaos_stack.resources_of("aws:ec2/route:Route") == []
        assert chaos_stack.resources_of("aws:ec2/natGateway:NatGateway") == []
        subnet_ids = sorted(f"{s.name}-id" for s in subnets)
        for role in DATA_PLANE:
            vpc = chaos_stack.named(f"batch-{region}-{role}-function").inputs["vpcConfig"]
            assert sorted(vpc["subnetIds"]) == subnet_ids, role
        # AND what needs other services stays outside (no NAT: SES, Step Functions, Route 53)
        for role in ("trigger", "email-link", "financials-api"):
            assert chaos_stack.named(f"batch-{region}-{role}-function").inputs.get("vpcConfig") is None


def test_the_fis_template_cuts_the_private_subnets_off_s3_and_dynamodb_until_the_other_region_fails(
    chaos_stack: BuiltStack,
) -> None:
    primary, secondary = batch_regions(chaos_stack)
    template = chaos_stack.named(f"batch-chaos-{primary}-template")
    assert template.region == primary
    actions = template.inputs["actions"]
    assert {a["actionId"] for a in actions} == {"aws:network:disrupt-connectivity"}
    assert sorted(p["value"] for a in actions for p in a["parameters"] if p["key"] == "scope") == [
        "dynamodb",
        "s3",
    ]
    [target] = template.inputs["targets"]
    subnets = chaos_stack.resources_of("aws:ec2/subnet:Subnet", f"batch-network-{primary}-")
    assert sorted(target["resourceArns"]) == sorted(s.outputs["arn"] for s in subnets)
    [stop] = template.inputs["stopConditions"]
    assert stop["source"] == "aws:cloudwatch:alarm"
    assert stop["value"] == chaos_stack.named(f"batch-{secondary}-batch-workflow-failed").outputs["arn"]
    assert template.inputs["tags"] == {"Name": "MultiRegionBatchChaosTemplate"}
