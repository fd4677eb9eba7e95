"""An SQS queue with its dead-letter queue: messages that keep failing are kept, never lost, and seen.

`dead_letter_queue` is the one way the program makes a dead-letter queue (a queue's redrive target, a
function's asynchronous DLQ, a stream mapping's on-failure destination, a workflow's salvage queue): each
comes with its alarm, so no dead letter waits unnoticed.

Every queue made here has a policy that refuses requests sent without TLS (`queue_policy`): a queue has
one policy, so whatever else may send to it (S3 event notifications) is granted in that same policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic, dead_letter_alarm
from components.iam import PolicyStatement, allow, deny_insecure_transport, policy_document

CONSUMER_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]
FOURTEEN_DAYS_SECONDS = 14 * 24 * 3600  # SQS's longest retention: the most time to inspect and redrive


def dead_letter_queue(
    name: str,
    *,
    alarms: AlarmTopic,
    holds: str,
    opts: pulumi.ResourceOptions,
    max_message_size_bytes: int | None = None,
    visibility_timeout_seconds: int | None = None,
) -> aws.sqs.Queue:
    """A dead-letter queue in `alarms`' region, alarmed there as soon as it holds a message.

    `holds` says what lands in it, for the alarm's reader ("build requests that failed 3 times").
    """
    queue = aws.sqs.Queue(
        name,
        region=alarms.region,
        sqs_managed_sse_enabled=True,
        message_retention_seconds=FOURTEEN_DAYS_SECONDS,
        max_message_size=max_message_size_bytes,
        visibility_timeout_seconds=visibility_timeout_seconds,
        opts=opts,
    )
    queue_policy(f"{name}-policy", queue=queue, region=alarms.region, opts=opts)
    dead_letter_alarm(f"{name}-alarm", topic=alarms, queue_name=queue.name, holds=holds, opts=opts)
    return queue


def queue_policy(
    name: str,
    *,
    queue: aws.sqs.Queue,
    region: str,
    opts: pulumi.ResourceOptions,
    notifying_bucket_arn: pulumi.Input[str] | None = None,
) -> aws.sqs.QueuePolicy:
    """The queue's one policy: S3 may send the events of exactly one bucket (if any); no request without
    TLS.

    S3 sends as its service principal, so the grant names the bucket (aws:SourceArn) and, since bucket
    ARNs carry no account, the account S3 acts for (aws:SourceAccount): a bucket of the same name in
    another account cannot send here.
    """
    statements: list[PolicyStatement] = []
    if notifying_bucket_arn is not None:
        statements.append(
            {
                "Sid": "S3EventsOfOneBucketOnly",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue.arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": notifying_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": aws.get_caller_identity_output().account_id},
                },
            }
        )
    statements.append(deny_insecure_transport(["sqs:*"], [queue.arn]))
    return aws.sqs.QueuePolicy(
        name, region=region, queue_url=queue.url, policy=policy_document(statements), opts=opts
    )


@dataclass(frozen=True, kw_only=True)
class BufferedQueueArgs:
    region: str
    alarms: AlarmTopic  # the owning system's topic in `region`: its dead-letter queue alarms there
    holds: str  # what a dead letter is, for the alarm's reader, e.g. "uploads the worker kept failing"
    visibility_timeout_seconds: int = 180
    max_receive_count: int = 5  # receives before a message moves to the DLQ
    message_retention_seconds: int = 4 * 24 * 3600
    # Set when a function consumes the DLQ: Lambda refuses a mapping whose queue's visibility timeout is
    # shorter than the function's timeout (AWS recommends six times it).
    dead_letter_visibility_timeout_seconds: int | None = None
    # The bucket whose S3 event notifications deliver to the queue (its ARN, for the queue's policy).
    notifying_bucket_arn: pulumi.Input[str] | None = None


class BufferedQueue(pulumi.ComponentResource):
    """Queue + DLQ (redrive after max_receive_count), both encrypted with SQS-managed keys.

    SQS-managed SSE rather than the aws/sqs KMS key: S3 and SNS can only deliver to a KMS-encrypted
    queue through a customer-managed key whose policy admits them.
    """

    queue: aws.sqs.Queue
    # Depend on it before anything that sends to the queue as a service (an S3 notification is checked
    # against it when it is saved).
    policy: aws.sqs.QueuePolicy
    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BufferedQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:messaging:BufferedQueue", name, None, opts)
        if args.alarms.region != args.region:
            raise ValueError(
                f"{name}: the queue is in {args.region} but its alarm topic in {args.alarms.region}; "
                "CloudWatch notifies only a topic in the alarm's region"
            )
        child = pulumi.ResourceOptions(parent=self)
        dlq = dead_letter_queue(
            f"{name}-dlq",
            alarms=args.alarms,
            holds=args.holds,
            opts=child,
            visibility_timeout_seconds=args.dead_letter_visibility_timeout_seconds,
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
        self.policy = queue_policy(
            f"{name}-policy",
            queue=self.queue,
            region=args.region,
            opts=child,
            notifying_bucket_arn=args.notifying_bucket_arn,
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
        return allow(CONSUMER_ACTIONS, [self.arn])

    def dead_letter_consumer_statement(self) -> PolicyStatement:
        """What a Lambda event source mapping needs on the dead-letter queue, and nothing more."""
        return allow(CONSUMER_ACTIONS, [self.dlq_arn])
