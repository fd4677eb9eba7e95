"""S3 resources of a Pulumi program -> S3 API calls on the emulator.

A bucket's settings are separate resources in pulumi-aws v7 (versioning, encryption, public access block,
policy, ownership, lifecycle, notifications, replication), each one API call on the bucket they name.
Replication rules are also recorded for localcloud's replicator (see replication.py for why).
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry, arn
from localcloud.core.fields import FieldMap, Param, api_parameters, pascal_case, tag_list, tags
from localcloud.services.s3.replication import ReplicationConfig, ReplicationRecord

_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_DEFAULT_ENCRYPTION = {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}
# BucketNotification wire list -> (API configuration list, wire ARN field, API ARN field)
_NOTIFICATION_TARGETS = (
    ("queues", "QueueConfigurations", "queueArn", "QueueArn"),
    ("topics", "TopicConfigurations", "topicArn", "TopicArn"),
    ("lambdaFunctions", "LambdaFunctionConfigurations", "lambdaFunctionArn", "LambdaFunctionArn"),
)


def create_bucket(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    # S3 bucket names are lower-case and at most 63 characters; Pulumi's auto-name lower-cases too.
    name = ctx.name(args, inputs, key="bucket", prefix_key="bucketPrefix", max_length=63, lower=True)
    s3 = ctx.client("s3", region)
    # us-east-1 is the one region that rejects an explicit LocationConstraint.
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    if inputs.get("objectLockEnabled"):
        s3.put_object_lock_configuration(
            Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
        )
    if tags(inputs):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(inputs)})
    return name, {
        **inputs,
        "id": name,
        "bucket": name,
        "arn": arn("s3", name),
        "region": region,
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }


def put_versioning(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ctx.client("s3", region).put_bucket_versioning(
        Bucket=inputs["bucket"], VersioningConfiguration=pascal_case(inputs["versioningConfiguration"])
    )
    return inputs["bucket"], dict(inputs)


def put_encryption(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    rules = [
        {
            "ApplyServerSideEncryptionByDefault": api_parameters(
                rule["applyServerSideEncryptionByDefault"], _DEFAULT_ENCRYPTION
            ),
            "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled", False)),
        }
        for rule in inputs["rules"]
    ]
    ctx.client("s3", region).put_bucket_encryption(
        Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return inputs["bucket"], dict(inputs)


def put_public_access_block(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    # Every flag is sent: an unset one means "off", and the API replaces the whole configuration.
    configuration = {
        flag[:1].upper() + flag[1:]: bool(inputs.get(flag, False)) for flag in _PUBLIC_ACCESS_FLAGS
    }
    ctx.client("s3", region).put_public_access_block(
        Bucket=inputs["bucket"], PublicAccessBlockConfiguration=configuration
    )
    return inputs["bucket"], dict(inputs)


def put_policy(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ctx.client("s3", region).put_bucket_policy(Bucket=inputs["bucket"], Policy=inputs["policy"])
    return inputs["bucket"], dict(inputs)


def put_ownership_controls(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ctx.client("s3", region).put_bucket_ownership_controls(
        Bucket=inputs["bucket"],
        OwnershipControls={"Rules": [{"ObjectOwnership": inputs["rule"]["objectOwnership"]}]},
    )
    return inputs["bucket"], dict(inputs)


def put_lifecycle(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    rules = []
    for rule in pascal_case(inputs["rules"]):
        # An empty filter means "every object"; the S3 API spells that Filter={"Prefix": ""}.
        if not rule.get("Filter"):
            rule["Filter"] = {"Prefix": ""}
        rules.append(rule)
    ctx.client("s3", region).put_bucket_lifecycle_configuration(
        Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return inputs["bucket"], dict(inputs)


def put_cors(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    # moto answers a browser's preflight and request from these rules (localcloud turns moto's global
    # allow-all CORS off: see core/emulator.py).
    ctx.client("s3", region).put_bucket_cors(
        Bucket=inputs["bucket"], CORSConfiguration={"CORSRules": pascal_case(inputs["corsRules"])}
    )
    return inputs["bucket"], dict(inputs)


def _notification_filter(entry: dict[str, Any]) -> dict[str, Any]:
    rules = [
        {"Name": name, "Value": entry[key]}
        for name, key in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
        if entry.get(key)
    ]
    return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


def put_notifications(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    configuration: dict[str, Any] = {}
    for wire_list, api_list, wire_arn, api_arn in _NOTIFICATION_TARGETS:
        entries = inputs.get(wire_list) or []
        if entries:
            fields: FieldMap = {"id": "Id", wire_arn: api_arn, "events": Param("Events", list)}
            configuration[api_list] = [
                {**api_parameters(entry, fields), **_notification_filter(entry)} for entry in entries
            ]
    if inputs.get("eventbridge"):
        configuration["EventBridgeConfiguration"] = {}
    ctx.client("s3", region).put_bucket_notification_configuration(
        Bucket=inputs["bucket"], NotificationConfiguration=configuration
    )
    return inputs["bucket"], dict(inputs)


def put_replication(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    rules = pascal_case(inputs["rules"])
    ctx.client("s3", region).put_bucket_replication(
        Bucket=inputs["bucket"], ReplicationConfiguration={"Role": inputs["role"], "Rules": rules}
    )
    # moto stores the configuration but copies nothing: localcloud's replicator works from this record.
    ctx.record(ReplicationRecord).configs.append(
        ReplicationConfig(bucket=inputs["bucket"], region=region, role_arn=inputs["role"], rules=tuple(rules))
    )
    return inputs["bucket"], dict(inputs)


CREATORS: Registry = {
    "aws:s3/bucket:Bucket": create_bucket,
    "aws:s3/bucketVersioning:BucketVersioning": put_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": put_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": put_public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": put_policy,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": put_ownership_controls,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": put_lifecycle,
    "aws:s3/bucketNotification:BucketNotification": put_notifications,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": put_cors,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": put_replication,
}
