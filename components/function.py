"""The one Lambda building block: function, its own least-privilege role, log group, optional DLQ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.iam import PolicyStatement, allow, assume_role_policy, policy_document
from components.lambda_packaging import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from components.shared_settings import SharedSettings

# X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions: "*" is the only form.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# What Lambda needs to attach a function to a VPC (the AWSLambdaVPCAccessExecutionRole set): it manages
# the function's network interfaces with the execution role, and AWS documents these on "*" only.
VPC_ACCESS_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


@dataclass(frozen=True, kw_only=True)
class FunctionNetwork:
    """Private subnets (and the security groups) a function runs in; it reaches AWS through endpoints."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]


@dataclass(frozen=True, kw_only=True)
class FunctionArgs:
    """One Lambda function. `policy_statements` are everything it may do besides logging.

    `environment` is what the handler's settings contract writes (`XSettings.environment(...)` from
    handlers/<system>/contract.py); packaging, log retention and tracing are the stack's (`shared`).
    """

    handler: str  # dotted path under the package root, e.g. "handlers.transform.upload_api.lambda_handler"
    description: str
    region: str
    shared: SharedSettings
    policy_statements: Sequence[PolicyStatement] = ()
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    memory_mb: int = 512
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    # Where failed asynchronous invocations go after Lambda's own two retries (S3, SNS, Event invokes).
    dead_letter_queue_arn: pulumi.Input[str] | None = None
    network: FunctionNetwork | None = None  # None: Lambda's own network (no VPC)


class Function(pulumi.ComponentResource):
    """A Lambda function that can do exactly what its statements say and logs to its own group."""

    function: aws.lambda_.Function
    arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:compute:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        shared = args.shared
        packaging = shared.packaging(args.region)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", region=args.region, retention_in_days=shared.log_retention_days, opts=child
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            description=f"Runs {args.handler}",
            opts=child,
        )

        statements: list[PolicyStatement] = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(log_group.arn, ":*")]),
            *args.policy_statements,
        ]
        if args.dead_letter_queue_arn is not None:
            statements.append(allow(["sqs:SendMessage"], [args.dead_letter_queue_arn]))
        if shared.tracing:
            statements.append({"Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": ["*"]})
        if args.network is not None:
            statements.append({"Effect": "Allow", "Action": list(VPC_ACCESS_ACTIONS), "Resource": ["*"]})
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy_document(statements), opts=child
        )

        self.function = aws.lambda_.Function(
            f"{name}-function",
            region=args.region,
            description=args.description,
            runtime=LAMBDA_RUNTIME,
            architectures=[LAMBDA_ARCHITECTURE],
            handler=args.handler,
            code=packaging.code(),
            layers=list(packaging.layer_arns),
            role=role.arn,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment={"variables": dict(args.environment)},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tracing_config={"mode": "Active" if shared.tracing else "PassThrough"},
            vpc_config=(
                {
                    "subnet_ids": list(args.network.subnet_ids),
                    "security_group_ids": list(args.network.security_group_ids),
                }
                if args.network is not None
                else None
            ),
            dead_letter_config=(
                {"target_arn": args.dead_letter_queue_arn} if args.dead_letter_queue_arn is not None else None
            ),
            # The role's permissions must exist before the first invocation can need them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        self.arn = self.function.arn
        self.function_name = self.function.name
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "arn": self.arn,
                "function_name": self.function_name,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
            }
        )
