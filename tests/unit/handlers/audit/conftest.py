"""Fixtures for the audit handlers: a real redis-server, and the system's AWS side in moto.

The parent conftest (tests/unit/handlers/conftest.py) has set the fake AWS environment before any
handler module is imported. One redis-server serves the whole session (localcloud's RedisServer, the
same one `make demo` runs); each test starts from an empty database with reset command statistics, so
"one Redis write" can be counted from the server's own INFO commandstats.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import boto3
import pytest
import redis
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from handlers.audit import aggregate, archive, ingest_api, ingest_failure, metadata
from localcloud.services.elasticache.redis_server import RedisServer, free_port
from samples import dynamodb_tables as tables

from ..conftest import FakeLambdaContext, create_trivial_state_machine, load_event

REGION: Final = "eu-west-1"
ARCHIVE_BUCKET = "regionflow-audit-archive"
METADATA_TABLE = "regionflow-audit-metadata"
IDEMPOTENCY_TABLE = "regionflow-audit-idempotency"
DLQ_NAME = "regionflow-audit-dlq"
STATE_MACHINE_NAME = "regionflow-audit"
MAX_BODY_BYTES = 6 * 1024 * 1024
REDIS_TTL_SECONDS = 3600
# How far below REDIS_TTL_SECONDS a payload's remaining lifetime may be when a test reads it: the seconds
# between the put and the read, on a loaded machine. A lifetime set in the wrong unit is far outside it.
TTL_READ_SLACK_SECONDS = 60
METADATA = {
    "sourceSystem": "billing",
    "messageType": "invoice.created",
    "producerTimestamp": "2024-06-01T09:59:58.250Z",
}
HANDLER_MODULES: tuple[Any, ...] = (ingest_api, archive, metadata, aggregate, ingest_failure)


def _clear_cached_state() -> None:
    ingest_api.dependencies.cache_clear()
    archive.dependencies.cache_clear()
    metadata.metadata_table.cache_clear()
    aggregate.payload_store.cache_clear()
    ingest_failure.dependencies.cache_clear()
    # Powertools keeps fetched secrets and its default providers (with their boto3 clients) per process.
    parameters.clear_caches()
    # Powertools Metrics instances share one metric set: drop what earlier tests' direct calls added.
    for module in HANDLER_MODULES:
        module.metrics.clear_metrics()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    client.flushall()
    client.config_resetstat()
    yield client
    client.close()


@dataclass
class AuditCloud:
    """The audit system's AWS side in moto and its Redis, plus helpers to arrange and inspect them."""

    s3: Any
    sqs: Any
    stepfunctions: Any
    dynamodb: Any  # resource
    secretsmanager: Any
    redis: redis.Redis
    redis_port: int
    state_machine_arn: str
    dlq_url: str
    monkeypatch: pytest.MonkeyPatch

    def executions(self) -> list[dict[str, Any]]:
        return list(self.stepfunctions.list_executions(stateMachineArn=self.state_machine_arn)["executions"])

    def execution_input(self, execution_arn: str) -> dict[str, Any]:
        return dict(json.loads(self.stepfunctions.describe_execution(executionArn=execution_arn)["input"]))

    def only_execution_input(self) -> dict[str, Any]:
        [execution] = self.executions()
        return self.execution_input(execution["executionArn"])

    def object_bytes(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=ARCHIVE_BUCKET, Key=key)["Body"].read())

    def object_json(self, key: str) -> dict[str, Any]:
        return dict(json.loads(self.object_bytes(key)))

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=ARCHIVE_BUCKET, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def dlq_messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])

    def metadata_rows(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.Table(METADATA_TABLE).scan(ConsistentRead=True)["Items"])

    def redis_writes(self) -> int:
        """SET commands the server has executed since the test began."""
        stats: dict[str, Any] = self.redis.info("commandstats")  # type: ignore[assignment]
        return int(stats.get("cmdstat_set", {}).get("calls", 0))

    def redis_ttl_seconds(self, key: str) -> int:
        return int(self.redis.ttl(key))  # type: ignore[arg-type]

    def redis_down(self) -> None:
        """Point every handler at a loopback port nobody listens on, as if Redis were unreachable."""
        self.monkeypatch.setenv("REDIS_PORT", str(free_port()))
        _clear_cached_state()

    def redis_back(self) -> None:
        self.monkeypatch.setenv("REDIS_PORT", str(self.redis_port))
        _clear_cached_state()

    def use_redis(
        self, server: RedisServer, *, replica_acks: int = 0, replica_ack_timeout_ms: int | None = None
    ) -> None:
        """Point every handler at another server; the ingest API waits for `replica_acks` replicas."""
        self.monkeypatch.setenv("REDIS_HOST", server.host)
        self.monkeypatch.setenv("REDIS_PORT", str(server.port))
        self.monkeypatch.setenv("REDIS_REPLICA_ACKS", str(replica_acks))
        if replica_ack_timeout_ms is not None:
            self.monkeypatch.setenv("REDIS_REPLICA_ACK_TIMEOUT_MS", str(replica_ack_timeout_ms))
        _clear_cached_state()


@pytest.fixture
def audit_cloud(
    redis_server: RedisServer, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AuditCloud]:
    """Archive bucket (versioned), metadata and idempotency tables, state machine (executions recorded,
    not run), DLQ, an empty Redis, and the environment the AuditIngest component gives the functions."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARCHIVE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=ARCHIVE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**tables.metadata_table(METADATA_TABLE))
        dynamodb.create_table(**tables.audit_idempotency_table(IDEMPOTENCY_TABLE))
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
        state_machine_arn = create_trivial_state_machine(REGION, STATE_MACHINE_NAME)
        env = {
            "ARCHIVE_BUCKET": ARCHIVE_BUCKET,
            "METADATA_TABLE": METADATA_TABLE,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "IDEMPOTENCY_TTL_SECONDS": "86400",
            "STATE_MACHINE_ARN": state_machine_arn,
            "DLQ_URL": dlq_url,
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "REDIS_HOST": redis_server.host,
            "REDIS_PORT": str(redis_server.port),
            "REDIS_TLS": "false",
            "REDIS_TTL_SECONDS": str(REDIS_TTL_SECONDS),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for name in ("REDIS_AUTH_SECRET_ARN", "REDIS_REPLICA_ACKS", "REDIS_REPLICA_ACK_TIMEOUT_MS"):
            monkeypatch.delenv(name, raising=False)
        _clear_cached_state()
        yield AuditCloud(
            s3=s3,
            sqs=sqs,
            stepfunctions=boto3.client("stepfunctions", region_name=REGION),
            dynamodb=dynamodb,
            secretsmanager=boto3.client("secretsmanager", region_name=REGION),
            redis=redis_client,
            redis_port=redis_server.port,
            state_machine_arn=state_machine_arn,
            dlq_url=dlq_url,
            monkeypatch=monkeypatch,
        )
        _clear_cached_state()


def audit_request(payload: Any = "eyJldmVudCI6ImxvZ2luIn0=", **metadata: Any) -> dict[str, Any]:
    return {"payload": payload, "metadata": {**METADATA, **metadata}}


def audit_post(
    body: dict[str, Any] | str | bytes,
    *,
    headers: dict[str, str] | None = None,
    base64_encoded: bool = False,
    authorizer: dict[str, Any] | None = None,
    keep_authorizer: bool = True,
    template: str = "audit_ingest_post.json",
) -> dict[str, Any]:
    """POST /audit as API Gateway v2 delivers it, built on tests/events/<template> (a Cognito JWT caller;
    audit_ingest_post_iam.json: a SigV4 caller on the AWS_IAM route)."""
    event = copy.deepcopy(load_event(template))
    if isinstance(body, dict):
        body = json.dumps(body)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    event["body"] = base64.b64encode(raw).decode("ascii") if base64_encoded else raw.decode("utf-8")
    event["isBase64Encoded"] = base64_encoded
    event["headers"].update(headers or {})
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    elif not keep_authorizer:
        event["requestContext"].pop("authorizer")
    return event


def iam_caller(role_session: str) -> dict[str, Any]:
    """The authorizer block of audit_ingest_post_iam.json for another session of another producer role."""
    iam = dict(load_event("audit_ingest_post_iam.json")["requestContext"]["authorizer"]["iam"])
    user_id = f"AROAQEXAMPLEOTHERROLE:{role_session}"
    iam |= {
        "userArn": f"arn:aws:sts::{iam['accountId']}:assumed-role/regionflow-other-producer/{role_session}",
        "userId": user_id,
        "callerId": user_id,
    }
    return {"iam": iam}


def post(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(status, JSON body, headers) of the ingest API's reply."""
    response = ingest_api.lambda_handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}
