"""SNS topics people subscribe to by email: encrypted, one subscription per address."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws


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
