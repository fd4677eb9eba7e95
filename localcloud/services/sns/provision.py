"""SNS resources of a Pulumi program -> SNS API calls on the emulator.

Deliveries to Lambda subscriptions run through localcloud's Lambda runtime (asynchronous, retried, with
the real notification event): see localcloud/services/lambda_/patches.py.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import Param, api_parameters, attribute_text, tag_list


def _attributes(names: dict[str, str]) -> dict[str, Param]:
    return {wire: Param(api, attribute_text) for wire, api in names.items()}


_TOPIC_ATTRIBUTES = _attributes(
    {
        "kmsMasterKeyId": "KmsMasterKeyId",
        "displayName": "DisplayName",
        "policy": "Policy",
        "deliveryPolicy": "DeliveryPolicy",
        "fifoTopic": "FifoTopic",
        "contentBasedDeduplication": "ContentBasedDeduplication",
        "tracingConfig": "TracingConfig",
        "signatureVersion": "SignatureVersion",
    }
)
_SUBSCRIPTION_ATTRIBUTES = _attributes(
    {
        "filterPolicy": "FilterPolicy",
        "filterPolicyScope": "FilterPolicyScope",
        "rawMessageDelivery": "RawMessageDelivery",
        "redrivePolicy": "RedrivePolicy",
        "deliveryPolicy": "DeliveryPolicy",
        "subscriptionRoleArn": "SubscriptionRoleArn",
    }
)


def create_topic(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    fifo = bool(inputs.get("fifoTopic"))
    name = ctx.name(args, inputs, max_length=256, suffix=".fifo" if fifo and not inputs.get("name") else "")
    attributes = api_parameters(inputs, _TOPIC_ATTRIBUTES)
    if not fifo:
        attributes.pop("FifoTopic", None)  # SNS refuses FifoTopic=false on a standard topic
    created = ctx.client("sns", region).create_topic(Name=name, Attributes=attributes, Tags=tag_list(inputs))
    topic_arn = created["TopicArn"]
    return topic_arn, {**inputs, "id": topic_arn, "arn": topic_arn, "name": name, "owner": ctx.account_id}


def set_topic_policy(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    ctx.client("sns", region).set_topic_attributes(
        TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"]
    )
    return inputs["arn"], dict(inputs)


def subscribe(
    ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    subscription_arn = ctx.client("sns", region).subscribe(
        TopicArn=inputs["topic"],
        Protocol=inputs["protocol"],
        Endpoint=inputs["endpoint"],
        Attributes=api_parameters(inputs, _SUBSCRIPTION_ATTRIBUTES),
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return subscription_arn, {
        **inputs,
        "id": subscription_arn,
        "arn": subscription_arn,
        "ownerId": ctx.account_id,
    }


CREATORS: Registry = {
    "aws:sns/topic:Topic": create_topic,
    "aws:sns/topicSubscription:TopicSubscription": subscribe,
    "aws:sns/topicPolicy:TopicPolicy": set_topic_policy,
}
