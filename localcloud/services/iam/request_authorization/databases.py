"""DynamoDB and DynamoDB Streams: tables (by name or ARN), indexes, batches, transactions and PartiQL.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from localcloud.services.iam.request_authorization.model import (
    WILDCARD,
    Call,
    Check,
    Rule,
    Service,
    anywhere,
    each,
    on,
    param,
    uniform,
    unique,
)


def table_arn(call: Call, table: str) -> str:
    """Newer SDKs accept a table's ARN wherever its name goes."""
    return table if table.startswith("arn:") else call.arn("dynamodb", f"table/{table}")


def _table_or_index(call: Call) -> str | None:
    table = call.text("TableName", "TableArn")
    if table is None:
        return None
    index = call.text("IndexName")  # Query, Scan and contributor insights read an index on its own ARN
    return f"{table_arn(call, table)}/index/{index}" if index else table_arn(call, table)


def _batch_tables(call: Call) -> list[str]:
    items = call.value("RequestItems")
    return [table_arn(call, str(table)) for table in items] if isinstance(items, Mapping) else []


# TransactWriteItems and TransactGetItems are no IAM actions: each item is authorized as its own action.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _transact(call: Call) -> list[Check]:
    checks = [
        call.check(table_arn(call, item[kind]["TableName"]), action)
        for item in call.items("TransactItems")
        if isinstance(item, Mapping)
        for kind, action in _TRANSACT_ACTIONS.items()
        if isinstance(item.get(kind), Mapping) and isinstance(item[kind].get("TableName"), str)
    ]
    return unique(checks) or [call.check(WILDCARD)]


# PartiQL statements are authorized as dynamodb:PartiQL<Verb> on the table, or the index they read.
_IDENTIFIER = r'"(?:[^"]|"")+"|[\w-]+'
_TARGET = rf"(?P<table>{_IDENTIFIER})(?:\s*\.\s*(?P<index>{_IDENTIFIER}))?"
_STATEMENTS = {
    "select": ("PartiQLSelect", re.compile(rf"select\b.*?\bfrom\s+{_TARGET}", re.IGNORECASE | re.DOTALL)),
    "insert": ("PartiQLInsert", re.compile(rf"insert\s+into\s+{_TARGET}", re.IGNORECASE)),
    "update": ("PartiQLUpdate", re.compile(rf"update\s+{_TARGET}", re.IGNORECASE)),
    "delete": ("PartiQLDelete", re.compile(rf"delete\s+from\s+{_TARGET}", re.IGNORECASE)),
}


def _identifier(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


def _statement_check(call: Call, statement: str | None) -> Check:
    statement = (statement or "").strip()
    verb = statement.split(None, 1)[0].lower() if statement else ""
    if verb not in _STATEMENTS:
        return Check(call.action(), WILDCARD, unmapped=True)  # e.g. EXISTS: not modelled
    action, pattern = _STATEMENTS[verb]
    found = pattern.match(statement)
    if found is None:
        return call.check(WILDCARD, action)
    table = table_arn(call, _identifier(found.group("table")))
    index = found.group("index")
    return call.check(f"{table}/index/{_identifier(index)}" if index else table, action)


def _statements(list_name: str) -> Rule:
    def rule(call: Call) -> list[Check]:
        statements = [item.get("Statement") for item in call.items(list_name) if isinstance(item, Mapping)]
        return unique(_statement_check(call, statement) for statement in statements) or [call.check(None)]

    return rule


def _iterator_stream(call: Call) -> str | None:
    """A shard iterator starts with its stream's ARN ("<stream arn>|1|<token>", on AWS and in moto); else
    the caller may name the stream in `localcloud:StreamArn`; else "*"."""
    stream = (call.text("ShardIterator") or "").split("|", 1)[0]
    if stream.startswith("arn:") and "/stream/" in stream:
        return stream
    return call.text("localcloud:StreamArn")


_STREAM_RULES: dict[str, Rule] = {
    "DescribeStream": on(param("StreamArn")),
    "GetShardIterator": on(param("StreamArn")),
    "GetRecords": on(_iterator_stream),
    "ListStreams": anywhere(),
}

_TABLE_OPERATIONS = (
    *("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"),
    *("DescribeTable", "CreateTable", "UpdateTable", "DeleteTable", "CreateBackup"),
    *("DescribeContinuousBackups", "UpdateContinuousBackups", "DescribeTimeToLive", "UpdateTimeToLive"),
    *("DescribeContributorInsights", "UpdateContributorInsights", "ExportTableToPointInTime"),
    *("DescribeTableReplicaAutoScaling", "UpdateTableReplicaAutoScaling"),
    *("DescribeKinesisStreamingDestination", "EnableKinesisStreamingDestination"),
    *("DisableKinesisStreamingDestination", "UpdateKinesisStreamingDestination"),
)
_RESOURCE_OPERATIONS = (
    *("TagResource", "UntagResource", "ListTagsOfResource"),
    *("GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy"),
)
_ACCOUNT_OPERATIONS = (
    *("ListTables", "ListBackups", "ListGlobalTables", "ListExports", "ListImports"),
    *("ListContributorInsights", "DescribeLimits", "DescribeEndpoints"),
)

_DYNAMODB_RULES: dict[str, Rule] = {
    **uniform(_TABLE_OPERATIONS, on(_table_or_index)),
    **uniform(_RESOURCE_OPERATIONS, on(param("ResourceArn"))),
    **uniform(("DescribeBackup", "DeleteBackup"), on(param("BackupArn"))),
    "DescribeExport": on(param("ExportArn")),
    **uniform(_ACCOUNT_OPERATIONS, anywhere()),
    "BatchGetItem": each(_batch_tables),
    "BatchWriteItem": each(_batch_tables),
    "TransactWriteItems": _transact,
    "TransactGetItems": _transact,
    "ExecuteStatement": lambda call: [_statement_check(call, call.text("Statement"))],
    "BatchExecuteStatement": _statements("Statements"),
    "ExecuteTransaction": _statements("TransactStatements"),
    **_STREAM_RULES,
}

SERVICES = {
    "dynamodb": Service("dynamodb", _DYNAMODB_RULES),
    # DynamoDB Streams' endpoint (streams.dynamodb) shares DynamoDB's IAM prefix.
    "dynamodbstreams": Service("dynamodb", _STREAM_RULES),
    "streams.dynamodb": Service("dynamodb", _STREAM_RULES),
}
