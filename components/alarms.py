"""CloudWatch alarms and the topic they notify: the one way any system watches a queue, workflow or function.

Each system has an alarm topic in every region it alarms in (`alarm_topic`): CloudWatch notifies only a
topic in the alarm's own region, so every alarm here takes its region from its topic. Alarms publish as
the CloudWatch service, which cannot use the AWS-managed SNS key (alias/aws/sns): the topic is encrypted
with a customer-managed key whose policy lets CloudWatch use it, and the topic's own policy lets
CloudWatch publish for this account's alarms in that region only.

Every alarm fires on the first bad minute (> 0 over 60 s, one period; above a percentage for a level
such as a cache's memory) and treats missing data as fine: an idle queue or workflow emits no data
points, which must not page anyone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import deny_insecure_transport
from components.notifications import email_topic

PERIOD_SECONDS = 60


@dataclass(frozen=True)
class AlarmTopic:
    """Where one system's alarms in one region go: an encrypted topic CloudWatch may publish to."""

    system: str  # e.g. "transform": named in every alarm description
    region: str
    arn: pulumi.Output[str]


def alarm_topic(
    name: str, *, system: str, region: str, emails: Sequence[str], opts: pulumi.ResourceOptions
) -> AlarmTopic:
    """`{name}-alarms` under the key `{name}-alarm-key`, every address subscribed (each must confirm)."""
    account_id = aws.get_caller_identity_output().account_id
    key = aws.kms.Key(
        f"{name}-alarm-key",
        region=region,
        description=f"Encrypts the {system} alarm topic; CloudWatch alarms may publish with it",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=account_id.apply(_alarm_key_policy),
        opts=opts,
    )
    topic = email_topic(
        f"{name}-alarms",
        region=region,
        emails=emails,
        opts=opts,
        subscription_prefix=f"{name}-alarm-email",
        kms_key_id=key.arn,
    )
    aws.sns.TopicPolicy(
        f"{name}-alarms-policy",
        region=region,
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, account_id).apply(
            lambda values: _alarm_topic_policy(values[0], region=region, account_id=values[1])
        ),
        opts=opts,
    )
    return AlarmTopic(system=system, region=region, arn=topic.arn)


def dead_letter_alarm(
    name: str,
    *,
    topic: AlarmTopic,
    queue_name: pulumi.Input[str],
    holds: str,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Any message in a dead-letter queue: something failed for good and waits for a person.

    `holds` says what lands there, e.g. "uploads the transform worker failed 5 times".
    """
    return _alarm(
        name,
        topic=topic,
        description=f"{topic.system}: a dead-letter queue in {topic.region} holds {holds}; "
        "inspect the messages, fix the cause, then redrive them",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue_name},
        # The queue's depth at its highest in the minute: one message is enough.
        statistic="Maximum",
        opts=opts,
    )


def failed_executions_alarm(
    name: str,
    *,
    topic: AlarmTopic,
    state_machine_arn: pulumi.Input[str],
    workflow: str,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Any failed execution of a state machine (`workflow` names it for the reader, e.g. "audit ingest")."""
    return _alarm(
        name,
        topic=topic,
        description=f"{topic.system}: {workflow} executions failed in {topic.region}",
        namespace="AWS/States",
        metric_name="ExecutionsFailed",
        dimensions={"StateMachineArn": state_machine_arn},
        statistic="Sum",
        opts=opts,
    )


def function_errors_alarm(
    name: str,
    *,
    topic: AlarmTopic,
    function_name: pulumi.Input[str],
    purpose: str,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Any invocation of a function that ended in an error (`purpose` names it, e.g. "POST /upload")."""
    return _alarm(
        name,
        topic=topic,
        description=f"{topic.system}: {purpose} failed in {topic.region}",
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": function_name},
        statistic="Sum",
        opts=opts,
    )


def cache_memory_alarm(
    name: str,
    *,
    topic: AlarmTopic,
    cache_cluster_id: pulumi.Input[str],
    threshold_percent: float,
    store: str,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """An ElastiCache node using more than `threshold_percent` of the memory its engine may use
    (DatabaseMemoryUsagePercentage, per member cluster), for a cache whose writes are refused when it is
    full (noeviction); `store` names it for the reader, e.g. "the audit claim-check store (Redis)"."""
    return _alarm(
        name,
        topic=topic,
        description=f"{topic.system}: {store} in {topic.region} is over {threshold_percent:g}% of its "
        "memory, and refuses writes when full: find what holds memory (entries not released, e.g. a "
        "stalled workflow) or move to a larger node type",
        namespace="AWS/ElastiCache",
        metric_name="DatabaseMemoryUsagePercentage",
        dimensions={"CacheClusterId": cache_cluster_id},
        statistic="Maximum",
        threshold=threshold_percent,
        opts=opts,
    )


def _alarm(
    name: str,
    *,
    topic: AlarmTopic,
    description: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    statistic: str,
    opts: pulumi.ResourceOptions,
    threshold: float = 0,
) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        name,
        region=topic.region,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dict(dimensions),
        statistic=statistic,
        period=PERIOD_SECONDS,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic.arn],
        opts=opts,
    )


def _alarm_key_policy(account_id: str) -> str:
    """Key policy: the account administers the key; CloudWatch may encrypt alarm notifications with it.

    "Resource": "*" in a key policy means this key (key policies attach to exactly one key).
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )


def _alarm_topic_policy(topic_arn: str, *, region: str, account_id: str) -> str:
    """Topic policy: CloudWatch publishes for this account's alarms in the topic's region, and no one else;
    nothing publishes without TLS.

    A topic policy replaces SNS's default one; the account's own principals still publish and subscribe
    through their IAM policies (same account), so only the service needs an Allow here. The conditions
    stop another account's alarms from using CloudWatch as a confused deputy.
    """
    partition = topic_arn.split(":")[1]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"
                        },
                        "StringEquals": {"aws:SourceAccount": account_id},
                    },
                },
                deny_insecure_transport(["sns:Publish"], [topic_arn]),
            ],
        }
    )
