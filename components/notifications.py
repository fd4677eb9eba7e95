"""SNS topics people subscribe to by email: encrypted, one subscription per address."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws


def email_topic(
    name: str, *, region: str, emails: Sequence[str], opts: pulumi.ResourceOptions, subscription_prefix: str
) -> aws.sns.Topic:
    """A topic encrypted with the AWS-managed SNS key, each address subscribed (AWS asks it to confirm)."""
    topic = aws.sns.Topic(name, region=region, kms_master_key_id="alias/aws/sns", opts=opts)
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
