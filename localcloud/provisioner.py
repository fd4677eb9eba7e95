"""A `pulumi.runtime.Mocks` that really deploys the program into the embedded AWS (moto) with boto3.

Run under `pulumi.runtime.set_mocks(..., preview=False)` (see `localcloud.program.run_program`), Pulumi
hands `new_resource` each resource's fully resolved inputs in dependency order, in wire form: camelCase
keys, numbers as floats, archives as `pulumi.FileArchive` / `AssetArchive` objects. We create the resource
in the emulator and return its real id and the output properties (camelCase wire names) the program reads.
Anything moto cannot run itself (SQS event source mappings, HTTP and REST APIs, function URLs, Redis) is
recorded in `self.deployment` for localcloud to run. Create-only is correct: every `up` starts a fresh
emulator.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import socket
import string
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs

from localcloud.deployment import (
    Deployment,
    FunctionUrlDeployment,
    HttpApiDeployment,
    RedisCluster,
    ReplicationConfig,
    RestApiDeployment,
    RestGatewayResponse,
    RestIntegration,
    RestIntegrationResponse,
    RestMethod,
    RestModel,
    RestRequestValidator,
    RestResource,
    RestStage,
    RouteIntegration,
    SkippedResource,
    SqsEventSourceMapping,
)
from localcloud.program import run_program

ClientFactory = Callable[[str, str], Any]
Handler = Callable[[MockResourceArgs, dict[str, Any], str], tuple[str, dict[str, Any]]]
RedisEndpointHook = Callable[[str, str], tuple[str, int]]

DEFAULT_REGION = "us-east-1"

# Types that mean nothing in a single-machine emulator (or that moto cannot hold): accepted, recorded in
# `skipped`, given a minted id so dependants still resolve, and reported by the CLI.
SKIPPED_TYPES: frozenset[str] = frozenset(
    {
        "aws:fis/experimentTemplate:ExperimentTemplate",
        "aws:route53recoverycontrol/cluster:Cluster",
        "aws:route53recoverycontrol/controlPanel:ControlPanel",
        "aws:route53recoverycontrol/routingControl:RoutingControl",
        "aws:route53recoverycontrol/safetyRule:SafetyRule",
        "aws:route53/healthCheck:HealthCheck",  # RECOVERY_CONTROL checks point at the skipped ARC
        "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint",
        "aws:s3control/multiRegionAccessPointPolicy:MultiRegionAccessPointPolicy",
        "aws:xray/group:Group",
        "aws:xray/samplingRule:SamplingRule",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        # Private networking: the local Lambda workers reach the emulator and Redis on loopback anyway.
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:elasticache/subnetGroup:SubnetGroup",
    }
)

# pulumi marks secret values in wire form with this signature key.
_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a wire marker, no secret
_SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a wire marker
_LAMBDA_INVOKE_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$"
)


class UnsupportedResourceError(NotImplementedError):
    """The program declared a resource type localcloud cannot create: the deploy fails naming it."""


def _unwrap(value: Any) -> Any:
    """Plain values from wire form: secrets unwrapped, recursively."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_VALUE and "value" in value:
            return _unwrap(value["value"])
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _int(value: Any) -> int:
    """Wire numbers are floats (30.0); AWS APIs want integers."""
    return int(value)


_PASCAL_SPECIAL = {"id": "ID", "kmsMasterKeyId": "KMSMasterKeyID", "replicaKmsKeyId": "ReplicaKmsKeyID"}


def _pascal(value: Any) -> Any:
    """camelCase wire dicts -> the PascalCase shapes of S3/CloudWatch APIs (whole floats -> int)."""
    if isinstance(value, dict):
        return {
            _PASCAL_SPECIAL.get(key, key[:1].upper() + key[1:]): _pascal(item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _tags(inputs: dict[str, Any]) -> dict[str, str]:
    return dict(inputs.get("tags") or {})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _present(inputs: dict[str, Any], names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """API arguments for the inputs that are set: (wire name, API parameter name) pairs."""
    return {api: inputs[wire] for wire, api in names if inputs.get(wire)}


def _default_redis_endpoint(_logical_name: str, _group_id: str) -> tuple[str, int]:
    return "127.0.0.1", free_port()


# ---------------------------------------------------------------------------------------------- archives
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def _add_path(zf: zipfile.ZipFile, source: Path, prefix: str) -> None:
    """Add a file or a directory tree (or a .zip archive's entries) to the zip under `prefix`."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            # Bytecode caches are build leftovers of this machine, not code: AWS would ship them too,
            # but they only bloat the package and can go stale against the sources.
            if _SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc" or not path.is_file():
                continue
            zf.write(path, f"{prefix}{relative.as_posix()}")
    elif source.suffix in {".zip", ".jar"}:
        with zipfile.ZipFile(source) as inner:
            for info in inner.infolist():
                if not info.is_dir():
                    zf.writestr(f"{prefix}{info.filename}", inner.read(info))
    elif source.is_file():
        zf.write(source, prefix.rstrip("/") or source.name)
    else:
        raise FileNotFoundError(f"archive source {source} does not exist")


def _add_archive(zf: zipfile.ZipFile, node: Any, prefix: str) -> None:
    """Pulumi archive tree -> zip entries. A nested archive becomes a directory named by its key."""
    if isinstance(node, pulumi.AssetArchive):
        for name, child in sorted(node.assets.items()):
            if isinstance(child, pulumi.Archive):
                _add_archive(zf, child, f"{prefix}{name}/")
            else:
                _add_archive(zf, child, f"{prefix}{name}")
    elif isinstance(node, pulumi.FileArchive):
        _add_path(zf, Path(node.path), prefix)
    elif isinstance(node, pulumi.FileAsset):
        zf.write(node.path, prefix or Path(node.path).name)
    elif isinstance(node, pulumi.StringAsset):
        zf.writestr(prefix, node.text)
    else:
        raise UnsupportedResourceError(f"cannot package {type(node).__name__} (remote assets need a network)")


def build_zip(archive: Any) -> bytes:
    """The deployment package AWS would build from a Pulumi `code` archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_archive(zf, archive, "")
    return buffer.getvalue()


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("python/.localcloud", "dependencies come from the project's environment locally\n")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ provisioner
class MotoProvisioner(pulumi.runtime.Mocks):
    """Creates every resource of the program in the emulator; see the module docstring."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        default_region: str = DEFAULT_REGION,
        gateway_base_url: str = "http://127.0.0.1:4567",
        redis_endpoint: RedisEndpointHook = _default_redis_endpoint,
        deployment: Deployment | None = None,
    ) -> None:
        self.client_factory = client_factory
        self.default_region = default_region
        self.gateway_base_url = gateway_base_url.rstrip("/")
        self.redis_endpoint = redis_endpoint
        # Shared with the gateway, which may start first (the provisioner needs its URL).
        self.deployment = deployment if deployment is not None else Deployment()
        self.created: list[tuple[str, str, str, str]] = []  # (type, logical name, region, id) in order
        # Independent resources arrive on several threads; the gateway reads the deployment meanwhile,
        # so one lock (the deployment's) guards both.
        self._lock = self.deployment.lock
        self._providers: dict[str, dict[str, Any]] = {}  # provider id (minted) -> inputs
        self._account_id: str | None = None
        self._handlers: dict[str, Handler] = {
            "aws:s3/bucket:Bucket": self._s3_bucket,
            "aws:s3/bucketVersioning:BucketVersioning": self._s3_versioning,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
                self._s3_encryption
            ),
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self._s3_public_access_block,
            "aws:s3/bucketPolicy:BucketPolicy": self._s3_policy,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": self._s3_ownership,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": self._s3_lifecycle,
            "aws:s3/bucketNotification:BucketNotification": self._s3_notification,
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig": self._s3_replication,
            "aws:sqs/queue:Queue": self._sqs_queue,
            "aws:sqs/queuePolicy:QueuePolicy": self._sqs_attribute("policy", "Policy"),
            "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": self._sqs_attribute(
                "redriveAllowPolicy", "RedriveAllowPolicy"
            ),
            "aws:sqs/redrivePolicy:RedrivePolicy": self._sqs_attribute("redrivePolicy", "RedrivePolicy"),
            "aws:sns/topic:Topic": self._sns_topic,
            "aws:sns/topicSubscription:TopicSubscription": self._sns_subscription,
            "aws:sns/topicPolicy:TopicPolicy": self._sns_topic_policy,
            "aws:dynamodb/table:Table": self._ddb_table,
            "aws:dynamodb/tableItem:TableItem": self._ddb_item,
            "aws:iam/role:Role": self._iam_role,
            "aws:iam/rolePolicy:RolePolicy": self._iam_role_policy,
            "aws:iam/policy:Policy": self._iam_policy,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._iam_attachment,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/dashboard:Dashboard": self._dashboard,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._metric_alarm,
            "aws:lambda/function:Function": self._lambda_function,
            "aws:lambda/layerVersion:LayerVersion": self._lambda_layer,
            "aws:lambda/permission:Permission": self._lambda_permission,
            "aws:lambda/functionUrl:FunctionUrl": self._lambda_function_url,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._lambda_event_source_mapping,
            "aws:apigatewayv2/api:Api": self._apigw_api,
            "aws:apigatewayv2/integration:Integration": self._apigw_integration,
            "aws:apigatewayv2/route:Route": self._apigw_route,
            "aws:apigatewayv2/stage:Stage": self._apigw_stage,
            "aws:apigateway/restApi:RestApi": self._rest_api,
            "aws:apigateway/resource:Resource": self._rest_resource,
            "aws:apigateway/model:Model": self._rest_model,
            "aws:apigateway/requestValidator:RequestValidator": self._rest_validator,
            "aws:apigateway/method:Method": self._rest_method,
            "aws:apigateway/integration:Integration": self._rest_integration,
            "aws:apigateway/methodResponse:MethodResponse": self._rest_method_response,
            "aws:apigateway/integrationResponse:IntegrationResponse": self._rest_integration_response,
            "aws:apigateway/response:Response": self._rest_gateway_response,
            "aws:apigateway/deployment:Deployment": self._rest_deployment,
            "aws:apigateway/stage:Stage": self._rest_stage,
            "aws:apigateway/methodSettings:MethodSettings": self._rest_method_settings,
            "aws:apigateway/account:Account": self._rest_account,
            "aws:sfn/stateMachine:StateMachine": self._sfn_state_machine,
            "aws:sesv2/emailIdentity:EmailIdentity": self._ses_identity,
            "aws:route53/zone:Zone": self._route53_zone,
            "aws:ec2/vpc:Vpc": self._vpc,
            "aws:kms/key:Key": self._kms_key,
            "aws:route53/record:Record": self._route53_record,
            "aws:elasticache/replicationGroup:ReplicationGroup": self._redis_group,
            "aws:secretsmanager/secret:Secret": self._secret,
            "aws:secretsmanager/secretVersion:SecretVersion": self._secret_version,
            "aws:ssm/document:Document": self._ssm_document,
            "random:index/randomPassword:RandomPassword": self._random_password,
        }

    @property
    def skipped(self) -> list[SkippedResource]:
        return self.deployment.skipped

    # ------------------------------------------------------------------------------------ Mocks API
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        with self._lock:
            if not args.custom:  # ComponentResource: a grouping, nothing to create
                return "", {}
            inputs = _unwrap(dict(args.inputs))
            if args.typ.startswith("pulumi:providers:"):
                # Provider URNs carry the parent type chain, so key providers by an id we mint.
                provider_id = f"{args.name}-{secrets.token_hex(8)}"
                self._providers[provider_id] = inputs
                return provider_id, inputs
            if args.resource_id:
                raise UnsupportedResourceError(
                    f"{args.typ} {args.name}: localcloud cannot read existing resources (.get)"
                )
            region = self._region(inputs, args.provider)
            if args.typ in SKIPPED_TYPES:
                return self._skip(args, inputs, region)
            handler = self._handlers.get(args.typ)
            if handler is None:
                raise UnsupportedResourceError(
                    f"localcloud cannot create resource type {args.typ} ({args.name}); "
                    "add it to localcloud/provisioner.py or to SKIPPED_TYPES"
                )
            resource_id, outputs = handler(args, inputs, region)
            self.created.append((args.typ, args.name, region, resource_id))
            return resource_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        with self._lock:
            region = self._region(_unwrap(dict(args.args)), args.provider)
            if args.token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105 - an invoke token
                identity = self.client_factory("sts", region).get_caller_identity()
                result = {
                    "accountId": identity["Account"],
                    "arn": identity["Arn"],
                    "userId": identity["UserId"],
                    "id": identity["Account"],
                }
                return result, []
            if args.token == "aws:index/getRegion:getRegion":  # noqa: S105 - an invoke token
                # v7 answers `region`; `name` is the deprecated v6 spelling some code still reads.
                return {
                    "region": region,
                    "name": region,
                    "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region,
                }, []
            if args.token == "aws:index/getPartition:getPartition":  # noqa: S105 - an invoke token
                return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
            raise UnsupportedResourceError(f"localcloud cannot answer invoke {args.token}")

    # ---------------------------------------------------------------------------------- helpers
    def _region(self, inputs: dict[str, Any], provider: str | None) -> str:
        if inputs.get("region"):  # v7 per-resource region
            return str(inputs["region"])
        if provider:  # provider reference = "<urn>::<id>"
            provider_inputs = self._providers.get(provider.rsplit("::", 1)[-1], {})
            if provider_inputs.get("region"):
                return str(provider_inputs["region"])
        return self.default_region

    def _client(self, service: str, region: str) -> Any:
        return self.client_factory(service, region)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self._client("sts", self.default_region).get_caller_identity()["Account"])
        return self._account_id

    @staticmethod
    def _name(
        args: MockResourceArgs,
        inputs: dict[str, Any],
        *,
        key: str = "name",
        prefix_key: str = "namePrefix",
        max_length: int = 255,
        lower: bool = False,
        suffix: str = "",
    ) -> str:
        """The explicit name, else prefix + random, else Pulumi's auto-name: logical name + "-" + 7 hex."""
        if inputs.get(key):
            return str(inputs[key])
        if inputs.get(prefix_key):
            name = f"{inputs[prefix_key]}{secrets.token_hex(13)}"
        else:
            name = f"{args.name}-{secrets.token_hex(4)[:7]}"
        if lower:
            name = name.lower()
        return name[: max_length - len(suffix)] + suffix

    def _skip(
        self, args: MockResourceArgs, inputs: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        self.deployment.skipped.append(SkippedResource(typ=args.typ, logical_name=args.name, region=region))
        resource_id = f"{args.name}-{secrets.token_hex(4)[:7]}"
        service = args.typ.split(":")[1].split("/", 1)[0]
        arn = f"arn:aws:{service}:{region}:{self.account_id}:{resource_id}"
        return resource_id, {
            **inputs,
            "id": resource_id,
            "arn": arn,
            "name": inputs.get("name") or resource_id,
        }

    def _function_arn(self, function: str, region: str) -> str:
        configuration = self._client("lambda", region).get_function(FunctionName=function)["Configuration"]
        return str(configuration["FunctionArn"])

    # ---------------------------------------------------------------------------------------- S3
    def _s3_bucket(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        # S3 bucket names are lower-case and at most 63 characters; Pulumi's auto-name lower-cases too.
        name = self._name(args, i, key="bucket", prefix_key="bucketPrefix", max_length=63, lower=True)
        s3 = self._client("s3", region)
        # us-east-1 is the one region that rejects an explicit LocationConstraint.
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **extra)
        if i.get("objectLockEnabled"):
            s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
            )
        if _tags(i):
            s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in _tags(i).items()]}
            )
        return name, {
            **i,
            "id": name,
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "region": region,
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        }

    def _s3_versioning(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        self._client("s3", region).put_bucket_versioning(
            Bucket=i["bucket"], VersioningConfiguration=_pascal(i["versioningConfiguration"])
        )
        return i["bucket"], dict(i)

    def _s3_encryption(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
                    **(
                        {"KMSMasterKeyID": rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]}
                        if rule["applyServerSideEncryptionByDefault"].get("kmsMasterKeyId")
                        else {}
                    ),
                },
                "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled", False)),
            }
            for rule in i["rules"]
        ]
        self._client("s3", region).put_bucket_encryption(
            Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return i["bucket"], dict(i)

    def _s3_public_access_block(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        self._client("s3", region).put_public_access_block(
            Bucket=i["bucket"],
            PublicAccessBlockConfiguration={f[:1].upper() + f[1:]: bool(i.get(f, False)) for f in flags},
        )
        return i["bucket"], dict(i)

    def _s3_policy(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        self._client("s3", region).put_bucket_policy(Bucket=i["bucket"], Policy=i["policy"])
        return i["bucket"], dict(i)

    def _s3_ownership(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        self._client("s3", region).put_bucket_ownership_controls(
            Bucket=i["bucket"],
            OwnershipControls={"Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]},
        )
        return i["bucket"], dict(i)

    def _s3_lifecycle(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        rules = []
        for rule in _pascal(i["rules"]):
            # An empty filter means "every object"; the S3 API spells that Filter={"Prefix": ""}.
            if not rule.get("Filter"):
                rule["Filter"] = {"Prefix": ""}
            rules.append(rule)
        self._client("s3", region).put_bucket_lifecycle_configuration(
            Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return i["bucket"], dict(i)

    @staticmethod
    def _notification_filter(entry: dict[str, Any]) -> dict[str, Any]:
        rules = [
            {"Name": name, "Value": entry[key]}
            for name, key in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
            if entry.get(key)
        ]
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

    def _s3_notification(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        config: dict[str, Any] = {}
        for wire_key, api_key, arn_wire, arn_api in (
            ("queues", "QueueConfigurations", "queueArn", "QueueArn"),
            ("topics", "TopicConfigurations", "topicArn", "TopicArn"),
            ("lambdaFunctions", "LambdaFunctionConfigurations", "lambdaFunctionArn", "LambdaFunctionArn"),
        ):
            entries = i.get(wire_key) or []
            if entries:
                config[api_key] = [
                    {
                        **({"Id": entry["id"]} if entry.get("id") else {}),
                        arn_api: entry[arn_wire],
                        "Events": list(entry["events"]),
                        **self._notification_filter(entry),
                    }
                    for entry in entries
                ]
        if i.get("eventbridge"):
            config["EventBridgeConfiguration"] = {}
        self._client("s3", region).put_bucket_notification_configuration(
            Bucket=i["bucket"], NotificationConfiguration=config
        )
        return i["bucket"], dict(i)

    def _s3_replication(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        rules = _pascal(i["rules"])
        self._client("s3", region).put_bucket_replication(
            Bucket=i["bucket"], ReplicationConfiguration={"Role": i["role"], "Rules": rules}
        )
        # moto stores the configuration but copies nothing: localcloud replicates from this record.
        self.deployment.replication_configs.append(
            ReplicationConfig(bucket=i["bucket"], region=region, role_arn=i["role"], rules=tuple(rules))
        )
        return i["bucket"], dict(i)

    # --------------------------------------------------------------------------------------- SQS
    _QUEUE_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "visibilityTimeoutSeconds": "VisibilityTimeout",
        "messageRetentionSeconds": "MessageRetentionPeriod",
        "maxMessageSize": "MaximumMessageSize",
        "delaySeconds": "DelaySeconds",
        "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "redrivePolicy": "RedrivePolicy",
        "redriveAllowPolicy": "RedriveAllowPolicy",
        "policy": "Policy",
        "sqsManagedSseEnabled": "SqsManagedSseEnabled",
        "kmsMasterKeyId": "KmsMasterKeyId",
        "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
        "fifoQueue": "FifoQueue",
        "contentBasedDeduplication": "ContentBasedDeduplication",
        "deduplicationScope": "DeduplicationScope",
        "fifoThroughputLimit": "FifoThroughputLimit",
    }

    @staticmethod
    def _attribute(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def _sqs_queue(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        # A FIFO queue's name must end in ".fifo"; Pulumi's auto-name appends it.
        fifo = bool(i.get("fifoQueue"))
        name = self._name(args, i, max_length=80, suffix=".fifo" if fifo and not i.get("name") else "")
        attributes = {
            api: self._attribute(i[wire])
            for wire, api in self._QUEUE_ATTRIBUTES.items()
            if i.get(wire) is not None and not (wire == "fifoQueue" and not fifo)
        }
        sqs = self._client("sqs", region)
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=_tags(i))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # pulumi-aws uses the queue URL as the Queue's id.
        return url, {**i, "id": url, "name": name, "url": url, "arn": arn}

    def _sqs_attribute(self, wire: str, attribute: str) -> Handler:
        """QueuePolicy, RedriveAllowPolicy, RedrivePolicy: each sets one attribute of an existing queue."""

        def handler(_a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
            self._client("sqs", region).set_queue_attributes(
                QueueUrl=i["queueUrl"], Attributes={attribute: i[wire]}
            )
            return i["queueUrl"], dict(i)

        return handler

    # --------------------------------------------------------------------------------------- SNS
    _TOPIC_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "kmsMasterKeyId": "KmsMasterKeyId",
        "displayName": "DisplayName",
        "policy": "Policy",
        "deliveryPolicy": "DeliveryPolicy",
        "fifoTopic": "FifoTopic",
        "contentBasedDeduplication": "ContentBasedDeduplication",
        "tracingConfig": "TracingConfig",
        "signatureVersion": "SignatureVersion",
    }

    def _sns_topic(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        fifo = bool(i.get("fifoTopic"))
        name = self._name(args, i, max_length=256, suffix=".fifo" if fifo and not i.get("name") else "")
        attributes = {
            api: self._attribute(i[wire])
            for wire, api in self._TOPIC_ATTRIBUTES.items()
            if i.get(wire) is not None and not (wire == "fifoTopic" and not fifo)
        }
        tags = [{"Key": k, "Value": v} for k, v in _tags(i).items()]
        arn = self._client("sns", region).create_topic(Name=name, Attributes=attributes, Tags=tags)[
            "TopicArn"
        ]
        return arn, {**i, "id": arn, "arn": arn, "name": name, "owner": self.account_id}

    def _sns_topic_policy(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        self._client("sns", region).set_topic_attributes(
            TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"]
        )
        return i["arn"], dict(i)

    _SUBSCRIPTION_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "filterPolicy": "FilterPolicy",
        "filterPolicyScope": "FilterPolicyScope",
        "rawMessageDelivery": "RawMessageDelivery",
        "redrivePolicy": "RedrivePolicy",
        "deliveryPolicy": "DeliveryPolicy",
        "subscriptionRoleArn": "SubscriptionRoleArn",
    }

    def _sns_subscription(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        attributes = {
            api: self._attribute(i[wire])
            for wire, api in self._SUBSCRIPTION_ATTRIBUTES.items()
            if i.get(wire)
        }
        arn = self._client("sns", region).subscribe(
            TopicArn=i["topic"],
            Protocol=i["protocol"],
            Endpoint=i["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {**i, "id": arn, "arn": arn, "ownerId": self.account_id}

    # ---------------------------------------------------------------------------------- DynamoDB
    def _table_spec(self, name: str, i: dict[str, Any]) -> dict[str, Any]:
        keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
        if i.get("rangeKey"):
            keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
        billing = i.get("billingMode") or "PROVISIONED"
        spec: dict[str, Any] = {
            "TableName": name,
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i.get("attributes") or []
            ],
            "BillingMode": billing,
        }

        def throughput(source: dict[str, Any]) -> dict[str, Any]:
            if billing != "PROVISIONED":
                return {}
            return {
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": _int(source.get("readCapacity") or 1),
                    "WriteCapacityUnits": _int(source.get("writeCapacity") or 1),
                }
            }

        spec.update(throughput(i))

        def index(source: dict[str, Any], with_throughput: bool) -> dict[str, Any]:
            schema = [{"AttributeName": source.get("hashKey") or i["hashKey"], "KeyType": "HASH"}]
            if source.get("rangeKey"):
                schema.append({"AttributeName": source["rangeKey"], "KeyType": "RANGE"})
            projection: dict[str, Any] = {"ProjectionType": source.get("projectionType") or "ALL"}
            if source.get("nonKeyAttributes"):
                projection["NonKeyAttributes"] = list(source["nonKeyAttributes"])
            result = {"IndexName": source["name"], "KeySchema": schema, "Projection": projection}
            return {**result, **(throughput(source) if with_throughput else {})}

        if i.get("globalSecondaryIndexes"):
            spec["GlobalSecondaryIndexes"] = [index(g, True) for g in i["globalSecondaryIndexes"]]
        if i.get("localSecondaryIndexes"):
            spec["LocalSecondaryIndexes"] = [index(lsi, False) for lsi in i["localSecondaryIndexes"]]
        if i.get("streamEnabled"):
            spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": i["streamViewType"]}
        sse = i.get("serverSideEncryption") or {}
        if sse.get("enabled"):
            spec["SSESpecification"] = {
                "Enabled": True,
                "SSEType": "KMS",
                **({"KMSMasterKeyId": sse["kmsKeyArn"]} if sse.get("kmsKeyArn") else {}),
            }
        if i.get("tableClass"):
            spec["TableClass"] = i["tableClass"]
        if _tags(i):
            spec["Tags"] = [{"Key": k, "Value": v} for k, v in _tags(i).items()]
        return spec

    def _create_table(self, name: str, i: dict[str, Any], region: str) -> dict[str, Any]:
        dynamodb = self._client("dynamodb", region)
        description: dict[str, Any] = dynamodb.create_table(**self._table_spec(name, i))["TableDescription"]
        ttl = i.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            # moto stores TTL but never expires items (known gap).
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        if (i.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        return description

    def _ddb_table(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i)
        description = self._create_table(name, i, region)
        replicas = []
        # Global table replicas: the same table in each replica region. moto never replicates items
        # between them; localcloud only guarantees that each replica exists.
        for replica in i.get("replicas") or []:
            replica_region = replica["regionName"]
            replica_description = self._create_table(name, i, replica_region)
            replicas.append(
                {
                    **replica,
                    "arn": replica_description["TableArn"],
                    "streamArn": replica_description.get("LatestStreamArn") or "",
                    "streamLabel": replica_description.get("LatestStreamLabel") or "",
                }
            )
        return name, {
            **i,
            "id": name,
            "name": name,
            "arn": description["TableArn"],
            "streamArn": description.get("LatestStreamArn") or "",
            "streamLabel": description.get("LatestStreamLabel") or "",
            "replicas": replicas,
        }

    def _ddb_item(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        item = json.loads(i["item"])
        self._client("dynamodb", region).put_item(TableName=i["tableName"], Item=item)
        key_parts = [i["tableName"], i["hashKey"], json.dumps(item[i["hashKey"]], sort_keys=True)]
        if i.get("rangeKey"):
            key_parts += [i["rangeKey"], json.dumps(item[i["rangeKey"]], sort_keys=True)]
        return "|".join(key_parts), dict(i)

    # --------------------------------------------------------------------------------------- IAM
    def _iam(self) -> Any:
        return self._client("iam", self.default_region)  # IAM is global

    def _iam_role(
        self, args: MockResourceArgs, i: dict[str, Any], _region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=64)
        iam = self._iam()
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": i["assumeRolePolicy"]}
        kwargs.update(
            _present(
                i,
                (
                    ("description", "Description"),
                    ("path", "Path"),
                    ("permissionsBoundary", "PermissionsBoundary"),
                ),
            )
        )
        if i.get("maxSessionDuration"):
            kwargs["MaxSessionDuration"] = _int(i["maxSessionDuration"])
        if _tags(i):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in _tags(i).items()]
        role = iam.create_role(**kwargs)["Role"]
        for inline in i.get("inlinePolicies") or []:
            if inline.get("name") and inline.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=inline["name"], PolicyDocument=inline["policy"])
        for policy_arn in i.get("managedPolicyArns") or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return name, {**i, "id": name, "name": name, "arn": role["Arn"], "uniqueId": role["RoleId"]}

    def _iam_role_policy(
        self, args: MockResourceArgs, i: dict[str, Any], _r: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=128)
        self._iam().put_role_policy(RoleName=i["role"], PolicyName=name, PolicyDocument=i["policy"])
        return f"{i['role']}:{name}", {**i, "name": name}

    def _iam_policy(self, args: MockResourceArgs, i: dict[str, Any], _r: str) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=128)
        kwargs: dict[str, Any] = {"PolicyName": name, "PolicyDocument": i["policy"]}
        if i.get("path"):
            kwargs["Path"] = i["path"]
        if i.get("description"):
            kwargs["Description"] = i["description"]
        policy = self._iam().create_policy(**kwargs)["Policy"]
        return policy["Arn"], {
            **i,
            "id": policy["Arn"],
            "arn": policy["Arn"],
            "name": name,
            "policyId": policy["PolicyId"],
        }

    def _iam_attachment(
        self, args: MockResourceArgs, i: dict[str, Any], _r: str
    ) -> tuple[str, dict[str, Any]]:
        self._iam().attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
        return f"{i['role']}-{secrets.token_hex(8)}", dict(i)

    # -------------------------------------------------------------------------------- CloudWatch
    def _log_group(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=512)
        logs = self._client("logs", region)
        kwargs: dict[str, Any] = {"logGroupName": name}
        if i.get("kmsKeyId"):
            kwargs["kmsKeyId"] = i["kmsKeyId"]
        if _tags(i):
            kwargs["tags"] = _tags(i)
        logs.create_log_group(**kwargs)
        if i.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=_int(i["retentionInDays"]))
        # The provider's `arn` has no trailing ":*" (unlike DescribeLogGroups' arn).
        arn = f"arn:aws:logs:{region}:{self.account_id}:log-group:{name}"
        return name, {**i, "id": name, "name": name, "arn": arn}

    def _dashboard(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        name = i["dashboardName"]
        self._client("cloudwatch", region).put_dashboard(DashboardName=name, DashboardBody=i["dashboardBody"])
        arn = f"arn:aws:cloudwatch::{self.account_id}:dashboard/{name}"
        return name, {**i, "id": name, "dashboardArn": arn}

    _ALARM_FIELDS: ClassVar[dict[str, str]] = {
        "comparisonOperator": "ComparisonOperator",
        "evaluationPeriods": "EvaluationPeriods",
        "metricName": "MetricName",
        "namespace": "Namespace",
        "period": "Period",
        "statistic": "Statistic",
        "extendedStatistic": "ExtendedStatistic",
        "threshold": "Threshold",
        "thresholdMetricId": "ThresholdMetricId",
        "alarmDescription": "AlarmDescription",
        "alarmActions": "AlarmActions",
        "okActions": "OKActions",
        "insufficientDataActions": "InsufficientDataActions",
        "actionsEnabled": "ActionsEnabled",
        "datapointsToAlarm": "DatapointsToAlarm",
        "treatMissingData": "TreatMissingData",
        "unit": "Unit",
        "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentiles",
    }

    def _metric_alarm(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i)
        kwargs: dict[str, Any] = {"AlarmName": name}
        for wire, api in self._ALARM_FIELDS.items():
            if i.get(wire) is not None:
                value = i[wire]
                if api in {"EvaluationPeriods", "Period", "DatapointsToAlarm"}:
                    value = _int(value)
                kwargs[api] = value
        if i.get("dimensions"):
            kwargs["Dimensions"] = [{"Name": k, "Value": v} for k, v in i["dimensions"].items()]
        if i.get("metricQueries"):
            kwargs["Metrics"] = _pascal(i["metricQueries"])
        self._client("cloudwatch", region).put_metric_alarm(**kwargs)
        arn = f"arn:aws:cloudwatch:{region}:{self.account_id}:alarm:{name}"
        return name, {**i, "id": name, "name": name, "arn": arn}

    # ------------------------------------------------------------------------------------ Lambda
    def _lambda_function(  # noqa: PLR0912 - one branch per optional Lambda setting
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=64)
        if i.get("code") is not None:
            zipped = build_zip(i["code"])
            code: dict[str, Any] = {"ZipFile": zipped}
        elif i.get("s3Bucket"):
            code = {"S3Bucket": i["s3Bucket"], "S3Key": i["s3Key"]}
            zipped = b""
        else:
            raise UnsupportedResourceError(
                f"aws:lambda/function:Function {args.name}: only zip packages run locally"
            )
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Role": i["role"],
            "Code": code,
            "PackageType": "Zip",
            "Runtime": i.get("runtime"),
            "Handler": i.get("handler"),
            "Timeout": _int(i.get("timeout") or 3),
            "MemorySize": _int(i.get("memorySize") or 128),
            "Publish": bool(i.get("publish", False)),
        }
        if i.get("description"):
            kwargs["Description"] = i["description"]
        variables = (i.get("environment") or {}).get("variables") or {}
        if variables:
            kwargs["Environment"] = {"Variables": {k: str(v) for k, v in variables.items()}}
        if i.get("layers"):
            kwargs["Layers"] = list(i["layers"])
        if i.get("architectures"):
            kwargs["Architectures"] = list(i["architectures"])
        if (i.get("tracingConfig") or {}).get("mode"):
            kwargs["TracingConfig"] = {"Mode": i["tracingConfig"]["mode"]}
        if (i.get("deadLetterConfig") or {}).get("targetArn"):
            kwargs["DeadLetterConfig"] = {"TargetArn": i["deadLetterConfig"]["targetArn"]}
        if (i.get("ephemeralStorage") or {}).get("size"):
            kwargs["EphemeralStorage"] = {"Size": _int(i["ephemeralStorage"]["size"])}
        logging_config = i.get("loggingConfig") or {}
        if logging_config:
            kwargs["LoggingConfig"] = {
                api: logging_config[wire]
                for wire, api in (
                    ("logFormat", "LogFormat"),
                    ("logGroup", "LogGroup"),
                    ("applicationLogLevel", "ApplicationLogLevel"),
                    ("systemLogLevel", "SystemLogLevel"),
                )
                if logging_config.get(wire)
            }
        if i.get("kmsKeyArn"):
            kwargs["KMSKeyArn"] = i["kmsKeyArn"]
        if _tags(i):
            kwargs["Tags"] = _tags(i)
        aws_lambda = self._client("lambda", region)
        created = aws_lambda.create_function(**{k: v for k, v in kwargs.items() if v is not None})
        reserved = i.get("reservedConcurrentExecutions")
        # -1 (the provider's default) means "unreserved"; 0 and up reserve (0 throttles every invoke).
        if reserved is not None and _int(reserved) >= 0:
            aws_lambda.put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=_int(reserved)
            )
        arn = created["FunctionArn"]
        version = created.get("Version") or "$LATEST"
        invoke_arn = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        qualified_arn = f"{arn}:{version}"
        return name, {
            **i,
            "id": name,
            "name": name,
            "arn": arn,
            "invokeArn": invoke_arn,
            "qualifiedArn": qualified_arn,
            "qualifiedInvokeArn": (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{qualified_arn}/invocations"
            ),
            "version": version,
            "lastModified": created.get("LastModified"),
            "sourceCodeHash": base64.b64encode(hashlib.sha256(zipped).digest()).decode(),
            "sourceCodeSize": len(zipped),
            "code": None,  # the archive object is an input only; never echo it back
        }

    def _lambda_layer(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        code = i.get("code")
        if isinstance(code, pulumi.FileArchive) and not Path(code.path).exists():
            # Under mocks the program only *names* the dependency directory (it installs nothing), and
            # localcloud workers import dependencies from the project's environment: an empty layer fits.
            zipped = _placeholder_zip()
        else:
            zipped = build_zip(code)
        kwargs: dict[str, Any] = {"LayerName": i["layerName"], "Content": {"ZipFile": zipped}}
        if i.get("description"):
            kwargs["Description"] = i["description"]
        if i.get("compatibleRuntimes"):
            kwargs["CompatibleRuntimes"] = list(i["compatibleRuntimes"])
        if i.get("compatibleArchitectures"):
            kwargs["CompatibleArchitectures"] = list(i["compatibleArchitectures"])
        if i.get("licenseInfo"):
            kwargs["LicenseInfo"] = i["licenseInfo"]
        published = self._client("lambda", region).publish_layer_version(**kwargs)
        arn = published["LayerVersionArn"]
        return arn, {
            **i,
            "id": arn,
            "arn": arn,
            "layerArn": published["LayerArn"],
            "version": str(published["Version"]),
            "codeSize": len(zipped),
            "code": None,
        }

    def _lambda_permission(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        statement_id = self._name(args, i, key="statementId", prefix_key="statementIdPrefix", max_length=100)
        kwargs: dict[str, Any] = {
            "FunctionName": i["function"],
            "StatementId": statement_id,
            "Action": i["action"],
            "Principal": i["principal"],
        }
        kwargs.update(
            _present(
                i,
                (
                    ("sourceArn", "SourceArn"),
                    ("sourceAccount", "SourceAccount"),
                    ("qualifier", "Qualifier"),
                    ("eventSourceToken", "EventSourceToken"),
                    ("functionUrlAuthType", "FunctionUrlAuthType"),
                    ("invokedViaFunctionUrl", "InvokedViaFunctionUrl"),
                    ("principalOrgId", "PrincipalOrgID"),
                ),
            )
        )
        self._client("lambda", region).add_permission(**kwargs)
        return statement_id, {**i, "statementId": statement_id}

    def _lambda_function_url(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        aws_lambda = self._client("lambda", region)
        function_arn = self._function_arn(i["functionName"], region)
        function_name = function_arn.rsplit(":", 1)[-1]
        kwargs: dict[str, Any] = {
            "FunctionName": function_name,
            "AuthType": i.get("authorizationType") or "NONE",
        }
        if i.get("cors"):
            kwargs["Cors"] = _pascal(i["cors"])
        if i.get("invokeMode"):
            kwargs["InvokeMode"] = i["invokeMode"]
        aws_lambda.create_function_url_config(**kwargs)  # control plane only: the gateway serves the URL
        url_id = f"{region}/{function_name}"
        url = f"{self.gateway_base_url}/lambda-url/{url_id}/"
        self.deployment.function_urls[url_id] = FunctionUrlDeployment(
            function_name=function_name,
            function_arn=function_arn,
            region=region,
            account_id=self.account_id,
            url=url,
            url_id=url_id,
            authorization_type=kwargs["AuthType"],
        )
        return function_name, {
            **i,
            "id": function_name,
            "functionArn": function_arn,
            "functionUrl": url,
            "urlId": url_id,
        }

    def _lambda_event_source_mapping(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        source_arn: str = i["eventSourceArn"]
        function_arn = self._function_arn(i["functionName"], region)
        batch_size = _int(i.get("batchSize") or 10)
        if source_arn.startswith("arn:aws:sqs:"):
            # Never in moto: its SQS mapping invokes synchronously inside send_message, ignores BatchSize
            # and never retries or redrives. localcloud's own poller runs these with AWS semantics.
            mapping_uuid = str(uuid.uuid4())
            self.deployment.event_source_mappings.append(
                SqsEventSourceMapping(
                    uuid=mapping_uuid,
                    queue_arn=source_arn,
                    function_arn=function_arn,
                    region=region,
                    batch_size=batch_size,
                    function_response_types=tuple(i.get("functionResponseTypes") or ()),
                    maximum_batching_window_seconds=_int(i.get("maximumBatchingWindowInSeconds") or 0),
                    maximum_concurrency=(
                        _int(i["scalingConfig"]["maximumConcurrency"])
                        if (i.get("scalingConfig") or {}).get("maximumConcurrency")
                        else None
                    ),
                    enabled=bool(i.get("enabled", True)),
                )
            )
            state = "Enabled"
        else:
            # Streams: moto keeps the mapping; DynamoDB's are delivered by localcloud's DynamoDbStreamPoller.
            kwargs: dict[str, Any] = {
                "EventSourceArn": source_arn,
                "FunctionName": function_arn,
                "BatchSize": batch_size,
                "Enabled": bool(i.get("enabled", True)),
            }
            if i.get("startingPosition"):
                kwargs["StartingPosition"] = i["startingPosition"]
            if i.get("functionResponseTypes"):
                kwargs["FunctionResponseTypes"] = list(i["functionResponseTypes"])
            if i.get("maximumBatchingWindowInSeconds") is not None:
                kwargs["MaximumBatchingWindowInSeconds"] = _int(i["maximumBatchingWindowInSeconds"])
            if i.get("filterCriteria"):
                kwargs["FilterCriteria"] = _pascal(i["filterCriteria"])
            if i.get("bisectBatchOnFunctionError") is not None:
                kwargs["BisectBatchOnFunctionError"] = bool(i["bisectBatchOnFunctionError"])
            if i.get("maximumRetryAttempts") is not None:
                kwargs["MaximumRetryAttempts"] = _int(i["maximumRetryAttempts"])
            on_failure = ((i.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
            if on_failure:
                kwargs["DestinationConfig"] = {"OnFailure": {"Destination": on_failure}}
            created = self._client("lambda", region).create_event_source_mapping(**kwargs)
            mapping_uuid = created["UUID"]
            state = created.get("State") or "Enabled"
        arn = f"arn:aws:lambda:{region}:{self.account_id}:event-source-mapping:{mapping_uuid}"
        return mapping_uuid, {
            **i,
            "id": mapping_uuid,
            "uuid": mapping_uuid,
            "arn": arn,
            "functionArn": function_arn,
            "state": state,
        }

    # ----------------------------------------------------------------------------- API Gateway v2
    def _apigw_api(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        protocol = i.get("protocolType") or "HTTP"
        if protocol != "HTTP":
            raise UnsupportedResourceError(f"aws:apigatewayv2/api:Api {args.name}: only HTTP APIs are served")
        name = self._name(args, i, max_length=128)
        kwargs: dict[str, Any] = {"Name": name, "ProtocolType": protocol}
        if i.get("description"):
            kwargs["Description"] = i["description"]
        if i.get("corsConfiguration"):
            kwargs["CorsConfiguration"] = _pascal(i["corsConfiguration"])
        if _tags(i):
            kwargs["Tags"] = _tags(i)
        api_id = self._client("apigatewayv2", region).create_api(**kwargs)["ApiId"]
        # Served by localcloud's gateway under a path prefix per API; route URLs are endpoint + path.
        endpoint = f"{self.gateway_base_url}/apis/{api_id}"
        self.deployment.http_apis[api_id] = HttpApiDeployment(
            api_id=api_id, name=name, region=region, account_id=self.account_id, endpoint=endpoint
        )
        return api_id, {
            **i,
            "id": api_id,
            "name": name,
            "apiEndpoint": endpoint,
            "arn": f"arn:aws:apigateway:{region}::/apis/{api_id}",
            "executionArn": f"arn:aws:execute-api:{region}:{self.account_id}:{api_id}",
        }

    def _apigw_integration(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"ApiId": i["apiId"], "IntegrationType": i["integrationType"]}
        kwargs.update(
            _present(
                i,
                (
                    ("integrationUri", "IntegrationUri"),
                    ("integrationSubtype", "IntegrationSubtype"),
                    ("integrationMethod", "IntegrationMethod"),
                    ("payloadFormatVersion", "PayloadFormatVersion"),
                    ("credentialsArn", "CredentialsArn"),
                    ("connectionType", "ConnectionType"),
                    ("description", "Description"),
                    ("requestParameters", "RequestParameters"),
                ),
            )
        )
        if i.get("timeoutMilliseconds"):
            kwargs["TimeoutInMillis"] = _int(i["timeoutMilliseconds"])
        integration_id = self._client("apigatewayv2", region).create_integration(**kwargs)["IntegrationId"]
        function_arn = None
        uri = i.get("integrationUri") or ""
        if i["integrationType"] == "AWS_PROXY" and not i.get("integrationSubtype"):
            match = _LAMBDA_INVOKE_URI.match(uri)  # an invokeArn wraps the function ARN
            function_arn = match.group("arn") if match else uri
        http_api = self.deployment.http_apis.get(i["apiId"])
        if http_api is None:
            raise UnsupportedResourceError(f"integration for unknown API {i['apiId']}")
        http_api.integrations[integration_id] = RouteIntegration(
            integration_id=integration_id,
            integration_type=i["integrationType"],
            integration_subtype=i.get("integrationSubtype"),
            function_arn=function_arn,
            payload_format_version=i.get("payloadFormatVersion") or "1.0",
            credentials_arn=i.get("credentialsArn"),
            request_parameters=dict(i.get("requestParameters") or {}),
            timeout_ms=_int(i.get("timeoutMilliseconds") or 30_000),
        )
        return integration_id, {**i, "id": integration_id}

    def _apigw_route(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"ApiId": i["apiId"], "RouteKey": i["routeKey"]}
        kwargs.update(
            _present(
                i,
                (
                    ("target", "Target"),
                    ("authorizationType", "AuthorizationType"),
                    ("authorizerId", "AuthorizerId"),
                    ("operationName", "OperationName"),
                ),
            )
        )
        route_id = self._client("apigatewayv2", region).create_route(**kwargs)["RouteId"]
        target: str = i.get("target") or ""
        http_api = self.deployment.http_apis.get(i["apiId"])
        if http_api is not None and target.startswith("integrations/"):
            http_api.routes[i["routeKey"]] = target.removeprefix("integrations/")
        return route_id, {**i, "id": route_id}

    def _apigw_stage(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = i.get("name") or self._name(args, i)
        kwargs: dict[str, Any] = {
            "ApiId": i["apiId"],
            "StageName": name,
            "AutoDeploy": bool(i.get("autoDeploy")),
        }
        if i.get("defaultRouteSettings"):
            kwargs["DefaultRouteSettings"] = _pascal(i["defaultRouteSettings"])
            # Rate limits are doubles in the API; _pascal turned whole floats into ints, which is still valid.
        if i.get("accessLogSettings"):
            kwargs["AccessLogSettings"] = _pascal(i["accessLogSettings"])
        if i.get("stageVariables"):
            kwargs["StageVariables"] = dict(i["stageVariables"])
        self._client("apigatewayv2", region).create_stage(**kwargs)
        api = self.deployment.http_apis.get(i["apiId"])
        endpoint = api.endpoint if api else f"{self.gateway_base_url}/apis/{i['apiId']}"
        if api is not None:
            api.stages.append(name)
        execution_arn = f"arn:aws:execute-api:{region}:{self.account_id}:{i['apiId']}/{name}"
        invoke_url = endpoint if name == "$default" else f"{endpoint}/{name}"
        return name, {
            **i,
            "id": name,
            "name": name,
            "arn": f"arn:aws:apigateway:{region}::/apis/{i['apiId']}/stages/{name}",
            "executionArn": execution_arn,
            "invokeUrl": invoke_url,
        }

    # ---------------------------------------------------------------------------- API Gateway REST
    # moto holds the control plane (so the program's ids are real and `aws apigateway get-*` works);
    # the gateway serves what is recorded in deployment.rest_apis (see localcloud/rest_api.py).
    def _rest(self, api_id: str) -> RestApiDeployment:
        api = self.deployment.rest_apis.get(api_id)
        if api is None:
            raise UnsupportedResourceError(f"API Gateway REST API {api_id} was not created by this program")
        return api

    def _rest_api(self, args: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        if i.get("body"):
            # An OpenAPI body defines the whole API in one document; we only model the resource form.
            raise UnsupportedResourceError(
                f"aws:apigateway/restApi:RestApi {args.name}: OpenAPI `body` is not supported by localcloud; "
                "declare Resource/Method/Integration resources instead"
            )
        name = self._name(args, i, max_length=1024)
        kwargs: dict[str, Any] = {"name": name}
        if i.get("description"):
            kwargs["description"] = i["description"]
        types = (i.get("endpointConfiguration") or {}).get("types")
        if types:
            # v7 declares `types` as one string (it manages a single value); older programs pass a list.
            kwargs["endpointConfiguration"] = {"types": [types] if isinstance(types, str) else list(types)}
        if i.get("binaryMediaTypes"):
            kwargs["binaryMediaTypes"] = list(i["binaryMediaTypes"])
        if i.get("apiKeySource"):
            kwargs["apiKeySource"] = i["apiKeySource"]
        if _tags(i):
            kwargs["tags"] = _tags(i)
        created = self._client("apigateway", region).create_rest_api(**kwargs)
        api_id, root_id = created["id"], created["rootResourceId"]
        endpoint = f"{self.gateway_base_url}/restapis/{api_id}"
        api = RestApiDeployment(
            api_id=api_id,
            name=name,
            region=region,
            account_id=self.account_id,
            root_resource_id=root_id,
            endpoint=endpoint,
        )
        api.definition.resources[root_id] = RestResource(resource_id=root_id, path="/")
        self.deployment.rest_apis[api_id] = api
        return api_id, {
            **i,
            "id": api_id,
            "name": name,
            "rootResourceId": root_id,
            "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}",
            "executionArn": f"arn:aws:execute-api:{region}:{self.account_id}:{api_id}",
            "createdDate": str(created.get("createdDate") or ""),
            "endpointConfiguration": i.get("endpointConfiguration") or {"types": ["EDGE"]},
        }

    def _rest_resource(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        created = self._client("apigateway", region).create_resource(
            restApiId=i["restApi"], parentId=i["parentId"], pathPart=i["pathPart"]
        )
        resource_id, path = created["id"], created["path"]
        self._rest(i["restApi"]).definition.resources[resource_id] = RestResource(
            resource_id=resource_id, path=path
        )
        return resource_id, {**i, "id": resource_id, "path": path}

    def _rest_model(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i).replace("-", "")  # model names are alphanumeric
        content_type = i.get("contentType") or "application/json"
        kwargs: dict[str, Any] = {"restApiId": i["restApi"], "name": name, "contentType": content_type}
        if i.get("schema"):
            kwargs["schema"] = i["schema"]
        if i.get("description"):
            kwargs["description"] = i["description"]
        model_id = self._client("apigateway", region).create_model(**kwargs)["id"]
        self._rest(i["restApi"]).definition.models[name] = RestModel(
            name=name, content_type=content_type, schema=i.get("schema") or "{}"
        )
        return model_id, {**i, "id": model_id, "name": name, "contentType": content_type}

    def _rest_validator(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i)
        body, parameters = bool(i.get("validateRequestBody")), bool(i.get("validateRequestParameters"))
        validator_id = self._client("apigateway", region).create_request_validator(
            restApiId=i["restApi"], name=name, validateRequestBody=body, validateRequestParameters=parameters
        )["id"]
        self._rest(i["restApi"]).definition.validators[validator_id] = RestRequestValidator(
            validator_id=validator_id,
            name=name,
            validate_request_body=body,
            validate_request_parameters=parameters,
        )
        return validator_id, {**i, "id": validator_id, "name": name}

    def _rest_method(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, resource_id, method = i["restApi"], i["resourceId"], i["httpMethod"].upper()
        authorization = i.get("authorization") or "NONE"
        if authorization != "NONE":
            # Authorizers (IAM, Cognito, Lambda) are not enforced: refuse rather than serve an open API.
            raise UnsupportedResourceError(
                f"aws:apigateway/method:Method {method}: localcloud serves only authorization NONE"
            )
        kwargs: dict[str, Any] = {
            "restApiId": api_id,
            "resourceId": resource_id,
            "httpMethod": method,
            "authorizationType": authorization,
            "apiKeyRequired": bool(i.get("apiKeyRequired")),
        }
        for wire in ("requestValidatorId", "requestModels", "requestParameters", "operationName"):
            if i.get(wire):
                kwargs[wire] = i[wire]
        self._client("apigateway", region).put_method(**kwargs)
        self._rest(api_id).definition.methods[(resource_id, method)] = RestMethod(
            resource_id=resource_id,
            http_method=method,
            authorization=authorization,
            request_validator_id=i.get("requestValidatorId") or None,
            request_models=dict(i.get("requestModels") or {}),
            request_parameters={k: bool(v) for k, v in (i.get("requestParameters") or {}).items()},
            api_key_required=bool(i.get("apiKeyRequired")),
        )
        method_id = f"agm-{api_id}-{resource_id}-{method}"
        return method_id, {**i, "id": method_id, "httpMethod": method, "authorization": authorization}

    def _rest_integration(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, resource_id, method = i["restApi"], i["resourceId"], i["httpMethod"].upper()
        kwargs: dict[str, Any] = {
            "restApiId": api_id,
            "resourceId": resource_id,
            "httpMethod": method,
            "type": i["type"],
        }
        kwargs.update(
            _present(
                i,
                (
                    ("integrationHttpMethod", "integrationHttpMethod"),
                    ("uri", "uri"),
                    ("credentials", "credentials"),
                    ("requestParameters", "requestParameters"),
                    ("requestTemplates", "requestTemplates"),
                    ("passthroughBehavior", "passthroughBehavior"),
                    ("contentHandling", "contentHandling"),
                ),
            )
        )
        if i.get("timeoutMilliseconds"):
            kwargs["timeoutInMillis"] = _int(i["timeoutMilliseconds"])
        self._client("apigateway", region).put_integration(**kwargs)
        self._rest(api_id).definition.integrations[(resource_id, method)] = RestIntegration(
            resource_id=resource_id,
            http_method=method,
            integration_type=i["type"],
            integration_http_method=i.get("integrationHttpMethod") or None,
            uri=i.get("uri") or None,
            credentials=i.get("credentials") or None,
            request_parameters=dict(i.get("requestParameters") or {}),
            request_templates=dict(i.get("requestTemplates") or {}),
            passthrough_behavior=i.get("passthroughBehavior") or "WHEN_NO_MATCH",
            timeout_ms=_int(i.get("timeoutMilliseconds") or 29_000),
        )
        integration_id = f"agi-{api_id}-{resource_id}-{method}"
        return integration_id, {**i, "id": integration_id, "httpMethod": method}

    def _rest_method_response(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, resource_id, method = i["restApi"], i["resourceId"], i["httpMethod"].upper()
        status = str(i["statusCode"])
        kwargs: dict[str, Any] = {
            "restApiId": api_id,
            "resourceId": resource_id,
            "httpMethod": method,
            "statusCode": status,
        }
        if i.get("responseModels"):
            kwargs["responseModels"] = i["responseModels"]
        if i.get("responseParameters"):
            kwargs["responseParameters"] = {k: bool(v) for k, v in i["responseParameters"].items()}
        self._client("apigateway", region).put_method_response(**kwargs)
        self._rest(api_id).definition.method_responses.setdefault((resource_id, method), []).append(status)
        response_id = f"agmr-{api_id}-{resource_id}-{method}-{status}"
        return response_id, {**i, "id": response_id}

    def _rest_integration_response(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, resource_id, method = i["restApi"], i["resourceId"], i["httpMethod"].upper()
        status = str(i["statusCode"])
        kwargs: dict[str, Any] = {
            "restApiId": api_id,
            "resourceId": resource_id,
            "httpMethod": method,
            "statusCode": status,
        }
        for wire in ("selectionPattern", "responseTemplates", "responseParameters", "contentHandling"):
            if i.get(wire):
                kwargs[wire] = i[wire]
        self._client("apigateway", region).put_integration_response(**kwargs)
        responses = self._rest(api_id).definition.integration_responses.setdefault((resource_id, method), {})
        responses[status] = RestIntegrationResponse(
            status_code=status,
            selection_pattern=i.get("selectionPattern") or None,
            response_templates=dict(i.get("responseTemplates") or {}),
            response_parameters=dict(i.get("responseParameters") or {}),
        )
        response_id = f"agir-{api_id}-{resource_id}-{method}-{status}"
        return response_id, {**i, "id": response_id}

    def _rest_gateway_response(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, response_type = i["restApiId"], i["responseType"]
        kwargs: dict[str, Any] = {"restApiId": api_id, "responseType": response_type}
        for wire in ("statusCode", "responseTemplates", "responseParameters"):
            if i.get(wire):
                kwargs[wire] = i[wire]
        self._client("apigateway", region).put_gateway_response(**kwargs)
        self._rest(api_id).definition.gateway_responses[response_type] = RestGatewayResponse(
            response_type=response_type,
            status_code=str(i["statusCode"]) if i.get("statusCode") else None,
            response_templates=dict(i.get("responseTemplates") or {}),
            response_parameters=dict(i.get("responseParameters") or {}),
        )
        response_id = f"aggr-{api_id}-{response_type}"
        return response_id, {**i, "id": response_id}

    def _rest_deployment(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id = i["restApi"]
        kwargs: dict[str, Any] = {"restApiId": api_id}
        if i.get("description"):
            kwargs["description"] = i["description"]
        if i.get("variables"):
            kwargs["variables"] = dict(i["variables"])
        created = self._client("apigateway", region).create_deployment(**kwargs)
        deployment_id = created["id"]
        # AWS freezes the API at this moment; what arrives later needs a new Deployment (its triggers).
        self._rest(api_id).snapshot(deployment_id)
        return deployment_id, {**i, "id": deployment_id, "createdDate": str(created.get("createdDate") or "")}

    def _rest_stage(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        api_id, name, deployment_id = i["restApi"], i["stageName"], i["deployment"]
        kwargs: dict[str, Any] = {"restApiId": api_id, "stageName": name, "deploymentId": deployment_id}
        if i.get("description"):
            kwargs["description"] = i["description"]
        if i.get("variables"):
            kwargs["variables"] = dict(i["variables"])
        if i.get("xrayTracingEnabled") is not None:
            kwargs["tracingEnabled"] = bool(i["xrayTracingEnabled"])
        if _tags(i):
            kwargs["tags"] = _tags(i)
        self._client("apigateway", region).create_stage(**kwargs)
        api = self._rest(api_id)
        api.stages[name] = RestStage(
            name=name, deployment_id=deployment_id, variables=dict(i.get("variables") or {})
        )
        stage_id = f"ags-{api_id}-{name}"
        return stage_id, {
            **i,
            "id": stage_id,
            "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{name}",
            "executionArn": f"arn:aws:execute-api:{region}:{self.account_id}:{api_id}/{name}",
            "invokeUrl": f"{api.endpoint}/{name}",
        }

    # MethodSettings wire key -> the update_stage patch path suffix (AWS and moto spell them so).
    _METHOD_SETTING_PATHS: ClassVar[dict[str, str]] = {
        "metricsEnabled": "metrics/enabled",
        "loggingLevel": "logging/loglevel",
        "dataTraceEnabled": "logging/dataTrace",
        "throttlingBurstLimit": "throttling/burstLimit",
        "throttlingRateLimit": "throttling/rateLimit",
        "cachingEnabled": "caching/enabled",
        "cacheTtlInSeconds": "caching/ttlInSeconds",
    }

    def _rest_method_settings(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        api_id, stage, method_path = i["restApi"], i["stageName"], i["methodPath"]
        settings = {k: v for k, v in (i.get("settings") or {}).items() if v is not None}
        operations = []
        for wire, suffix in self._METHOD_SETTING_PATHS.items():
            if wire in settings:
                value = settings[wire]
                text = str(value).lower() if isinstance(value, bool) else str(_pascal(value))
                operations.append({"op": "replace", "path": f"/{method_path}/{suffix}", "value": text})
        if operations:
            self._client("apigateway", region).update_stage(
                restApiId=api_id, stageName=stage, patchOperations=operations
            )
        recorded = self._rest(api_id).stages.get(stage)
        if recorded is not None:
            # Recorded for inspection; the gateway does not throttle (see localcloud/rest_api.py).
            recorded.method_settings[method_path] = settings
        settings_id = f"{api_id}-{stage}-{method_path}"
        return settings_id, {**i, "id": settings_id}

    def _rest_account(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        if i.get("cloudwatchRoleArn"):
            self._client("apigateway", region).update_account(
                patchOperations=[
                    {"op": "replace", "path": "/cloudwatchRoleArn", "value": i["cloudwatchRoleArn"]}
                ]
            )
        return "api-gateway-account", {
            **i,
            "id": "api-gateway-account",
            "throttleSettings": [{"burstLimit": 5000, "rateLimit": 10000.0}],
        }

    # ----------------------------------------------------------------------------- other services
    def _sfn_state_machine(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=80)
        kwargs: dict[str, Any] = {
            "name": name,
            "definition": i["definition"],
            "roleArn": i["roleArn"],
            "type": i.get("type") or "STANDARD",
        }
        logging_configuration = i.get("loggingConfiguration") or {}
        if logging_configuration.get("level"):
            # Wire: {level, includeExecutionData, logDestination: "<log group arn>:*"}.
            kwargs["loggingConfiguration"] = {
                "level": logging_configuration["level"],
                "includeExecutionData": bool(logging_configuration.get("includeExecutionData")),
                **(
                    {
                        "destinations": [
                            {
                                "cloudWatchLogsLogGroup": {
                                    "logGroupArn": logging_configuration["logDestination"]
                                }
                            }
                        ]
                    }
                    if logging_configuration.get("logDestination")
                    else {}
                ),
            }
        if (i.get("tracingConfiguration") or {}).get("enabled") is not None:
            kwargs["tracingConfiguration"] = {"enabled": bool(i["tracingConfiguration"]["enabled"])}
        if _tags(i):
            kwargs["tags"] = [{"key": k, "value": v} for k, v in _tags(i).items()]
        created = self._client("stepfunctions", region).create_state_machine(**kwargs)
        arn = created["stateMachineArn"]
        return arn, {
            **i,
            "id": arn,
            "arn": arn,
            "name": name,
            "status": "ACTIVE",
            "creationDate": str(created.get("creationDate") or ""),
            "stateMachineVersionArn": created.get("stateMachineVersionArn") or "",
        }

    def _ses_identity(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        identity = i["emailIdentity"]
        self._client("sesv2", region).create_email_identity(EmailIdentity=identity)
        kind = "EMAIL_ADDRESS" if "@" in identity else "DOMAIN"
        arn = f"arn:aws:ses:{region}:{self.account_id}:identity/{identity}"
        return identity, {
            **i,
            "id": identity,
            "arn": arn,
            "identityType": kind,
            "verifiedForSendingStatus": True,
        }

    def _route53_zone(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"Name": i["name"], "CallerReference": str(uuid.uuid4())}
        config: dict[str, Any] = {"Comment": i["comment"]} if i.get("comment") else {}
        vpcs = list(i.get("vpcs") or [])
        if vpcs:  # a private zone: created with its first VPC, then associated with the others
            config["PrivateZone"] = True
            kwargs["VPC"] = {"VPCRegion": vpcs[0]["vpcRegion"], "VPCId": vpcs[0]["vpcId"]}
        if config:
            kwargs["HostedZoneConfig"] = config
        route53 = self._client("route53", region)
        created = route53.create_hosted_zone(**kwargs)
        zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
        for vpc in vpcs[1:]:
            route53.associate_vpc_with_hosted_zone(
                HostedZoneId=zone_id, VPC={"VPCRegion": vpc["vpcRegion"], "VPCId": vpc["vpcId"]}
            )
        return zone_id, {
            **i,
            "id": zone_id,
            "zoneId": zone_id,
            "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "nameServers": list(created.get("DelegationSet", {}).get("NameServers", [])),
        }

    def _route53_record(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        record: dict[str, Any] = {"Name": i["name"], "Type": i["type"]}
        if i.get("ttl") is not None:
            record["TTL"] = _int(i["ttl"])
        if i.get("records"):
            # The provider quotes TXT values for Route 53, which stores them quoted.
            record["ResourceRecords"] = [
                {"Value": f'"{value}"' if i["type"] == "TXT" and not value.startswith('"') else value}
                for value in i["records"]
            ]
        if i.get("aliases"):
            alias = i["aliases"][0]
            record["AliasTarget"] = {
                "DNSName": alias["name"],
                "HostedZoneId": alias["zoneId"],
                "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth")),
            }
        if i.get("setIdentifier"):
            record["SetIdentifier"] = i["setIdentifier"]
        if i.get("healthCheckId"):
            record["HealthCheckId"] = i["healthCheckId"]
        if i.get("failoverRoutingPolicies"):
            record["Failover"] = i["failoverRoutingPolicies"][0]["type"]
        if i.get("weightedRoutingPolicies"):
            record["Weight"] = _int(i["weightedRoutingPolicies"][0]["weight"])
        if i.get("latencyRoutingPolicies"):
            record["Region"] = i["latencyRoutingPolicies"][0]["region"]
        self._client("route53", region).change_resource_record_sets(
            HostedZoneId=i["zoneId"],
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
        )
        parts = [i["zoneId"], i["name"], i["type"]] + ([i["setIdentifier"]] if i.get("setIdentifier") else [])
        return "_".join(parts), {**i, "fqdn": i["name"]}

    def _vpc(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        ec2 = self._client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock=i["cidrBlock"])["Vpc"]
        vpc_id = vpc["VpcId"]
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            if i.get(attribute) is not None:
                ec2.modify_vpc_attribute(
                    VpcId=vpc_id, **{attribute[0].upper() + attribute[1:]: {"Value": bool(i[attribute])}}
                )
        return vpc_id, {
            **i,
            "id": vpc_id,
            "arn": f"arn:aws:ec2:{region}:{self.account_id}:vpc/{vpc_id}",
            "defaultSecurityGroupId": "",
            "mainRouteTableId": "",
            "ownerId": self.account_id,
        }

    def _kms_key(self, _a: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"Description": i.get("description") or ""}
        if i.get("policy"):
            kwargs["Policy"] = i["policy"]
        kms = self._client("kms", region)
        metadata = kms.create_key(**kwargs)["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return metadata["KeyId"], {
            **i,
            "id": metadata["KeyId"],
            "keyId": metadata["KeyId"],
            "arn": metadata["Arn"],
        }

    def _redis_group(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        # Not created in moto: localcloud starts a real redis-server on the endpoint the hook hands out.
        group_id = self._name(args, i, key="replicationGroupId", max_length=40, lower=True)
        host, port = self.redis_endpoint(args.name, group_id)
        self.deployment.redis_clusters.append(
            RedisCluster(
                logical_name=args.name, replication_group_id=group_id, region=region, port=port, host=host
            )
        )
        return group_id, {
            **i,
            "id": group_id,
            "replicationGroupId": group_id,
            "arn": f"arn:aws:elasticache:{region}:{self.account_id}:replicationgroup:{group_id}",
            "primaryEndpointAddress": host,
            "readerEndpointAddress": host,
            "port": port,
            "memberClusters": [f"{group_id}-001"],
        }

    def _secret(self, args: MockResourceArgs, i: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=512)
        kwargs: dict[str, Any] = {"Name": name}
        if i.get("description"):
            kwargs["Description"] = i["description"]
        if i.get("kmsKeyId"):
            kwargs["KmsKeyId"] = i["kmsKeyId"]
        if _tags(i):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in _tags(i).items()]
        arn = self._client("secretsmanager", region).create_secret(**kwargs)["ARN"]
        return arn, {**i, "id": arn, "arn": arn, "name": name}

    def _secret_version(
        self, _a: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {"SecretId": i["secretId"]}
        if i.get("secretString") is not None:
            kwargs["SecretString"] = i["secretString"]
        elif i.get("secretBinary") is not None:
            kwargs["SecretBinary"] = base64.b64decode(i["secretBinary"])
        put = self._client("secretsmanager", region).put_secret_value(**kwargs)
        return f"{i['secretId']}|{put['VersionId']}", {**i, "arn": put["ARN"], "versionId": put["VersionId"]}

    def _ssm_document(
        self, args: MockResourceArgs, i: dict[str, Any], region: str
    ) -> tuple[str, dict[str, Any]]:
        name = self._name(args, i, max_length=128)
        kwargs: dict[str, Any] = {
            "Name": name,
            "Content": i["content"],
            "DocumentType": i.get("documentType") or "Command",
            "DocumentFormat": i.get("documentFormat") or "JSON",
        }
        self._client("ssm", region).create_document(**kwargs)
        arn = f"arn:aws:ssm:{region}:{self.account_id}:document/{name}"
        return name, {**i, "id": name, "name": name, "arn": arn}

    def _random_password(
        self, _a: MockResourceArgs, i: dict[str, Any], _region: str
    ) -> tuple[str, dict[str, Any]]:
        # pulumi-random generates on the deploying machine, with no cloud API: so does localcloud.
        alphabet = "".join(
            characters
            for flag, characters in (
                ("upper", string.ascii_uppercase),
                ("lower", string.ascii_lowercase),
                ("numeric", string.digits),
                ("special", i.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"),
            )
            if i.get(flag, True) is not False
        )
        if not alphabet:
            raise ValueError("RandomPassword: upper, lower, numeric and special are all off")
        result = "".join(secrets.choice(alphabet) for _ in range(_int(i["length"])))
        return "none", {**i, "result": result}


def provision(
    stack: str, provisioner: MotoProvisioner, *, config_overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Deploy the program's `stack` into the emulator behind `provisioner`; return the stack exports."""
    return _plain(run_program(provisioner, stack=stack, config_overrides=config_overrides))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in _unwrap(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
