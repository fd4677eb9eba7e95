"""POST a validated JSON body straight onto an SQS queue: REST API, request validator, no Lambda.

A REST API (v1) rather than an HTTP API: only REST APIs validate request bodies against a JSON schema,
so a bad request is answered 400 before anything is queued. The request id becomes a message attribute
and is returned to the caller (202), so the client can follow its request downstream. The method is
AWS_IAM: only a SigV4-signed request whose signer may execute-api:Invoke it is queued (`invoke_statements`
are that grant), and the signer's ARN travels as the `requestedBy` message attribute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ApiThrottle
from components.iam import PolicyStatement, allow, assume_role_policy, policy_document
from components.web_acl import WebAcl

STAGE_NAME = "v1"
DEFAULT_THROTTLE = ApiThrottle(rate_limit_per_second=2, burst_limit=5)
# API Gateway renders these with its own template language; `$context.requestId` is the id we hand out.
ACCEPTED_TEMPLATE = '{"{id_name}": "$context.requestId", "status": "queued"{more}}'
# In QueueApiArgs.accepted_fields, this stands for the request id.
REQUEST_ID_PLACEHOLDER = "{id}"
QUEUE_ERROR_TEMPLATE = (
    '{"error": "queue_unavailable", "message": "the request could not be queued; retry later"}'
)
# What AWS's AmazonAPIGatewayPushToCloudWatchLogs managed policy grants, on "*": API Gateway names the log
# groups and streams of every REST stage of the account and region itself.
API_GATEWAY_LOGGING_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
# Who called what, and how it ended: one JSON line per request.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.userArn",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "error": "$context.error.message",
}
INVALID_BODY_TEMPLATE = '{"error": "invalid_request", "message": "$context.error.validationErrorString"}'


@dataclass(frozen=True, kw_only=True)
class QueueApiArgs:
    region: str
    queue_arn: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    path_part: str  # e.g. "builds" -> POST /builds
    request_schema: Mapping[str, Any]  # JSON schema (draft-04) the body must satisfy
    id_name: str = "requestId"  # message attribute and response field carrying the request id
    # For every method of the stage ("*/*": REST API stage method settings limit each method on its own).
    throttle: ApiThrottle = DEFAULT_THROTTLE
    web_acl: WebAcl | None = None  # AWS WAF in front of the stage
    log_retention_days: int = 30  # the stage's access logs
    # The request content types taken, each body validated against request_schema as JSON and queued as
    # it came; any other is refused with 415.
    body_content_types: Sequence[str] = ("application/json",)
    # More fields of the 202 answer, each a string in which {id} is the request id: what the consumer
    # will make of the request, e.g. {"artifactKey": "build-{id}.zip"}.
    accepted_fields: Mapping[str, str] = field(default_factory=dict)


def accepted_template(id_name: str, accepted_fields: Mapping[str, str]) -> str:
    """The 202 answer's mapping template: the request id under `id_name`, then `accepted_fields`."""
    more = "".join(
        # The braced form ends the reference: `$context.requestId.zip` would ask the id for a property.
        f", {json.dumps(name)}: {json.dumps(value).replace(REQUEST_ID_PLACEHOLDER, '${context.requestId}')}"
        for name, value in accepted_fields.items()
    )
    return ACCEPTED_TEMPLATE.replace("{id_name}", id_name).replace("{more}", more)


class QueueApi(pulumi.ComponentResource):
    url: pulumi.Output[str]
    invoke_statements: list[PolicyStatement]  # what a caller's policy needs to POST

    def __init__(self, name: str, args: QueueApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:api:QueueApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = args.region

        api = aws.apigateway.RestApi(
            f"{name}-api", region=region, endpoint_configuration={"types": "REGIONAL"}, opts=child
        )
        resource = aws.apigateway.Resource(
            f"{name}-resource",
            region=region,
            rest_api=api.id,
            parent_id=api.root_resource_id,
            path_part=args.path_part,
            opts=child,
        )
        model = aws.apigateway.Model(
            f"{name}-model",
            region=region,
            rest_api=api.id,
            name=f"{args.path_part.capitalize()}Request",
            content_type="application/json",
            schema=json.dumps(args.request_schema),
            opts=child,
        )
        validator = aws.apigateway.RequestValidator(
            f"{name}-validator",
            region=region,
            rest_api=api.id,
            name="body",
            validate_request_body=True,
            opts=child,
        )
        method = aws.apigateway.Method(
            f"{name}-post",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method="POST",
            authorization="AWS_IAM",
            request_validator_id=validator.id,
            request_models=dict.fromkeys(args.body_content_types, model.name),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role", assume_role_policy=assume_role_policy("apigateway.amazonaws.com"), opts=child
        )
        aws.iam.RolePolicy(
            f"{name}-send",
            role=role.id,
            policy=policy_document([allow(["sqs:SendMessage"], [args.queue_arn])]),
            opts=child,
        )
        account = pulumi.Output.from_input(args.queue_arn).apply(lambda arn: arn.split(":")[4])
        integration = aws.apigateway.Integration(
            f"{name}-to-queue",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="AWS",
            integration_http_method="POST",
            uri=pulumi.Output.concat(
                "arn:aws:apigateway:", region, ":sqs:path/", account, "/", args.queue_name
            ),
            credentials=role.arn,
            passthrough_behavior="NEVER",
            request_parameters={
                "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
            },
            request_templates=dict.fromkeys(
                args.body_content_types,
                "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                f"&MessageAttribute.1.Name={args.id_name}&MessageAttribute.1.Value.DataType=String"
                "&MessageAttribute.1.Value.StringValue=$context.requestId"
                "&MessageAttribute.2.Name=requestedBy&MessageAttribute.2.Value.DataType=String"
                "&MessageAttribute.2.Value.StringValue=$util.urlEncode($context.identity.userArn)",
            ),
            opts=child,
        )
        accepted = aws.apigateway.MethodResponse(
            f"{name}-accepted",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code="202",
            opts=child,
        )
        integration_response = aws.apigateway.IntegrationResponse(
            f"{name}-accepted-response",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code=accepted.status_code,
            selection_pattern="",
            response_templates={"application/json": accepted_template(args.id_name, args.accepted_fields)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )
        # Without this, an SQS error would match the default (202) response: API Gateway selects
        # integration responses by the service's status code.
        rejected = aws.apigateway.MethodResponse(
            f"{name}-queue-rejected",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code="500",
            opts=child,
        )
        queue_error_response = aws.apigateway.IntegrationResponse(
            f"{name}-queue-rejected-response",
            region=region,
            rest_api=api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code=rejected.status_code,
            selection_pattern=r"4\d{2}|5\d{2}",
            response_templates={"application/json": QUEUE_ERROR_TEMPLATE},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )
        aws.apigateway.Response(
            f"{name}-invalid-body",
            region=region,
            rest_api_id=api.id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={"application/json": INVALID_BODY_TEMPLATE},
            opts=child,
        )
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            region=region,
            rest_api=api.id,
            # Redeploy whenever the integration's contract changes.
            triggers={
                "contract": json.dumps(
                    [
                        args.path_part,
                        dict(args.request_schema),
                        args.id_name,
                        list(args.body_content_types),
                        dict(args.accepted_fields),
                    ]
                )
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[integration, integration_response, queue_error_response]
            ),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", region=region, retention_in_days=args.log_retention_days, opts=child
        )
        stage = aws.apigateway.Stage(
            f"{name}-stage",
            region=region,
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=STAGE_NAME,
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": json.dumps(ACCESS_LOG_FORMAT),
            },
            # REST access logs are written with the region's API Gateway CloudWatch role.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[_logging_account(name, region, self)]),
        )
        aws.apigateway.MethodSettings(
            f"{name}-throttling",
            region=region,
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "throttling_burst_limit": args.throttle.burst_limit,
                "throttling_rate_limit": args.throttle.rate_limit_per_second,
            },
            opts=child,
        )
        if args.web_acl is not None:
            args.web_acl.protect(f"{name}-waf", stage.arn, self)
        self.url = pulumi.Output.concat(stage.invoke_url, "/", args.path_part)
        self.invoke_statements = [
            allow(
                ["execute-api:Invoke"],
                [pulumi.Output.concat(api.execution_arn, "/", STAGE_NAME, "/POST/", args.path_part)],
            )
        ]
        self.register_outputs({"url": self.url})


def _logging_account(name: str, region: str, parent: pulumi.Resource) -> aws.apigateway.Account:
    """The region's API Gateway account setting: the role REST stages write their access logs with.

    One per account and region: another stack in the same account and region sets it too (the last one
    wins; every such role grants the same). The role's grant is what
    AWS's AmazonAPIGatewayPushToCloudWatchLogs managed policy holds, written inline (no managed policies).
    """
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-cloudwatch-role",
        assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-cloudwatch-logs",
        role=role.id,
        policy=policy_document([allow(API_GATEWAY_LOGGING_ACTIONS, ["*"])]),
        opts=child,
    )
    return aws.apigateway.Account(f"{name}-account", region=region, cloudwatch_role_arn=role.arn, opts=child)
