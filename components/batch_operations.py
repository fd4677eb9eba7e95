"""What operators watch in each batch region: its dashboard and alarms on failed workflow executions.

Alarms publish as the CloudWatch service, which cannot use the AWS-managed SNS key (alias/aws/sns): their
topic is encrypted with a customer-managed key whose policy lets CloudWatch use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.batch_dashboard import dashboard_body
from components.naming import stack_scoped_name
from components.notifications import email_topic


@dataclass(frozen=True)
class RegionOperations:
    dashboard_name: pulumi.Output[str]
    failure_alarm_arn: pulumi.Output[str]  # failed batch workflow executions


def region_operations(
    name: str,
    *,
    region: str,
    batch_workflow_arn: pulumi.Output[str],
    chunk_processor_arn: pulumi.Output[str],
    alarm_emails: Sequence[str],
    opts: pulumi.ResourceOptions,
) -> RegionOperations:
    """The region's dashboard, and an alarm per state machine on failed executions, emailed."""
    board = aws.cloudwatch.Dashboard(
        f"{name}-dashboard",
        region=region,
        dashboard_name=stack_scoped_name(name, max_length=255),
        dashboard_body=pulumi.Output.all(batch_workflow_arn, chunk_processor_arn).apply(
            lambda arns: json.dumps(
                dashboard_body(region=region, main_state_machine_arn=arns[0], chunk_state_machine_arn=arns[1])
            )
        ),
        opts=opts,
    )
    alarm_arns = _failure_alarms(
        name,
        region=region,
        state_machine_arns={"batch-workflow": batch_workflow_arn, "chunk-processor": chunk_processor_arn},
        emails=alarm_emails,
        opts=opts,
    )
    return RegionOperations(board.dashboard_name, alarm_arns["batch-workflow"])


def _failure_alarms(
    name: str,
    *,
    region: str,
    state_machine_arns: Mapping[str, pulumi.Output[str]],  # by role, e.g. "batch-workflow"
    emails: Sequence[str],
    opts: pulumi.ResourceOptions,
) -> dict[str, pulumi.Output[str]]:
    """An alarm per state machine on any failed execution, to the `{name}-alarms` topic; ARNs by role."""
    topic = email_topic(
        f"{name}-alarms",
        region=region,
        emails=emails,
        opts=opts,
        subscription_prefix=f"{name}-alarm-email",
        kms_key_id=_alarm_key(name, region, opts).arn,
    )
    alarm_arns = {}
    for role, machine_arn in state_machine_arns.items():
        alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-{role}-failed",
            region=region,
            alarm_description=f"{role} executions failed in {region}",
            namespace="AWS/States",
            metric_name="ExecutionsFailed",
            dimensions={"StateMachineArn": machine_arn},
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            opts=opts,
        )
        alarm_arns[role] = alarm.arn
    return alarm_arns


def _alarm_key(name: str, region: str, opts: pulumi.ResourceOptions) -> aws.kms.Key:
    account_id = aws.get_caller_identity_output().account_id
    return aws.kms.Key(
        f"{name}-alarm-key",
        region=region,
        description="Encrypts the batch alarm topic; CloudWatch alarms may publish with it",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=account_id.apply(_alarm_key_policy),
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
