"""IAM is enforced on every call a function makes: its role's policies decide, as in a region."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest

from localcloud.core.clients import emulator_client
from localcloud.services.iam.role_sessions import RoleSessions
from tests.unit.localcloud.conftest import ASSUME_LAMBDA, REGION, create_table, role_with, table_arn
from tests.unit.localcloud.services.lambda_.test_runtime import invoke

WRITES_ITEM = """
import os, boto3

def handler(event, context):
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"], Item={"pk": {"S": event["id"]}})
    return "written"
"""


def test_a_role_allowed_on_one_table_writes_to_it(emulator, deploy):
    # GIVEN a function whose role may put items into one table, named by its ARN
    table = create_table(emulator)
    fn = deploy(
        WRITES_ITEM,
        env={"TABLE": table},
        permissions=[{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn(table)}],
    )
    # WHEN it writes THEN the write is allowed (moto alone checks DynamoDB against "*" and would deny)
    assert invoke(emulator, fn.name, {"id": "a"}) == (None, "written")
    item = emulator.client("dynamodb", REGION).get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert item["Item"] == {"pk": {"S": "a"}}


def test_a_call_outside_the_roles_policy_is_denied_naming_principal_action_and_resource(emulator, deploy):
    # GIVEN a function allowed on another table only
    table, other = create_table(emulator), create_table(emulator)
    fn = deploy(
        WRITES_ITEM,
        env={"TABLE": table},
        permissions=[{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn(other)}],
    )
    # WHEN it writes to its table
    error, payload = invoke(emulator, fn.name, {"id": "a"})
    # THEN the call fails with AccessDenied naming the role session, the action and the table
    assert error == "Unhandled"
    assert "AccessDeniedException" in payload["errorMessage"]
    assert "assumed-role/" in payload["errorMessage"] and f"/{fn.name}" in payload["errorMessage"]
    assert f"dynamodb:PutItem on resource: {table_arn(table)}" in payload["errorMessage"]
    # AND nothing was written, and the emulator counted the denial
    assert "Item" not in emulator.client("dynamodb", REGION).get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert any(denial.resource == table_arn(table) for denial in emulator.iam.denials)


def test_an_explicit_deny_wins_over_an_allow(emulator, deploy):
    table = create_table(emulator)
    fn = deploy(
        WRITES_ITEM,
        env={"TABLE": table},
        permissions=[
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": table_arn(table)},
        ],
    )
    error, payload = invoke(emulator, fn.name, {"id": "a"})
    assert error == "Unhandled" and "explicitly denied" in payload["errorMessage"]


def test_a_role_that_does_not_trust_lambda_cannot_run_a_function(emulator):
    # GIVEN a function whose role trusts another service
    trust = json.loads(ASSUME_LAMBDA)
    trust["Statement"][0]["Principal"]["Service"] = "states.amazonaws.com"
    role = role_with(emulator, [], trust=json.dumps(trust))
    name = f"fn-{uuid.uuid4().hex[:10]}"
    emulator.client("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    # WHEN it is invoked THEN Lambda cannot assume the role
    error, payload = invoke(emulator, name)
    assert error == "Unhandled"
    assert payload["errorType"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in payload["errorMessage"]


def test_the_emulator_counts_every_decision(emulator, deploy):
    table = create_table(emulator)
    fn = deploy(
        WRITES_ITEM,
        env={"TABLE": table},
        permissions=[{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn(table)}],
    )
    allowed_before = emulator.iam.decisions["allowed"]
    invoke(emulator, fn.name, {"id": "b"})
    assert emulator.iam.decisions["allowed"] == allowed_before + 1


def session_client(emulator, service: str, credentials: dict, **overrides: str) -> Any:
    # boto3-stubs type boto3.client per literal service name; `service` is any str here
    new_client: Callable[..., Any] = boto3.client
    keys = {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
        **overrides,
    }
    return new_client(service, region_name=REGION, endpoint_url=emulator.endpoint_url, **keys)


def assumed(emulator, statements):
    role = role_with(emulator, statements)
    return emulator.client("sts", REGION).assume_role(RoleArn=role, RoleSessionName="caller")["Credentials"]


def test_a_signed_get_with_a_query_is_authenticated_and_authorized(emulator):
    # GIVEN a session allowed to read Route 53 (a REST-XML GET whose query moto would mis-sign)
    zone = emulator.client("route53", REGION).create_hosted_zone(Name="z.internal", CallerReference="z")
    read_records = {"Effect": "Allow", "Action": "route53:ListResourceRecordSets", "Resource": "*"}
    credentials = assumed(emulator, [read_records])
    # WHEN it lists a zone's records THEN the signature checks out and the call is allowed
    records = session_client(emulator, "route53", credentials).list_resource_record_sets(
        HostedZoneId=zone["HostedZone"]["Id"], MaxItems="1"
    )
    assert records["ResourceRecordSets"]


def test_a_request_signed_with_the_wrong_secret_is_refused(emulator):
    credentials = assumed(emulator, [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    forged = session_client(emulator, "sqs", credentials, aws_secret_access_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError, match="signature"):
        forged.list_queues()


def test_an_unknown_access_key_is_refused(emulator):
    stranger = boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id="AKIAUNKNOWNKEY000000",
        aws_secret_access_key="secret",
    )
    with pytest.raises(botocore.exceptions.ClientError, match=r"InvalidClientTokenId|security token"):
        stranger.list_queues()


def test_a_signed_form_post_is_authenticated_and_authorized(emulator):
    # GIVEN a session allowed to publish to one topic (SNS's query protocol: a form-encoded POST)
    topic = emulator.client("sns", REGION).create_topic(Name=f"topic-{uuid.uuid4().hex[:8]}")["TopicArn"]
    credentials = assumed(emulator, [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}])
    # WHEN it publishes a message whose body needs encoding THEN the signature checks out
    published = session_client(emulator, "sns", credentials).publish(TopicArn=topic, Message='{"a": "b c"}')
    assert published["MessageId"]


ENCRYPTS = """
import os, boto3

def handler(event, context):
    sealed = boto3.client("kms").encrypt(KeyId=os.environ["KEY"], Plaintext=b"secret")
    return len(sealed["CiphertextBlob"])
"""


@pytest.mark.parametrize("key_policy_delegates_to_the_account", [True, False])
def test_a_kms_key_policy_decides_whether_a_role_may_use_the_key(
    emulator, deploy, key_policy_delegates_to_the_account
):
    # GIVEN a role allowed kms:Encrypt on a key whose policy delegates to the account's IAM, or names
    # another principal only
    account_root = "arn:aws:iam::123456789012:root"
    administrator = "arn:aws:iam::123456789012:role/key-administrator"
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": account_root if key_policy_delegates_to_the_account else administrator},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key = emulator.client("kms", REGION).create_key(Policy=json.dumps(key_policy))["KeyMetadata"]
    fn = deploy(
        ENCRYPTS,
        env={"KEY": key["Arn"]},
        permissions=[{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]}],
    )

    # WHEN the function encrypts with the key
    error, payload = invoke(emulator, fn.name)

    # THEN it may only where the key policy lets the account's IAM decide, as KMS decides
    if key_policy_delegates_to_the_account:
        assert error is None and payload > 0
    else:
        assert error == "Unhandled" and "AccessDeniedException" in payload["errorMessage"]
        assert f"kms:Encrypt on resource: {key['Arn']}" in payload["errorMessage"]
        assert "key policy" in payload["errorMessage"]


def test_route53_change_batches_carry_their_condition_keys_so_a_scoped_switch_can_change_one_record_only(
    emulator,
):
    # GIVEN a zone and a role that may only UPSERT one TXT record in it (the record switch's grant)
    route53_admin = emulator.client("route53", REGION)
    zone_id = route53_admin.create_hosted_zone(Name="signal.internal", CallerReference=uuid.uuid4().hex)[
        "HostedZone"
    ]["Id"].rsplit("/", 1)[-1]
    role = role_with(
        emulator,
        [
            {
                "Effect": "Allow",
                "Action": "route53:ChangeResourceRecordSets",
                "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
                "Condition": {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                            "active-region.signal.internal"
                        ],
                        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                        "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
                    }
                },
            }
        ],
    )
    session = RoleSessions(emulator.client).credentials(role, "lambda.amazonaws.com", "switch")
    route53 = emulator_client(emulator.endpoint_url, "route53", REGION, session)

    def change(action, name, record_type="TXT"):
        record = {"Name": name, "Type": record_type, "TTL": 5, "ResourceRecords": [{"Value": '"us-east-1"'}]}
        try:
            route53.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
            )
        except botocore.exceptions.ClientError as refused:
            return refused.response["Error"]["Code"]
        return "changed"

    # WHEN it UPSERTs its record (any case, with or without the trailing dot) THEN Route 53 allows it
    assert change("UPSERT", "Active-Region.signal.internal.") == "changed"
    # WHEN it touches another record, another type, or deletes THEN it is denied, as on AWS
    assert change("UPSERT", "other.signal.internal.") == "AccessDenied"
    assert change("UPSERT", "active-region.signal.internal.", "A") in {"AccessDenied", "InvalidChangeBatch"}
    assert change("DELETE", "active-region.signal.internal.") == "AccessDenied"


def test_a_missing_object_is_404_only_to_a_caller_who_may_list_the_bucket(emulator):
    # GIVEN a bucket holding one object, a reader that may only get objects, and one that may list too
    bucket = f"reads-{uuid.uuid4().hex[:8]}"
    s3 = emulator.client("s3", REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="present.txt", Body=b"x")
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}
    reader = session_client(emulator, "s3", assumed(emulator, [read]))
    lister = session_client(emulator, "s3", assumed(emulator, [read, listing]))
    # WHEN both read the object that exists THEN both get it
    for client in (reader, lister):
        assert client.get_object(Bucket=bucket, Key="present.txt")["Body"].read() == b"x"
    # WHEN they read a key the bucket does not hold THEN the lister is told it is missing, the reader is
    # refused, as S3 decides: GetObject without ListBucket answers AccessDenied, not NoSuchKey
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchKey"):
        lister.get_object(Bucket=bucket, Key="absent.txt")
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        reader.get_object(Bucket=bucket, Key="absent.txt")
    denial = emulator.iam.denials.pop()
    assert (denial.action, denial.resource) == ("s3:ListBucket", f"arn:aws:s3:::{bucket}")
