"""Guarantees about AuditIngest: the claim-check store, its network, and who may touch what.

The primary stack (AWS) gets an ElastiCache replication group in private subnets; the local stack names a
Redis endpoint in config (LocalStack has no ElastiCache) and builds no network at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.audit_ingest import INTERFACE_SERVICES, REDIS_PORT, AuditIngest, AuditIngestArgs
from components.lambda_packaging import LambdaPackaging
from components.shared_settings import SharedSettings
from localcloud.core.program import run_inline_program
from localcloud.core.recording import BuiltStack, RecordedResource, RecordingMocks
from tests.unit.components.test_batch_orchestrator import grants

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
REDIS_FUNCTIONS = ("audit-ingest-api", "audit-archive", "audit-aggregate", "audit-ingest-failure")


def replication_group(stack: BuiltStack) -> dict[str, Any]:
    [group] = stack.resources_of(REPLICATION_GROUP, "audit-")
    return group.inputs


def environment(stack: BuiltStack, function: str) -> dict[str, str]:
    variables: dict[str, str] = stack.named(f"{function}-function").inputs["environment"]["variables"]
    return variables


def test_redis_is_multi_az_with_the_configured_replicas_and_automatic_failover(
    primary_stack: BuiltStack,
) -> None:
    group = replication_group(primary_stack)
    replicas = int(primary_stack.config.get("regionflow:auditRedisReplicas", "1"))
    assert replicas >= 1
    assert group["numCacheClusters"] == 1 + replicas
    assert group["multiAzEnabled"] is True
    assert group["automaticFailoverEnabled"] is True
    assert group["engine"] in {"redis", "valkey"}


def test_redis_encrypts_in_transit_and_at_rest_and_requires_the_generated_auth_token(
    primary_stack: BuiltStack,
) -> None:
    group = replication_group(primary_stack)
    assert group["transitEncryptionEnabled"] is True
    assert group["atRestEncryptionEnabled"] is True
    # THEN the token is the generated password, stored in Secrets Manager
    generated = primary_stack.named("audit-redis-auth-token").outputs["result"]
    stored = primary_stack.named("audit-redis-auth-value").inputs["secretString"]
    token = stored["value"] if isinstance(stored, dict) else stored
    assert token == generated
    assert group["authToken"] in (token, {**stored})


def test_redis_auth_token_is_a_stateful_password_no_data_source_generates_a_secret(
    primary_stack: BuiltStack,
) -> None:
    # GIVEN the AWS stack: a data source would return a new value on every preview/up, rolling the
    # secret version and the group's auth_token while functions cache the old one
    password = primary_stack.named("audit-redis-auth-token")
    # THEN the token is pulumi-random's RandomPassword, kept in the stack's state, of a length and alphabet
    # ElastiCache accepts (16-128 characters, no @ " /)
    assert password.typ == "random:index/randomPassword:RandomPassword"
    assert 16 <= password.inputs["length"] <= 128
    assert password.inputs["special"] is False
    # AND the program calls no data source that generates a secret
    assert [
        token for token in primary_stack.invokes if "random" in token.lower() or "password" in token.lower()
    ] == []


def test_no_function_sees_the_auth_token_only_the_secret_arn(primary_stack: BuiltStack) -> None:
    stored = primary_stack.named("audit-redis-auth-value").inputs["secretString"]
    token = stored["value"] if isinstance(stored, dict) else stored
    secret_arn = primary_stack.named("audit-redis-auth").outputs["arn"]
    for function in REDIS_FUNCTIONS:
        env = environment(primary_stack, function)
        assert token not in env.values(), function
        assert env["REDIS_AUTH_SECRET_ARN"] == secret_arn, function
        assert env["REDIS_TLS"] == "true", function
        assert (
            env["REDIS_HOST"]
            == primary_stack.resources_of(REPLICATION_GROUP)[0].outputs["primaryEndpointAddress"]
        )
        assert ("secretsmanager:GetSecretValue", secret_arn) in grants(primary_stack, f"{function}-policy")


def test_redis_lives_in_the_private_subnets_behind_its_own_security_group(primary_stack: BuiltStack) -> None:
    group = replication_group(primary_stack)
    subnets = primary_stack.resources_of("aws:ec2/subnet:Subnet", "audit-network-")
    assert len(subnets) == 2
    assert {s.inputs["availabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b"}
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    subnet_group = primary_stack.named("audit-redis-subnets")
    assert sorted(subnet_group.inputs["subnetIds"]) == sorted(f"{s.name}-id" for s in subnets)
    assert group["subnetGroupName"] == subnet_group.outputs["name"]
    assert group["securityGroupIds"] == ["audit-redis-id"]


def test_only_the_functions_security_group_reaches_redis_and_only_on_its_port(
    primary_stack: BuiltStack,
) -> None:
    ingress = [
        rule.inputs
        for rule in primary_stack.resources_of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.inputs["securityGroupId"] == "audit-redis-id"
    ]
    assert ingress == [
        {
            "referencedSecurityGroupId": "audit-network-functions-id",
            "ipProtocol": "tcp",
            "fromPort": REDIS_PORT,
            "toPort": REDIS_PORT,
            "securityGroupId": "audit-redis-id",
            "region": "us-east-1",
        }
    ]
    # AND no group of the audit VPC is open to an address range
    for kind in ("Ingress", "Egress"):
        for rule in primary_stack.resources_of(
            f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule", "audit"
        ):
            assert "cidrIpv4" not in rule.inputs, rule.name
    for group in primary_stack.resources_of("aws:ec2/securityGroup:SecurityGroup", "audit"):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name


def test_redis_functions_run_in_the_private_subnets_and_reach_aws_through_endpoints(
    primary_stack: BuiltStack,
) -> None:
    subnet_ids = sorted(f"{s.name}-id" for s in primary_stack.resources_of("aws:ec2/subnet:Subnet", "audit-"))
    for function in REDIS_FUNCTIONS:
        vpc = primary_stack.named(f"{function}-function").inputs["vpcConfig"]
        assert sorted(vpc["subnetIds"]) == subnet_ids, function
        assert vpc["securityGroupIds"] == ["audit-network-functions-id"], function
    # The metadata step only writes DynamoDB: it stays out of the VPC (no ENI cold start)
    assert primary_stack.named("audit-metadata-function").inputs.get("vpcConfig") is None
    endpoints = {
        e.inputs["serviceName"].rsplit(".", 1)[1]: e.inputs
        for e in primary_stack.resources_of("aws:ec2/vpcEndpoint:VpcEndpoint", "audit-")
    }
    assert set(endpoints) == {"s3", "dynamodb", *INTERFACE_SERVICES}
    for service in INTERFACE_SERVICES:
        assert endpoints[service]["vpcEndpointType"] == "Interface"
        assert endpoints[service]["privateDnsEnabled"] is True
    # AND nothing leads to the internet
    assert primary_stack.resources_of("aws:ec2/internetGateway:InternetGateway", "audit") == []
    assert primary_stack.resources_of("aws:ec2/natGateway:NatGateway", "audit") == []
    assert primary_stack.resources_of("aws:ec2/route:Route", "audit") == []


def test_local_stack_uses_the_configured_redis_endpoint_without_tls_or_network(
    local_stack: BuiltStack,
) -> None:
    host, port = local_stack.config["regionflow:auditRedisEndpoint"].rsplit(":", 1)
    assert local_stack.resources_of(REPLICATION_GROUP) == []
    assert local_stack.resources_of("aws:ec2/vpc:Vpc", "audit") == []
    for function in REDIS_FUNCTIONS:
        env = environment(local_stack, function)
        assert (env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_TLS"]) == (host, port, "false"), function
        assert "REDIS_AUTH_SECRET_ARN" not in env
        assert local_stack.named(f"{function}-function").inputs.get("vpcConfig") is None


def test_stores_are_encrypted_and_the_archive_is_private(stack: BuiltStack) -> None:
    for table in ("audit-metadata-table", "audit-idempotency"):
        assert stack.named(table).inputs["serverSideEncryption"] == {"enabled": True}, table
    assert stack.named("audit-metadata-table").inputs["pointInTimeRecovery"] == {"enabled": True}
    assert stack.named("audit-idempotency").inputs["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert stack.named("audit-dlq").inputs["sqsManagedSseEnabled"] is True
    block = stack.named("audit-archive-public-access").inputs
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    [rule] = stack.named("audit-archive-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in {"AES256", "aws:kms"}


def test_each_function_reaches_only_what_its_step_needs(stack: BuiltStack) -> None:
    bucket = stack.named("audit-archive-bucket").outputs["arn"]
    metadata = stack.named("audit-metadata-table").outputs["arn"]
    data = {  # what each function may do to the archive, the metadata table and the DLQ
        "audit-archive": {("s3:PutObject", f"{bucket}/archive/*")},
        "audit-metadata": {("dynamodb:PutItem", metadata)},
        "audit-aggregate": set(),
        "audit-ingest-failure": {
            ("s3:PutObject", f"{bucket}/failures/*"),
            ("sqs:SendMessage", stack.named("audit-dlq").outputs["arn"]),
        },
    }
    for function, expected in data.items():
        granted = {
            (action, resource)
            for action, resource in grants(stack, f"{function}-policy")
            if action.split(":")[0] in {"s3", "dynamodb", "sqs", "states", "sns"}
        }
        assert granted == expected, function
    ingest = grants(stack, "audit-ingest-api-policy")
    assert ("states:StartExecution", stack.named("audit-workflow-machine").outputs["arn"]) in ingest
    # The ingest function never reads or writes the archive itself: only its salvage goes to failures/
    assert {r for a, r in ingest if a.startswith("s3:")} == {f"{bucket}/failures/*"}


def test_the_workflow_invokes_the_four_steps_and_publishes_to_the_topic(stack: BuiltStack) -> None:
    definition = json.loads(stack.named("audit-workflow-machine").inputs["definition"])
    text = json.dumps(definition)
    for function in ("audit-archive", "audit-metadata", "audit-aggregate", "audit-ingest-failure"):
        assert stack.named(f"{function}-function").outputs["arn"] in text, function
    assert (
        definition["States"]["Notify subscribers"]["Parameters"]["TopicArn"]
        == (stack.named("audit-notifications").outputs["arn"])
    )


def test_ingest_limits_come_from_config(stack: BuiltStack) -> None:
    env = environment(stack, "audit-ingest-api")
    assert env["MAX_BODY_BYTES"] == stack.config.get("regionflow:auditMaxBodyBytes", "6000000")
    assert int(env["MAX_BODY_BYTES"]) <= 6 * 1024 * 1024  # Lambda's synchronous payload limit
    assert env["REDIS_TTL_SECONDS"] == stack.config.get("regionflow:auditRedisTtlSeconds", "86400")


def test_the_stack_exports_the_audit_endpoints(stack: BuiltStack) -> None:
    for name in ("auditUrl", "auditArchiveBucket", "auditMetadataTable", "auditTopicArn", "auditDlqUrl"):
        assert stack.exports[name], name
    assert stack.exports["auditUrl"].endswith("/audit")


# ---- issue 16: no loss after an acknowledgement --------------------------------------------------------
PARAMETER_GROUP = "aws:elasticache/parameterGroup:ParameterGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def build_audit(args: AuditIngestArgs) -> list[RecordedResource]:
    """AuditIngest alone, under recording mocks (for Args no stack config reaches)."""
    mocks = RecordingMocks()

    def program() -> None:
        AuditIngest("audit", args)

    run_inline_program(mocks, program, stack="test")
    return list(mocks.resources)


def audit_args(**overrides: Any) -> AuditIngestArgs:
    shared = SharedSettings(packaging=lambda _region: LambdaPackaging())
    return AuditIngestArgs(region="eu-west-1", shared=shared, **overrides)


def memory_alarms(resources: list[RecordedResource]) -> dict[str, dict[str, Any]]:
    """The Redis memory alarms by the cache cluster they watch."""
    return {
        alarm.inputs["dimensions"]["CacheClusterId"]: alarm.inputs
        for alarm in resources
        if alarm.typ == ALARM and alarm.inputs["metricName"] == "DatabaseMemoryUsagePercentage"
    }


def test_redis_never_evicts_payloads_its_parameter_group_sets_noeviction(primary_stack: BuiltStack) -> None:
    # GIVEN the AWS stack's replication group (ElastiCache's default groups evict keys with a TTL, which
    # every payload has)
    group = replication_group(primary_stack)
    # WHEN the parameter group it names is looked up
    [parameters] = primary_stack.resources_of(PARAMETER_GROUP, "audit-")
    assert group["parameterGroupName"] == f"{parameters.name}-id"  # the mocks' id; a group's id is its name
    # THEN it is for the engine and major version the group runs, in the group's region
    assert parameters.inputs["family"] == f"{group['engine']}{group['engineVersion'].split('.')[0]}"
    assert parameters.inputs["family"] == "valkey8"
    [group_resource] = primary_stack.resources_of(REPLICATION_GROUP, "audit-")
    assert parameters.region == group_resource.region == "us-east-1"
    # AND it makes a full cache refuse writes rather than evict: the only parameter it changes
    assert parameters.inputs["parameters"] == [{"name": "maxmemory-policy", "value": "noeviction"}]


def test_each_redis_node_alarms_to_the_audit_topic_when_its_memory_passes_80_percent(
    primary_stack: BuiltStack,
) -> None:
    # GIVEN the AWS stack's group: a primary and its configured replicas, any of which may be primary
    replicas = int(primary_stack.config.get("regionflow:auditRedisReplicas", "1"))
    group_id = "audit-redis-id"  # the recording mocks' id of the replication group
    # WHEN the memory alarms are looked up
    alarms = memory_alarms(primary_stack.resources)
    # THEN each member cluster (<group id>-001, -002, ...) has one, as ElastiCache names and measures them
    assert sorted(alarms) == [f"{group_id}-{member:03d}" for member in range(1, 2 + replicas)]
    topic = next(
        topic
        for topic in primary_stack.resources_of("aws:sns/topic:Topic", "audit-")
        if topic.name == "audit-alarms"
    )
    for alarm in alarms.values():
        # AND each fires on the node's highest reading in a minute above the default 80%, to the audit
        # alarm topic
        assert (alarm["namespace"], alarm["statistic"]) == ("AWS/ElastiCache", "Maximum")
        assert (alarm["threshold"], alarm["comparisonOperator"]) == (80.0, "GreaterThanThreshold")
        assert (alarm["period"], alarm["evaluationPeriods"]) == (60.0, 1.0)
        assert alarm["alarmActions"] == [topic.outputs["arn"]]
        assert alarm["region"] == "us-east-1"
        assert "refuses writes when full" in alarm["alarmDescription"]


def test_the_memory_threshold_and_the_watched_nodes_follow_the_args() -> None:
    # GIVEN a group of two replicas and a 70% threshold
    resources = build_audit(audit_args(redis_replicas=2, redis_memory_alarm_percent=70))
    # WHEN the memory alarms are looked up THEN the three nodes are watched at 70%
    alarms = memory_alarms(resources)
    assert sorted(alarms) == ["audit-redis-id-001", "audit-redis-id-002", "audit-redis-id-003"]
    assert {alarm["threshold"] for alarm in alarms.values()} == {70.0}


@pytest.mark.parametrize("percent", [0, 100])
def test_a_memory_threshold_that_cannot_warn_is_refused(percent: int) -> None:
    with pytest.raises(ValueError, match="redis_memory_alarm_percent must be 1-99"):
        build_audit(audit_args(redis_memory_alarm_percent=percent))


@pytest.mark.parametrize(("replicas", "acks"), [(0, "0"), (1, "1"), (3, "1")])
def test_the_ingest_function_waits_for_one_replica_when_the_group_has_any(replicas: int, acks: str) -> None:
    # GIVEN a replication group with some replicas WHEN the ingest function's settings are read
    resources = build_audit(audit_args(redis_replicas=replicas))
    [ingest] = [r for r in resources if r.name == "audit-ingest-api-function"]
    # THEN it waits for one replica per payload where there is one (a single node has none to wait for)
    assert ingest.inputs["environment"]["variables"]["REDIS_REPLICA_ACKS"] == acks


def test_the_primary_stacks_ingest_waits_for_a_replica_and_the_local_endpoint_for_none(
    primary_stack: BuiltStack, local_stack: BuiltStack
) -> None:
    # GIVEN the AWS stack (a group with replicas) and the local stack (a Redis endpoint from config)
    # THEN the ingest function on AWS waits for one replica; on the local stack, of which nothing is known
    # beyond its endpoint, for none
    assert environment(primary_stack, "audit-ingest-api")["REDIS_REPLICA_ACKS"] == "1"
    assert environment(local_stack, "audit-ingest-api").get("REDIS_REPLICA_ACKS", "0") == "0"
    # AND no other function waits: only the ingest writes payloads
    for function in REDIS_FUNCTIONS[1:]:
        assert "REDIS_REPLICA_ACKS" not in environment(primary_stack, function), function
