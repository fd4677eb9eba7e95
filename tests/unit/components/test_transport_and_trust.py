"""Transport and trust: the one TLS-only statement, and trust policies that name this account where the
assuming service sends it (the policy rules in tests/policy check every resource; these check the helpers
and the roles that use them)."""

from __future__ import annotations

import json

import pytest

from components.iam import SOURCE_ACCOUNT_TRUSTING_SERVICES, assume_role_policy, deny_insecure_transport
from localcloud.core.recording import ACCOUNT_ID, BuiltStack

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE = "aws:iam/role:Role"


def test_the_tls_only_statement_denies_everyone_without_tls() -> None:
    # WHEN the statement is built for a queue
    statement = deny_insecure_transport(["sqs:*"], ["arn:aws:sqs:us-east-1:123456789012:q"])
    # THEN it denies every principal every listed action on the resource when the request is not TLS
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["sqs:*"],
        "Resource": ["arn:aws:sqs:us-east-1:123456789012:q"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    with pytest.raises(ValueError, match="needs at least one resource"):
        deny_insecure_transport(["sqs:*"], [])


def test_every_bucket_queue_and_topic_policy_ends_with_the_same_tls_statement(stack: BuiltStack) -> None:
    # GIVEN every resource policy of buckets, queues and topics
    policies = [
        *stack.resources_of(BUCKET_POLICY),
        *stack.resources_of(QUEUE_POLICY),
        *stack.resources_of(TOPIC_POLICY),
    ]
    assert len(stack.resources_of(QUEUE_POLICY)) == len(stack.resources_of(QUEUE))
    # THEN each ends with the one TLS-only statement (components.iam.deny_insecure_transport)
    for policy in policies:
        last = json.loads(policy.inputs["policy"])["Statement"][-1]
        assert (last["Sid"], last["Effect"], last["Principal"]) == ("DenyInsecureTransport", "Deny", "*")
        assert last["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.name


def test_a_trust_policy_requires_the_source_account_only_of_services_that_send_it() -> None:
    # GIVEN Lambda, which AWS does not document as sending aws:SourceAccount when it assumes a role
    assert "lambda.amazonaws.com" not in SOURCE_ACCOUNT_TRUSTING_SERVICES
    # WHEN a trust policy would require it THEN it is refused: Lambda could never assume the role
    with pytest.raises(ValueError, match="lock the service out"):
        assume_role_policy("lambda.amazonaws.com", source_account=ACCOUNT_ID)
    # AND without one the trust policy is unconditional, as before
    [statement] = json.loads(str(assume_role_policy("lambda.amazonaws.com")))["Statement"]
    assert "Condition" not in statement


def trust_of(stack: BuiltStack, service: str) -> list[dict]:
    return [
        statement
        for role in stack.resources_of(ROLE)
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        if statement["Principal"] == {"Service": service}
    ]


def test_automation_and_chaos_roles_trust_their_service_for_this_account_only(
    chaos_stack: BuiltStack,
) -> None:
    # GIVEN the primary stack with its automation documents and the chaos experiment
    automation, experiment = (
        trust_of(chaos_stack, "ssm.amazonaws.com"),
        trust_of(chaos_stack, "fis.amazonaws.com"),
    )
    # THEN SSM Automation and FIS may assume their roles only when acting for this account
    assert len(automation) == 2 and len(experiment) == 2
    for statement in automation + experiment:
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_s3_invokes_functions_only_for_buckets_of_this_account(stack: BuiltStack) -> None:
    # GIVEN every permission letting S3 invoke a function for a bucket
    permissions = [
        permission
        for permission in stack.resources_of("aws:lambda/permission:Permission")
        if permission.inputs["principal"] == "s3.amazonaws.com"
    ]
    assert permissions
    # THEN it names the bucket and this account (a bucket ARN names no account)
    for permission in permissions:
        assert permission.inputs["sourceArn"].startswith("arn:aws:s3:::"), permission.name
        assert permission.inputs["sourceAccount"] == ACCOUNT_ID, permission.name
