"""A Step Functions state machine with its own least-privilege role and an execution log group."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.function import XRAY_ACTIONS
from components.iam import PolicyStatement, assume_role_policy, policy_document
from components.shared_settings import SharedSettings

# CloudWatch Logs delivery for Step Functions is configured through these account-level APIs, which
# accept no resource narrower than "*" (Step Functions developer guide, "IAM policies for logging").
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


@dataclass(frozen=True, kw_only=True)
class StateMachineArgs:
    """`definition` receives the resolved values of `definition_inputs` and returns the ASL dict."""

    region: str
    shared: SharedSettings  # the stack's log retention and tracing
    definition: Callable[..., dict[str, Any]]
    definition_inputs: Mapping[str, pulumi.Input[str]]
    policy_statements: Sequence[PolicyStatement]
    machine_type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    # Every event of every execution (never its data, see include_execution_data): an EXPRESS workflow
    # keeps no execution history of its own, so its log is the only record of what each execution did.
    log_level: Literal["ALL", "ERROR", "FATAL", "OFF"] = "ALL"
    # Statements that name the machine itself (a Distributed Map starts its own child executions):
    # given the machine's ARN, attached once the machine exists.
    self_policy_statements: Callable[[pulumi.Output[str]], Sequence[PolicyStatement]] | None = None


class StateMachine(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: StateMachineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:workflow:StateMachine", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", region=args.region, retention_in_days=args.shared.log_retention_days, opts=child
        )
        role = aws.iam.Role(
            f"{name}-role",
            # Step Functions acting for another account cannot be made to use this role.
            assume_role_policy=assume_role_policy(
                "states.amazonaws.com", source_account=aws.get_caller_identity_output().account_id
            ),
            opts=child,
        )
        statements: list[PolicyStatement] = [
            *args.policy_statements,
            {"Effect": "Allow", "Action": list(LOG_DELIVERY_ACTIONS), "Resource": ["*"]},
        ]
        if args.shared.tracing:
            statements.append({"Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": ["*"]})
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy_document(statements), opts=child
        )
        keys = list(args.definition_inputs)
        definition = pulumi.Output.all(*args.definition_inputs.values()).apply(
            lambda values: json.dumps(
                args.definition(**dict(zip(keys, values, strict=True))), ensure_ascii=False
            )
        )
        machine = aws.sfn.StateMachine(
            f"{name}-machine",
            region=args.region,
            type=args.machine_type,
            role_arn=role.arn,
            definition=definition,
            logging_configuration={
                "level": args.log_level,
                "include_execution_data": False,  # execution data may carry customer payloads
                "log_destination": pulumi.Output.concat(log_group.arn, ":*"),
            },
            tracing_configuration={"enabled": args.shared.tracing},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        if args.self_policy_statements is not None:
            aws.iam.RolePolicy(
                f"{name}-self-policy",
                role=role.id,
                policy=policy_document(list(args.self_policy_statements(machine.arn))),
                opts=child,
            )
        self.arn = machine.arn
        self.name = machine.name
        self.register_outputs({"arn": self.arn, "name": self.name})


def executions_of(state_machine_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    """ARN pattern of every execution started on a state machine: `execution:<machine>:<name>`."""
    return state_machine_arn.apply(lambda arn: arn.replace(":stateMachine:", ":execution:", 1) + ":*")


def map_run_executions_of(state_machine_arn: pulumi.Output[str], label: str) -> pulumi.Output[str]:
    """ARN pattern of the child executions a Distributed Map labelled `label` starts on its machine.

    Step Functions names them `execution:<machine>/<label>:<id>` (not `execution:<machine>:<id>`), so
    `executions_of` does not cover them.
    """
    return state_machine_arn.apply(
        lambda arn: arn.replace(":stateMachine:", ":execution:", 1) + f"/{label}:*"
    )
