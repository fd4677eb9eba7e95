"""Chaos for the batch system on AWS, behind the `failoverChaosExperiment` flag: the FIS experiment that
cuts the batch private subnets (components/private_network.py, where split, validate, enrich, write and
merge then run) off S3 and DynamoDB, as the seed's fisTemplate does. `ChaosExperiment` is the template: the
`aws:network:disrupt-connectivity` action with scope `s3` and then `dynamodb` on those subnets, stopped
early by an alarm (the other region's batch failures: if the standby breaks too, stop the chaos).
Run it in the primary, then fail over with the standby's runbook (README, "Failover").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import assume_role_policy

# The AWS-managed policy FIS documents for network actions (network ACL create/associate/delete on the
# target subnets); FIS scopes it to the template's targets at run time.
FIS_NETWORK_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorNetworkAccess"
EXPERIMENT_TAG = "MultiRegionBatchChaosTemplate"  # the seed's name: `aws fis list-experiment-templates`


@dataclass(frozen=True, kw_only=True)
class ChaosExperimentArgs:
    region: str
    subnet_arns: Sequence[pulumi.Input[str]]
    stop_alarm_arn: pulumi.Input[str]
    duration: str = "PT10M"  # ISO 8601, per action


class ChaosExperiment(pulumi.ComponentResource):
    template_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ChaosExperimentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:chaos:ChaosExperiment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            # Only experiments of this account may have FIS assume it (confused deputy prevention).
            assume_role_policy=assume_role_policy(
                "fis.amazonaws.com", source_account=aws.get_caller_identity_output().account_id
            ),
            description="FIS cuts the batch private subnets off S3 and DynamoDB",
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-network-access", role=role.name, policy_arn=FIS_NETWORK_POLICY_ARN, opts=child
        )
        template = aws.fis.ExperimentTemplate(
            f"{name}-template",
            region=args.region,
            description=f"Cut the batch private subnets in {args.region} off S3 and DynamoDB",
            role_arn=role.arn,
            stop_conditions=[{"source": "aws:cloudwatch:alarm", "value": args.stop_alarm_arn}],
            targets=[
                {
                    "name": "batch-private-subnets",
                    "resource_type": "aws:ec2:subnet",
                    "selection_mode": "ALL",
                    "resource_arns": list(args.subnet_arns),
                }
            ],
            actions=[
                aws.fis.ExperimentTemplateActionArgs(
                    name=f"cut-{scope}",
                    action_id="aws:network:disrupt-connectivity",
                    parameters=[
                        aws.fis.ExperimentTemplateActionParameterArgs(key="duration", value=args.duration),
                        aws.fis.ExperimentTemplateActionParameterArgs(key="scope", value=scope),
                    ],
                    target=aws.fis.ExperimentTemplateActionTargetArgs(
                        key="Subnets", value="batch-private-subnets"
                    ),
                )
                for scope in ("s3", "dynamodb")
            ],
            tags={"Name": EXPERIMENT_TAG},
            opts=child,
        )
        self.template_id = template.id
        self.register_outputs({"template_id": self.template_id})
