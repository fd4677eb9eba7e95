"""SNS topics people subscribe to by email (encrypted, one subscription per address) and their policy."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.iam import deny_insecure_transport, policy_document


def email_topic(
    name: str,
    *,
    region: str,
    emails: Sequence[str],
    opts: pulumi.ResourceOptions,
    subscription_prefix: str,
    kms_key_id: pulumi.Input[str] = "alias/aws/sns",
) -> aws.sns.Topic:
    """An encrypted topic, each address subscribed (AWS asks it to confirm).

    The AWS-managed SNS key suits publishers with IAM roles; services that publish as themselves
    (CloudWatch alarms) cannot use it and need a customer-managed key that lets them (`kms_key_id`).
    The topic's policy is the caller's to attach, since a topic has exactly one: `tls_only_topic_policy`
    for a topic only this account's roles publish to, or one that also admits the publishing service
    (alarms.alarm_topic).
    """
    topic = aws.sns.Topic(name, region=region, kms_master_key_id=kms_key_id, opts=opts)
    for index, email in enumerate(emails):
        aws.sns.TopicSubscription(
            f"{subscription_prefix}-{index}",
            region=region,
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=opts,
        )
    return topic


def tls_only_topic_policy(
    name: str, *, topic: aws.sns.Topic, region: str, opts: pulumi.ResourceOptions
) -> aws.sns.TopicPolicy:
    """The policy of a topic only this account's roles publish to: nothing may publish without TLS.

    It replaces SNS's default policy; the account's roles still publish and subscribe through their own
    IAM policies (same account), so a Deny is all the topic itself needs to say.
    """
    return aws.sns.TopicPolicy(
        name,
        region=region,
        arn=topic.arn,
        policy=policy_document([deny_insecure_transport(["sns:Publish"], [topic.arn])]),
        opts=opts,
    )
