"""An SQS queue with its dead-letter queue: messages that keep failing are kept, never lost."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import PolicyStatement, allow

FOURTEEN_DAYS_SECONDS = 14 * 24 * 3600  # SQS's longest retention: the most time to inspect and redrive


@dataclass(frozen=True, kw_only=True)
class BufferedQueueArgs:
    region: str
    visibility_timeout_seconds: int = 180
    max_receive_count: int = 5  # receives before a message moves to the DLQ
    message_retention_seconds: int = 4 * 24 * 3600


class BufferedQueue(pulumi.ComponentResource):
    """Queue + DLQ (redrive after max_receive_count), both encrypted with SQS-managed keys.

    SQS-managed SSE rather than the aws/sqs KMS key: S3 and SNS can only deliver to a KMS-encrypted
    queue through a customer-managed key whose policy admits them.
    """

    queue: aws.sqs.Queue
    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BufferedQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:messaging:BufferedQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            region=args.region,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=FOURTEEN_DAYS_SECONDS,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            region=args.region,
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.message_retention_seconds,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": args.max_receive_count}
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            region=args.region,
            queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}
            ),
            opts=child,
        )
        self.arn = self.queue.arn
        self.url = self.queue.url
        self.dlq_arn = dlq.arn
        self.dlq_url = dlq.url
        self.dlq_name = dlq.name
        self.register_outputs(
            {"arn": self.arn, "url": self.url, "dlq_arn": self.dlq_arn, "dlq_url": self.dlq_url}
        )

    def consumer_statement(self) -> PolicyStatement:
        """What a Lambda event source mapping needs on this queue, and nothing more."""
        return allow(
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            [self.arn],
        )
