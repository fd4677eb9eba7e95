"""DynamoDB resources of a Pulumi program -> DynamoDB API calls on the emulator.

A table with `replicas` (a global table, version 2019.11.21) becomes the same table in each replica
region; moto never replicates items between them, localcloud's replicator (replication.py) does.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import integer, tag_list, tags


def _throughput(billing_mode: str, source: dict[str, Any]) -> dict[str, Any]:
    if billing_mode != "PROVISIONED":
        return {}
    return {
        "ProvisionedThroughput": {
            "ReadCapacityUnits": integer(source.get("readCapacity") or 1),
            "WriteCapacityUnits": integer(source.get("writeCapacity") or 1),
        }
    }


def _index(table_hash_key: str, source: dict[str, Any], throughput: dict[str, Any]) -> dict[str, Any]:
    schema = [{"AttributeName": source.get("hashKey") or table_hash_key, "KeyType": "HASH"}]
    if source.get("rangeKey"):
        schema.append({"AttributeName": source["rangeKey"], "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": source.get("projectionType") or "ALL"}
    if source.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(source["nonKeyAttributes"])
    return {"IndexName": source["name"], "KeySchema": schema, "Projection": projection, **throughput}


def table_spec(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """CreateTable's arguments for a Table resource's inputs."""
    keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    billing = inputs.get("billingMode") or "PROVISIONED"
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": attribute["name"], "AttributeType": attribute["type"]}
            for attribute in inputs.get("attributes") or []
        ],
        "BillingMode": billing,
        **_throughput(billing, inputs),
    }
    if inputs.get("globalSecondaryIndexes"):
        spec["GlobalSecondaryIndexes"] = [
            _index(inputs["hashKey"], index, _throughput(billing, index))
            for index in inputs["globalSecondaryIndexes"]
        ]
    if inputs.get("localSecondaryIndexes"):
        spec["LocalSecondaryIndexes"] = [
            _index(inputs["hashKey"], index, {}) for index in inputs["localSecondaryIndexes"]
        ]
    if inputs.get("streamEnabled"):
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}
    encryption = inputs.get("serverSideEncryption") or {}
    if encryption.get("enabled"):
        spec["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            **({"KMSMasterKeyId": encryption["kmsKeyArn"]} if encryption.get("kmsKeyArn") else {}),
        }
    if inputs.get("tableClass"):
        spec["TableClass"] = inputs["tableClass"]
    if tags(inputs):
        spec["Tags"] = tag_list(inputs)
    return spec


def _create_table(ctx: ProvisioningContext, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    dynamodb = ctx.client("dynamodb", region)
    description: dict[str, Any] = dynamodb.create_table(**table_spec(name, inputs))["TableDescription"]
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled") and ttl.get("attributeName"):
        # moto stores TTL but never expires items (known gap).
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return description


def _stream_outputs(description: dict[str, Any]) -> dict[str, str]:
    return {
        "streamArn": description.get("LatestStreamArn") or "",
        "streamLabel": description.get("LatestStreamLabel") or "",
    }


def create_table(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs)
    description = _create_table(ctx, name, inputs, region)
    # Global table replicas: the same table in each replica region (replication.py keeps their items).
    replicas = []
    for replica in inputs.get("replicas") or []:
        replica_description = _create_table(ctx, name, inputs, replica["regionName"])
        replicas.append(
            {**replica, "arn": replica_description["TableArn"], **_stream_outputs(replica_description)}
        )
    return name, {
        **inputs,
        "id": name,
        "name": name,
        "arn": description["TableArn"],
        **_stream_outputs(description),
        "replicas": replicas,
    }


def put_item(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    item = json.loads(inputs["item"])
    ctx.client("dynamodb", region).put_item(TableName=inputs["tableName"], Item=item)
    key_parts = [inputs["tableName"], inputs["hashKey"], json.dumps(item[inputs["hashKey"]], sort_keys=True)]
    if inputs.get("rangeKey"):
        key_parts += [inputs["rangeKey"], json.dumps(item[inputs["rangeKey"]], sort_keys=True)]
    return "|".join(key_parts), dict(inputs)


CREATORS: Registry = {
    "aws:dynamodb/table:Table": create_table,
    "aws:dynamodb/tableItem:TableItem": put_item,
}
