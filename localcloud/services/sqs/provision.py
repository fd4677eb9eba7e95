"""SQS resources of a Pulumi program -> SQS API calls on the emulator.

QueuePolicy, RedriveAllowPolicy and RedrivePolicy are resources of their own in pulumi-aws; each sets one
attribute of a queue that exists already. Queues feeding Lambda are polled by Lambda's SQS event source
(localcloud/services/lambda_/event_sources/), not by anything here.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, Creator, ProvisioningContext, Registry
from localcloud.core.fields import FieldMap, Param, api_parameters, attribute_text, tags

_QUEUE_ATTRIBUTES: FieldMap = {
    wire: Param(api, attribute_text)
    for wire, api in {
        "visibilityTimeoutSeconds": "VisibilityTimeout",
        "messageRetentionSeconds": "MessageRetentionPeriod",
        "maxMessageSize": "MaximumMessageSize",
        "delaySeconds": "DelaySeconds",
        "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "redrivePolicy": "RedrivePolicy",
        "redriveAllowPolicy": "RedriveAllowPolicy",
        "policy": "Policy",
        "sqsManagedSseEnabled": "SqsManagedSseEnabled",
        "kmsMasterKeyId": "KmsMasterKeyId",
        "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
        "fifoQueue": "FifoQueue",
        "contentBasedDeduplication": "ContentBasedDeduplication",
        "deduplicationScope": "DeduplicationScope",
        "fifoThroughputLimit": "FifoThroughputLimit",
    }.items()
}


def create_queue(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    # A FIFO queue's name must end in ".fifo"; Pulumi's auto-name appends it.
    fifo = bool(inputs.get("fifoQueue"))
    name = ctx.name(args, inputs, max_length=80, suffix=".fifo" if fifo and not inputs.get("name") else "")
    attributes = api_parameters(inputs, _QUEUE_ATTRIBUTES)
    if not fifo:
        attributes.pop("FifoQueue", None)  # SQS refuses FifoQueue=false on a standard queue
    sqs = ctx.client("sqs", region)
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags(inputs))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # pulumi-aws uses the queue URL as the Queue's id.
    return url, {**inputs, "id": url, "name": name, "url": url, "arn": arn}


def set_queue_attribute(wire: str, attribute: str) -> Creator:
    """The creator of a resource that sets one attribute (`wire` input -> `attribute`) of a queue."""

    def create(
        ctx: ProvisioningContext, _args: MockResourceArgs, inputs: dict[str, Any], region: str
    ) -> Created:
        ctx.client("sqs", region).set_queue_attributes(
            QueueUrl=inputs["queueUrl"], Attributes={attribute: inputs[wire]}
        )
        return inputs["queueUrl"], dict(inputs)

    return create


CREATORS: Registry = {
    "aws:sqs/queue:Queue": create_queue,
    "aws:sqs/queuePolicy:QueuePolicy": set_queue_attribute("policy", "Policy"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": set_queue_attribute(
        "redriveAllowPolicy", "RedriveAllowPolicy"
    ),
    "aws:sqs/redrivePolicy:RedrivePolicy": set_queue_attribute("redrivePolicy", "RedrivePolicy"),
}
