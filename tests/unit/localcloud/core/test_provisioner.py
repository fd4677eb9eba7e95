"""MotoProvisioner: the real program deployed into moto, checked with boto3."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from localcloud.core.context import UnsupportedResourceError
from localcloud.core.provisioner import SKIPPED_TYPES, MotoProvisioner, provision
from localcloud.services.apigateway.definitions import ApiGatewayRecord
from localcloud.services.apigateway.http_api import read_http_api
from localcloud.services.elasticache.provision import RedisClusterRecord
from localcloud.services.lambda_.event_sources.mapping import SqsMappingRecord
from localcloud.services.lambda_.packaging import build_zip

GATEWAY = "http://127.0.0.1:4567"
REGION = "us-east-1"
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)

ClientFactory = Callable[[str, str], Any]


class Deployed:
    def __init__(self, stack: str, clients: ClientFactory) -> None:
        self.stack = stack
        self.clients = clients
        self.provisioner = MotoProvisioner(clients, default_region=REGION, gateway_base_url=GATEWAY)
        self.exports = provision(stack, self.provisioner)

    def client(self, service: str) -> Any:
        return self.clients(service, REGION)

    def function(self, logical_prefix: str) -> dict[str, Any]:
        names = [
            rid
            for typ, name, _, rid in self.provisioner.created
            if typ.endswith("function:Function") and name == logical_prefix
        ]
        assert len(names) == 1, f"{logical_prefix}: {names}"
        return self.client("lambda").get_function(FunctionName=names[0])["Configuration"]


@pytest.fixture(scope="module", params=["local", "primary"])
def deployed(request: pytest.FixtureRequest, moto_clients: ClientFactory) -> Deployed:
    return Deployed(request.param, moto_clients)


# --------------------------------------------------------------------------------------------- S3
def test_buckets_are_secured_like_aws(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    for export in ("transformInputBucket", "transformOutputBucket"):
        bucket = deployed.exports[export]
        assert bucket.startswith(("transform-input-bucket-", "transform-output-bucket-"))
        assert bucket == bucket.lower()
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert policy["Statement"][-1]["Sid"] == "DenyInsecureTransport"
        assert f"arn:aws:s3:::{bucket}" in policy["Statement"][-1]["Resource"]
        ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert lifecycle[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90


def test_input_bucket_notifies_the_buffer_queue_with_filters(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    config = s3.get_bucket_notification_configuration(Bucket=deployed.exports["transformInputBucket"])
    (queue_config,) = config["QueueConfigurations"]
    queue_arn = deployed.client("sqs").get_queue_attributes(
        QueueUrl=deployed.exports["transformQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert queue_config["QueueArn"] == queue_arn
    assert queue_config["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in queue_config["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "uploads/", "suffix": ".xml"}


# -------------------------------------------------------------------------------------------- SQS
def test_queue_redrives_to_the_dlq(deployed: Deployed) -> None:
    sqs = deployed.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=deployed.exports["transformQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=deployed.exports["transformDlqUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert attributes["VisibilityTimeout"] == "360"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert dlq["MessageRetentionPeriod"] == "1209600"
    # moto 5.2.5 silently drops the RedriveAllowPolicy attribute (not in its queue model), so check that
    # the provisioner applied it to the DLQ rather than reading it back.
    (allow,) = [
        c
        for c in deployed.provisioner.created
        if c[0] == "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy" and c[1].startswith("transform-")
    ]
    assert allow[3] == deployed.exports["transformDlqUrl"]
    policy = json.loads(attributes["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == (
        f"arn:aws:s3:::{deployed.exports['transformInputBucket']}"
    )


def test_sqs_event_source_mapping_is_recorded_not_created_in_moto(deployed: Deployed) -> None:
    worker = deployed.function("transform-worker-function")
    (mapping,) = [
        m
        for m in deployed.provisioner.deployment.record(SqsMappingRecord).mappings
        if m.function_arn == worker["FunctionArn"]
    ]
    queue_arn = deployed.client("sqs").get_queue_attributes(
        QueueUrl=deployed.exports["transformQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert mapping.source_arn == queue_arn
    assert mapping.function_arn == worker["FunctionArn"]
    assert (mapping.batch_size, mapping.maximum_concurrency, mapping.region) == (10, 10, REGION)
    assert mapping.report_batch_item_failures
    # moto would invoke synchronously inside send_message: the mapping must not exist there.
    mappings = deployed.client("lambda").list_event_source_mappings(FunctionName=worker["FunctionName"])
    assert mappings["EventSourceMappings"] == []


# --------------------------------------------------------------------------------------- DynamoDB
def test_tables_exist_with_the_rule_items(deployed: Deployed) -> None:
    dynamodb = deployed.client("dynamodb")
    rules_table = deployed.exports["transformRulesTable"]
    for table in (rules_table, deployed.exports["transformStatusTable"]):
        description = dynamodb.describe_table(TableName=table)["Table"]
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    rule_files = sorted(p.stem for p in Path("rules").glob("*.json"))
    items = dynamodb.scan(TableName=rules_table)["Items"]
    assert len(items) == len(rule_files) >= 2
    assert {"orders-v1", "catalog-flat"} <= {item["ruleId"]["S"] for item in items}


# ----------------------------------------------------------------------------------------- Lambda
def test_functions_reference_the_real_resources(deployed: Deployed) -> None:
    upload = deployed.function("transform-upload-function")
    variables = upload["Environment"]["Variables"]
    assert variables["INPUT_BUCKET"] == deployed.exports["transformInputBucket"]
    assert variables["STATUS_TABLE"] == deployed.exports["transformStatusTable"]
    assert variables["RULES_TABLE"] == deployed.exports["transformRulesTable"]
    assert upload["Handler"] == "handlers.transform.upload_api.lambda_handler"
    assert (upload["Runtime"], upload["Timeout"], upload["MemorySize"]) == ("python3.13", 30, 1024)
    role_name = upload["Role"].rsplit("/", 1)[-1]
    iam = deployed.client("iam")
    assert iam.get_role(RoleName=role_name)["Role"]["Arn"] == upload["Role"]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    statements = document["Statement"] if isinstance(document, dict) else json.loads(document)["Statement"]
    resources = {r for s in statements for r in s["Resource"]}
    assert f"arn:aws:s3:::{deployed.exports['transformInputBucket']}/uploads/*" in resources

    worker = deployed.function("transform-worker-function")
    assert worker["Environment"]["Variables"]["TOPIC_ARN"] == deployed.exports["transformTopicArn"]
    assert deployed.client("sns").get_topic_attributes(TopicArn=deployed.exports["transformTopicArn"])


def test_log_groups_keep_their_retention(deployed: Deployed) -> None:
    groups = deployed.client("logs").describe_log_groups(logGroupNamePrefix="transform-upload-logs")[
        "logGroups"
    ]
    assert [g["retentionInDays"] for g in groups if g["logGroupName"].startswith("transform-upload-logs-")]


def test_layers_only_on_the_layer_stacks(deployed: Deployed) -> None:
    layers = deployed.function("transform-upload-function").get("Layers", [])
    if deployed.stack == "primary":
        assert len(layers) == 1
        assert ":layer:regionflow-primary-dependencies:" in layers[0]["Arn"]
    else:
        assert layers == []


# ------------------------------------------------------------------------------------------- HTTP
def test_http_endpoints_are_loopback_urls_the_gateway_knows(deployed: Deployed) -> None:
    upload_url: str = deployed.exports["transformUploadUrl"]
    status_url: str = deployed.exports["transformStatusUrl"]
    apis = deployed.provisioner.deployment.record(ApiGatewayRecord)
    upload = deployed.function("transform-upload-function")
    if deployed.stack == "local":  # front door: function URLs, served from the emulator's configuration
        assert upload_url == f"{GATEWAY}/lambda-url/{REGION}/{upload['FunctionName']}/upload"
        assert status_url.endswith("/uploads/{id}")
        config = deployed.client("lambda").get_function_url_config(FunctionName=upload["FunctionName"])
        assert (config["AuthType"], config["FunctionArn"]) == ("AWS_IAM", upload["FunctionArn"])
    else:  # front door: API Gateway v2 HTTP API
        # The API whose URL the transform exports (batch has one per region as well).
        [api] = [a for a in apis.http_apis.values() if upload_url.startswith(f"{GATEWAY}/apis/{a.api_id}/")]
        assert upload_url == f"{GATEWAY}/apis/{api.api_id}/upload"
        assert status_url == f"{GATEWAY}/apis/{api.api_id}/uploads/{{id}}"
        # The gateway serves what the emulator holds: routes, integrations and stages as created there.
        apigw = deployed.client("apigatewayv2")
        routes, stages = read_http_api(apigw, api.api_id)
        assert set(routes) == {
            "POST /upload",
            "POST /uploads",
            "GET /uploads/{id}",
            "GET /rules",
            "GET /",
            "GET /page/{asset}",
        }
        assert routes["GET /"].authorization_type == "NONE"  # the upload page
        assert routes["POST /upload"].integration.function_arn == upload["FunctionArn"]
        assert routes["POST /upload"].integration.payload_format_version == "2.0"
        # AND the people's routes are behind the stack's user pool's JWT authorizer
        pool_id = deployed.exports["transformUserPoolId"]
        authorizer = routes["POST /upload"].authorizer
        assert routes["GET /uploads/{id}"].authorization_type == "JWT" and authorizer is not None
        assert authorizer.issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        assert authorizer.audiences == (deployed.exports["transformUserPoolClientId"],)
        assert stages == ["$default"]
        assert apigw.get_api(ApiId=api.api_id)["ProtocolType"] == "HTTP"
        policy = json.loads(
            deployed.client("lambda").get_policy(FunctionName=upload["FunctionName"])["Policy"]
        )
        source = policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"]
        assert source == f"arn:aws:execute-api:{REGION}:123456789012:{api.api_id}/*/POST/upload"


def test_only_aws_only_features_are_skipped_and_none_on_the_local_stack(deployed: Deployed) -> None:
    # The local stack switches off what LocalStack lacks; the AWS stack may use it (e.g. the MRAP).
    skipped = {s.typ for s in deployed.provisioner.skipped}
    assert skipped <= SKIPPED_TYPES
    if deployed.stack == "local":
        assert skipped == set()


# --------------------------------------------------------------------------- direct new_resource
@pytest.fixture
def provisioner(moto_clients: ClientFactory) -> MotoProvisioner:
    return MotoProvisioner(moto_clients, default_region=REGION, gateway_base_url=GATEWAY)


def _create(
    provisioner: MotoProvisioner, typ: str, name: str, inputs: dict[str, Any], **kw: Any
) -> tuple[str, dict[str, Any]]:
    resource_id, outputs = provisioner.new_resource(MockResourceArgs(typ, name, inputs, custom=True, **kw))
    assert resource_id is not None
    return resource_id, outputs


def test_unknown_type_fails_naming_it(provisioner: MotoProvisioner) -> None:
    with pytest.raises(UnsupportedResourceError, match=r"aws:appsync/graphQLApi:GraphQLApi"):
        _create(provisioner, "aws:appsync/graphQLApi:GraphQLApi", "graph", {"authenticationType": "API_KEY"})


def test_skipped_type_is_recorded(provisioner: MotoProvisioner) -> None:
    typ = "aws:fis/experimentTemplate:ExperimentTemplate"
    assert typ in SKIPPED_TYPES
    resource_id, outputs = _create(provisioner, typ, "chaos", {"region": "eu-west-1", "description": "x"})
    assert outputs["arn"]
    (skipped,) = provisioner.skipped
    assert (skipped.typ, skipped.logical_name, skipped.region) == (typ, "chaos", "eu-west-1")
    assert resource_id.startswith("chaos-")


def test_components_create_nothing(provisioner: MotoProvisioner) -> None:
    assert provisioner.new_resource(MockResourceArgs("regionflow:x:Y", "c", {}, custom=False)) == ("", {})
    assert provisioner.created == []


def test_region_comes_from_input_then_provider_then_default(
    provisioner: MotoProvisioner, moto_clients: ClientFactory
) -> None:
    provider_id, _ = _create(provisioner, "pulumi:providers:aws", "west", {"region": "us-west-2"})
    provider_ref = f"urn:pulumi:s::p::pulumi:providers:aws::west::{provider_id}"
    _, via_provider = _create(provisioner, "aws:sqs/queue:Queue", "q1", {}, provider=provider_ref)
    _, via_input = _create(
        provisioner, "aws:sqs/queue:Queue", "q2", {"region": "eu-west-1"}, provider=provider_ref
    )
    _, via_default = _create(provisioner, "aws:sqs/queue:Queue", "q3", {})
    assert ":us-west-2:" in via_provider["arn"]
    assert ":eu-west-1:" in via_input["arn"]
    assert f":{REGION}:" in via_default["arn"]
    result, _ = provisioner.call(MockCallArgs("aws:index/getRegion:getRegion", {}, provider_ref))
    assert result["region"] == "us-west-2"
    identity, _ = provisioner.call(MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, ""))
    assert identity["accountId"] == "123456789012"


def test_auto_names_respect_explicit_names_and_prefixes(provisioner: MotoProvisioner) -> None:
    _, named = _create(provisioner, "aws:sqs/queue:Queue", "x", {"name": "exact-name"})
    _, prefixed = _create(provisioner, "aws:sqs/queue:Queue", "x", {"namePrefix": "pre-"})
    _, fifo = _create(provisioner, "aws:sqs/queue:Queue", "ordered", {"fifoQueue": True})
    _, bucket = _create(provisioner, "aws:s3/bucket:Bucket", "Mixed-Case" + "x" * 70, {})
    assert named["name"] == "exact-name"
    assert prefixed["name"].startswith("pre-")
    assert fifo["name"].startswith("ordered-") and fifo["name"].endswith(".fifo")
    assert len(bucket["bucket"]) <= 63 and bucket["bucket"] == bucket["bucket"].lower()


def test_dynamodb_stream_mapping_gsi_and_replicas(
    provisioner: MotoProvisioner, moto_clients: ClientFactory
) -> None:
    _, table = _create(
        provisioner,
        "aws:dynamodb/table:Table",
        "events",
        {
            "hashKey": "pk",
            "rangeKey": "sk",
            "billingMode": "PAY_PER_REQUEST",
            "attributes": [
                {"name": "pk", "type": "S"},
                {"name": "sk", "type": "S"},
                {"name": "gsi", "type": "N"},
            ],
            "globalSecondaryIndexes": [{"name": "by-gsi", "hashKey": "gsi", "projectionType": "ALL"}],
            "streamEnabled": True,
            "streamViewType": "NEW_AND_OLD_IMAGES",
            "ttl": {"attributeName": "expiresAt", "enabled": True},
            "replicas": [{"regionName": "eu-west-1"}],
        },
    )
    assert table["streamArn"].startswith(table["arn"] + "/stream/")
    description = moto_clients("dynamodb", REGION).describe_table(TableName=table["name"])["Table"]
    assert description["GlobalSecondaryIndexes"][0]["IndexName"] == "by-gsi"
    replica = moto_clients("dynamodb", "eu-west-1").describe_table(TableName=table["name"])["Table"]
    assert replica["TableArn"] == table["replicas"][0]["arn"]

    _, role = _create(provisioner, "aws:iam/role:Role", "fn-role", {"assumeRolePolicy": ASSUME_LAMBDA})
    code = pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(event, context):\n    return 1\n")})
    _, function = _create(
        provisioner,
        "aws:lambda/function:Function",
        "fn",
        {
            "role": role["arn"],
            "runtime": "python3.13",
            "handler": "app.handler",
            "code": code,
            "timeout": 5.0,
        },
    )
    mapping_id, mapping = _create(
        provisioner,
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "stream",
        {
            "eventSourceArn": table["streamArn"],
            "functionName": function["name"],
            "startingPosition": "LATEST",
            "batchSize": 5.0,
            "filterCriteria": {"filters": [{"pattern": '{"eventName": ["MODIFY"]}'}]},
            "functionResponseTypes": ["ReportBatchItemFailures"],
            "bisectBatchOnFunctionError": True,
            "maximumRetryAttempts": 5.0,
            "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}},
        },
    )
    # moto keeps stream mappings (the emulator's stream poller reads them there), with every setting the
    # poller honours
    assert provisioner.deployment.record(SqsMappingRecord).mappings == []
    created = moto_clients("lambda", REGION).get_event_source_mapping(UUID=mapping_id)
    assert created["EventSourceArn"] == table["streamArn"]
    assert mapping["functionArn"] == function["arn"]
    assert (created["BatchSize"], created["StartingPosition"]) == (5, "LATEST")
    assert created["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName": ["MODIFY"]}'}]}
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (created["BisectBatchOnFunctionError"], created["MaximumRetryAttempts"]) == (True, 5)
    assert created["DestinationConfig"] == {
        "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
    }


def test_state_machine_and_redis_and_secret(
    provisioner: MotoProvisioner, moto_clients: ClientFactory
) -> None:
    _, role = _create(provisioner, "aws:iam/role:Role", "sfn-role", {"assumeRolePolicy": ASSUME_LAMBDA})
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    arn, machine = _create(
        provisioner,
        "aws:sfn/stateMachine:StateMachine",
        "flow",
        {"definition": definition, "roleArn": role["arn"]},
    )
    assert (
        moto_clients("stepfunctions", REGION).describe_state_machine(stateMachineArn=arn)["name"]
        == machine["name"]
    )

    _, redis = _create(
        provisioner,
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "cache",
        {"description": "c", "nodeType": "cache.t4g.micro"},
    )
    (cluster,) = provisioner.deployment.record(RedisClusterRecord).clusters
    assert (redis["primaryEndpointAddress"], redis["port"]) == (cluster.host, cluster.port)

    secret_arn, _ = _create(provisioner, "aws:secretsmanager/secret:Secret", "token", {})
    _create(
        provisioner,
        "aws:secretsmanager/secretVersion:SecretVersion",
        "token-v",
        {"secretId": secret_arn, "secretString": "s3cr3t"},
    )
    assert (
        moto_clients("secretsmanager", REGION).get_secret_value(SecretId=secret_arn)["SecretString"]
        == "s3cr3t"
    )


def test_build_zip_turns_nested_archives_into_directories(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "mod.py").write_text("X = 1\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    single = tmp_path / "single.py"
    single.write_text("Y = 2\n")
    archive = pulumi.AssetArchive(
        {
            "handlers": pulumi.FileArchive(str(package)),
            "single.py": pulumi.FileAsset(str(single)),
            "inline.txt": pulumi.StringAsset("hi"),
        }
    )
    with zipfile.ZipFile(io.BytesIO(build_zip(archive))) as zf:
        assert sorted(zf.namelist()) == [
            "handlers/__init__.py",
            "handlers/sub/mod.py",
            "inline.txt",
            "single.py",
        ]
        assert zf.read("handlers/sub/mod.py") == b"X = 1\n"


def test_private_zone_is_associated_with_every_vpc_and_txt_values_are_quoted(
    provisioner: MotoProvisioner, moto_clients: ClientFactory
) -> None:
    # GIVEN two VPCs in two regions
    vpc_a, _ = _create(provisioner, "aws:ec2/vpc:Vpc", "a", {"region": REGION, "cidrBlock": "10.1.0.0/16"})
    vpc_b, _ = _create(
        provisioner,
        "aws:ec2/vpc:Vpc",
        "b",
        {"region": "us-west-2", "cidrBlock": "10.2.0.0/16", "enableDnsSupport": True},
    )
    # WHEN a private zone names both and a TXT record is written
    zone_id, zone = _create(
        provisioner,
        "aws:route53/zone:Zone",
        "zone",
        {
            "name": "example.internal",
            "vpcs": [{"vpcId": vpc_a, "vpcRegion": REGION}, {"vpcId": vpc_b, "vpcRegion": "us-west-2"}],
        },
    )
    _create(
        provisioner,
        "aws:route53/record:Record",
        "txt",
        {
            "zoneId": zone_id,
            "name": "active.example.internal",
            "type": "TXT",
            "ttl": 60.0,
            "records": [REGION],
        },
    )
    # THEN the zone is private to both VPCs and the value is stored quoted, as Route 53 stores TXT data
    route53 = moto_clients("route53", REGION)
    described = route53.get_hosted_zone(Id=zone_id)
    assert described["HostedZone"]["Config"]["PrivateZone"] is True
    assert {v["VPCId"] for v in described["VPCs"]} == {vpc_a, vpc_b}
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    [txt] = [r for r in records if r["Type"] == "TXT"]
    assert txt["ResourceRecords"] == [{"Value": f'"{REGION}"'}]
    assert zone["arn"] == f"arn:aws:route53:::hostedzone/{zone_id}"


def test_kms_key_is_created_with_its_policy_and_rotation(
    provisioner: MotoProvisioner, moto_clients: ClientFactory
) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}],
        }
    )
    key_id, outputs = _create(
        provisioner, "aws:kms/key:Key", "key", {"region": REGION, "policy": policy, "enableKeyRotation": True}
    )
    kms = moto_clients("kms", REGION)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == outputs["arn"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_random_password_is_generated_locally_with_the_asked_length_and_alphabet(
    provisioner: MotoProvisioner,
) -> None:
    # GIVEN pulumi-random passwords, which the provider generates on the deploying machine
    _, alphanumeric = _create(
        provisioner, "random:index/randomPassword:RandomPassword", "token", {"length": 64.0, "special": False}
    )
    _, digits = _create(
        provisioner,
        "random:index/randomPassword:RandomPassword",
        "pin",
        {"length": 12.0, "upper": False, "lower": False, "special": False},
    )
    # THEN each has the asked length and only the allowed characters, and two are never the same
    assert len(alphanumeric["result"]) == 64 and alphanumeric["result"].isalnum()
    assert len(digits["result"]) == 12 and digits["result"].isdigit()
    token_inputs = {"length": 64.0, "special": False}
    _, again = _create(provisioner, "random:index/randomPassword:RandomPassword", "token2", token_inputs)
    assert again["result"] != alphanumeric["result"]
