"""Every finding of the policy rules the program keeps, each with its reason: the one place they live.

EXCEPTIONS maps a rule id to {pattern: reason}. A pattern is a glob (fnmatch, case-sensitive; `[*]` is
a literal star) over "<stack>/<finding>", where <stack> is a label of tests/policy/conftest.py's
POLICY_STACKS and <finding> is what the rule reports, "<logical name>" or "<logical name>: <detail>".
An exception that no longer excuses anything fails test_every_exception_still_excuses_a_finding: delete
it when its reason is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from components.function import VPC_ACCESS_ACTIONS, XRAY_ACTIONS
from components.queue_api import API_GATEWAY_LOGGING_ACTIONS
from components.state_machine import LOG_DELIVERY_ACTIONS
from handlers.conflict_feed.contract import FEED_STAGE

NO_RESOURCE_LEVEL_PERMISSIONS = {
    **{
        f"*: {action} on [*]": "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level "
        "permissions (Service Authorization Reference: resource types '*')"
        for action in XRAY_ACTIONS
    },
    **{
        f"*: {action} on [*]": "Step Functions configures log delivery through account-level CloudWatch Logs "
        "APIs that accept only '*' (Step Functions guide, 'IAM policies for logging to CloudWatch Logs')"
        for action in LOG_DELIVERY_ACTIONS
    },
    **{
        f"*: {action} on [*]": "Lambda manages a VPC function's network interfaces with its execution role; "
        "the Lambda guide ('Attaching Lambda functions to an Amazon VPC') grants these on '*' only"
        for action in VPC_ACCESS_ACTIONS
    },
}

ACCOUNT_LEVEL_LOGGING = {
    f"*: {action} on [*]": "the region's API Gateway CloudWatch role (one per account and region, for every "
    "REST stage's access logs) holds what AWS's AmazonAPIGatewayPushToCloudWatchLogs managed policy holds, "
    "written inline: API Gateway names the log groups and streams itself"
    for action in API_GATEWAY_LOGGING_ACTIONS
}

NAMED_AT_RUN_TIME = {
    "*: logs:CreateLogStream on arn:aws:logs:*:log-group:*-logs:[*]": "a function names its log streams at "
    "run time; the grant stops at its own log group",
    "*: logs:PutLogEvents on arn:aws:logs:*:log-group:*-logs:[*]": "a function names its log streams at run "
    "time; the grant stops at its own log group",
    "*: s3:* on arn:aws:s3:::[!*]*/*": "objects are written under keys chosen at run time (upload ids, build "
    "names, chunk numbers): a key prefix of one bucket (the whole bucket for replication and a region's "
    "copy) is the narrowest object ARN S3 offers",
    "*: s3:* on arn:aws:s3control:*:*:[!*]*/object/*": "the batch output's objects through its Multi-Region "
    "Access Point, under a key prefix, as for a bucket's objects",
    "*: states:* on arn:aws:states:*:*:execution:[!*]*": "executions are named at run time (deterministic "
    "names from their input): the grant covers the executions of one state machine, or of one of its "
    "Distributed Maps",
    "*: execute-api:Invoke on arn:aws:execute-api:*:*:[!*]*/[*]/*": "one route of one API in every stage "
    "($default, v1); execute-api ARNs write path parameters as '*'",
    (
        "*: execute-api:ManageConnections on "
        f"arn:aws:execute-api:*:*:[!*]*/{FEED_STAGE}/POST/@connections/[*]"
    ): "the events' live feed posts to its subscribers' connections, whose ids API Gateway mints at connect "
    "time: PostToConnection on one stage of one WebSocket API is the narrowest grant",
}


EXCEPTIONS: dict[str, dict[str, str]] = {
    "APIG4": {
        **dict.fromkeys(
            ("*/transform-api-route-4: NONE", "*/transform-api-route-5: NONE"),
            "the upload page and its script and style: a sign-in page must open before its visitor has a "
            "token; its function reads no data, accepts no input and holds no permission beyond its own log "
            "group, and every route the page calls takes the user pool's JWT",
        ),
        "primary*/events-*-feed-disconnect: NONE": "a WebSocket API's $disconnect route takes no "
        "authorization (API Gateway authorizes $connect only): it is reached only by a connection its "
        "AWS_IAM $connect admitted",
    },
    "APIG3": {
        "local/artifacts-api-stage": "WAF is the apiWaf option, AWS only (Pulumi.yaml): the local stack "
        "targets LocalStack Community, which has no WAF",
        "primary/artifacts-api-stage": "WAF is the apiWaf option, off by default: a web ACL is billed per "
        "month, per rule and per request, an account's choice; the primary+options build checks that "
        "apiWaf attaches one",
    },
    # Each bucket by name, so that a new bucket is a decision of its own.
    "S1": dict.fromkeys(
        ("*/artifacts-*-bucket", "*/audit-archive-bucket", "*/batch-data-*-bucket", "*/transform-*-bucket"),
        "S3 server access logging is not enabled: it needs a separate log bucket in each region the program "
        "uses (a bucket cannot usefully log to itself), and object-level auditing is an account-wide "
        "CloudTrail data-event choice outside this program",
    ),
    "DDB3": {
        "*/*-idempotency": "holds only Powertools idempotency records, which expire with the idempotency "
        "window (TTL): a restored copy would bring back expired markers, never business data",
        "*/*-idempotency: replica in *": "a replica of an idempotency table (see the table's own entry)",
        "primary*/events-*-feed-subscribers": "holds only the live feed's WebSocket connection ids, which "
        "expire with API Gateway's 2-hour connection limit (TTL): a restored copy would name connections "
        "that no longer exist",
    },
    "SF2": {
        "local/*": "LocalStack Community has no X-Ray: Pulumi.local.yaml sets regionflow:tracing false, "
        "which turns tracing off for every function and state machine of the local stack",
    },
    "L1": {
        "*: python3.13": "python3.14 is Lambda's newest Python runtime, but the program, its venv, the "
        "handlers' dependencies and localcloud's workers are built and tested on 3.13 (Amazon Linux 2023, "
        "supported until 2029-06-30); moving to 3.14 is one change for all of them "
        "(components/lambda_packaging.py LAMBDA_RUNTIME)",
    },
    "IAM4": {
        "primary+options/batch-chaos-*-network-access: *AWSFaultInjectionSimulatorNetworkAccess": "the "
        "policy FIS documents for aws:network:disrupt-connectivity (network ACL changes on the target "
        "subnets), kept by AWS in step with the action; only with regionflow:failoverChaosExperiment on",
    },
    "IAM5": {**NO_RESOURCE_LEVEL_PERMISSIONS, **NAMED_AT_RUN_TIME, **ACCOUNT_LEVEL_LOGGING},
    "SMG4": {
        "primary*/audit-redis-auth": "the Redis AUTH token is also the replication group's auth_token: "
        "rotating it takes ElastiCache's two-step token rotation (ROTATE, then SET) in step with the "
        "secret, which needs a rotation function not written yet; the token is 64 random characters "
        "that only the audit functions' roles may read",
    },
    "AEC5": {
        "primary*/audit-redis": "a port other than 6379 hides nothing from a caller inside the VPC: only the "
        "audit functions' security group reaches the group, over TLS, with an AUTH token",
    },
}


def unexcused(rule_id: str, label: str, offenders: Iterable[str]) -> list[str]:
    """The findings of a rule on the stack `label` that no exception of the rule excuses."""
    patterns = EXCEPTIONS.get(rule_id, {})
    findings = (f"{label}/{offender}" for offender in offenders)
    return [finding for finding in findings if not any(fnmatchcase(finding, pattern) for pattern in patterns)]
