"""The cdk-nag AwsSolutions rules that apply to regionflow, and two house rules, as checks over the resources
a stack records under Pulumi mocks (localcloud.core.recording).

Each check returns what it looked at and what breaks the rule ("<logical name>" or "<logical name>:
<detail>"); the tests (test_aws_solutions.py) excuse findings only through exceptions.EXCEPTIONS.
Rule ids and meanings follow cdk-nag's AwsSolutions pack (RULES.md in cdklabs/cdk-nag).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from components.iam import SOURCE_ACCOUNT_TRUSTING_SERVICES
from localcloud.core.recording import BuiltStack, RecordedResource

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
TABLE = "aws:dynamodb/table:Table"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_METHOD = "aws:apigateway/method:Method"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"

# The newest Python runtime Lambda offers (Lambda developer guide, "Lambda runtimes": python3.14, Nov 2025).
LATEST_PYTHON_RUNTIME = "python3.14"
REDIS_DEFAULT_PORT = 6379
AWS_MANAGED_POLICY = ":iam::aws:policy/"


@dataclass(frozen=True)
class Verdict:
    checked: tuple[str, ...]  # logical names of what the rule examined
    offenders: tuple[str, ...]  # findings, each naming a resource


Check = Callable[[BuiltStack], Verdict]
RULES: dict[str, Check] = {}


def rule(rule_id: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES[rule_id] = check
        return check

    return register


def verdict(checked: Iterable[RecordedResource], offenders: Iterable[str]) -> Verdict:
    return Verdict(tuple(resource.name for resource in checked), tuple(offenders))


# -- reading recorded resources ------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(policy: Any) -> list[dict[str, Any]]:
    """A policy document's statements, whether recorded as JSON text or as a dict."""
    if not policy:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    return as_list(document.get("Statement"))


def refers_to(value: Any, resource: RecordedResource) -> bool:
    """Whether an input names `resource` by ARN, name, URL or id.

    A resource's id is what RecordingMocks returns: its physical name (the `name` or `bucket` input, else
    the logical name) followed by "-id".
    """
    physical = resource.inputs.get("name") or resource.inputs.get("bucket") or resource.name
    names = {resource.outputs.get(key) for key in ("arn", "name", "bucket", "url")} - {None}
    return value in names or value == f"{physical}-id"


def policies_attached(
    stack: BuiltStack, resource: RecordedResource, policy_type: str, key: str
) -> list[dict[str, Any]]:
    """Statements of every `policy_type` resource whose `key` input names `resource`, and of its own
    `policy` input (queues and topics can carry their policy inline)."""
    found = statements(resource.inputs.get("policy"))
    for policy in stack.resources_of(policy_type):
        if refers_to(policy.inputs.get(key), resource):
            found += statements(policy.inputs.get("policy"))
    return found


def denies_insecure_transport(statement: dict[str, Any], actions: set[str], resources: set[str]) -> bool:
    """A Deny for everyone, on `resources`, of one of `actions`, when aws:SecureTransport is false."""
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and bool(actions & set(as_list(statement.get("Action"))))
        and resources <= set(as_list(statement.get("Resource")))
        and str(condition.get("aws:SecureTransport")).lower() == "false"
    )


def names_an_aws_managed_policy(arn: Any) -> bool:
    return isinstance(arn, str) and AWS_MANAGED_POLICY in arn


# -- API Gateway ---------------------------------------------------------------------------------------


@rule("APIG1")
def access_logging(stack: BuiltStack) -> Verdict:
    """Every API stage (HTTP and REST) writes access logs to a destination, in a format."""
    stages = [*stack.resources_of(HTTP_STAGE), *stack.resources_of(REST_STAGE)]
    offenders = []
    for stage in stages:
        settings = stage.inputs.get("accessLogSettings") or {}
        if not (settings.get("destinationArn") and settings.get("format")):
            offenders.append(stage.name)
    return verdict(stages, offenders)


@rule("APIG3")
def rest_stage_waf(stack: BuiltStack) -> Verdict:
    """Every REST API stage is associated with a WAF web ACL (HTTP API stages cannot be: an AWS limit)."""
    stages = stack.resources_of(REST_STAGE)
    protected = {
        association.inputs.get("resourceArn") for association in stack.resources_of(WEB_ACL_ASSOCIATION)
    }
    return verdict(stages, [stage.name for stage in stages if stage.outputs.get("arn") not in protected])


@rule("APIG4")
def route_authorization(stack: BuiltStack) -> Verdict:
    """No anonymous door: HTTP routes are AWS_IAM or JWT (with an authorizer), REST methods AWS_IAM or
    Cognito, function URLs AWS_IAM."""
    routes = stack.resources_of(HTTP_ROUTE)
    methods = stack.resources_of(REST_METHOD)
    urls = stack.resources_of(FUNCTION_URL)
    offenders = [
        f"{route.name}: {route.inputs.get('authorizationType')}"
        for route in routes
        if route.inputs.get("authorizationType") not in ("AWS_IAM", "JWT")
        or (route.inputs.get("authorizationType") == "JWT" and not route.inputs.get("authorizerId"))
    ]
    offenders += [
        f"{method.name}: {method.inputs.get('authorization')}"
        for method in methods
        if method.inputs.get("authorization") not in ("AWS_IAM", "COGNITO_USER_POOLS")
    ]
    offenders += [
        f"{url.name}: {url.inputs.get('authorizationType')}"
        for url in urls
        if url.inputs.get("authorizationType") != "AWS_IAM"
    ]
    return verdict([*routes, *methods, *urls], offenders)


# -- SQS and SNS -------------------------------------------------------------------------------------


def dead_letter_queue_arns(stack: BuiltStack) -> set[str]:
    """Queues that hold what failed elsewhere: a queue's redrive target, a function's asynchronous DLQ, a
    stream mapping's on-failure destination, or a queue whose every message pages someone (an alarm on
    any visible message: where a workflow or an API parks what it could not finish)."""
    queues = stack.resources_of(QUEUE)
    arns = {
        json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"]
        for queue in queues
        if queue.inputs.get("redrivePolicy")
    }
    for function in stack.resources_of(FUNCTION):
        arns.add((function.inputs.get("deadLetterConfig") or {}).get("targetArn"))
    for mapping in stack.resources_of(MAPPING):
        arns.add(
            ((mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
        )
    paged_queue_names = {
        (alarm.inputs.get("dimensions") or {}).get("QueueName")
        for alarm in stack.resources_of(ALARM)
        if alarm.inputs.get("namespace") == "AWS/SQS"
        and alarm.inputs.get("metricName") == "ApproximateNumberOfMessagesVisible"
        and alarm.inputs.get("threshold") == 0
    }
    arns |= {queue.outputs["arn"] for queue in queues if queue.outputs.get("name") in paged_queue_names}
    return arns - {None}


@rule("SQS3")
def queues_have_dead_letter_queues(stack: BuiltStack) -> Verdict:
    """Every queue that is not itself a dead-letter queue redrives to one of the stack's queues."""
    queues = stack.resources_of(QUEUE)
    queue_arns = {queue.outputs["arn"] for queue in queues}
    dead_letter = dead_letter_queue_arns(stack)
    offenders = []
    for queue in queues:
        if queue.outputs["arn"] in dead_letter:
            continue
        redrive = json.loads(queue.inputs.get("redrivePolicy") or "{}")
        if redrive.get("deadLetterTargetArn") not in queue_arns:
            offenders.append(queue.name)
    return verdict(queues, offenders)


@rule("SQS4")
def queues_require_tls(stack: BuiltStack) -> Verdict:
    """Every queue's policy denies every SQS action to anyone not using TLS."""
    queues = stack.resources_of(QUEUE)
    offenders = [
        queue.name
        for queue in queues
        if not any(
            denies_insecure_transport(statement, {"sqs:*", "*"}, {queue.outputs["arn"]})
            for statement in policies_attached(stack, queue, QUEUE_POLICY, "queueUrl")
        )
    ]
    return verdict(queues, offenders)


@rule("SNS3")
def topics_require_tls(stack: BuiltStack) -> Verdict:
    """Every topic's policy denies publishing to anyone not using TLS."""
    topics = stack.resources_of(TOPIC)
    offenders = [
        topic.name
        for topic in topics
        if not any(
            denies_insecure_transport(statement, {"sns:Publish", "sns:*", "*"}, {topic.outputs["arn"]})
            for statement in policies_attached(stack, topic, TOPIC_POLICY, "arn")
        )
    ]
    return verdict(topics, offenders)


# -- S3 ------------------------------------------------------------------------------------------------


@rule("S1")
def server_access_logs(stack: BuiltStack) -> Verdict:
    """Every bucket writes S3 server access logs."""
    buckets = stack.resources_of(BUCKET)
    logged = stack.resources_of(BUCKET_LOGGING)
    offenders = [
        bucket.name
        for bucket in buckets
        if not any(refers_to(logging.inputs.get("bucket"), bucket) for logging in logged)
    ]
    return verdict(buckets, offenders)


@rule("S10")
def buckets_require_tls(stack: BuiltStack) -> Verdict:
    """Every bucket's policy denies every S3 action, on the bucket and its objects, without TLS."""
    buckets = stack.resources_of(BUCKET)
    offenders = []
    for bucket in buckets:
        arn = bucket.outputs["arn"]
        if not any(
            denies_insecure_transport(statement, {"s3:*", "*"}, {arn, f"{arn}/*"})
            for statement in policies_attached(stack, bucket, BUCKET_POLICY, "bucket")
        ):
            offenders.append(bucket.name)
    return verdict(buckets, offenders)


# -- DynamoDB, Step Functions, Lambda -------------------------------------------------------------------


@rule("DDB3")
def point_in_time_recovery(stack: BuiltStack) -> Verdict:
    """Every table, and every replica of a global table, has point-in-time recovery."""
    tables = stack.resources_of(TABLE)
    offenders = []
    for table in tables:
        if not (table.inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            offenders.append(table.name)
        offenders += [
            f"{table.name}: replica in {replica['regionName']}"
            for replica in table.inputs.get("replicas") or []
            if not replica.get("pointInTimeRecovery")
        ]
    return verdict(tables, offenders)


@rule("SF1")
def state_machines_log_all_events(stack: BuiltStack) -> Verdict:
    """Every state machine logs ALL events to a CloudWatch log group."""
    machines = stack.resources_of(STATE_MACHINE)
    offenders = []
    for machine in machines:
        logging = machine.inputs.get("loggingConfiguration") or {}
        if logging.get("level") != "ALL" or not logging.get("logDestination"):
            offenders.append(f"{machine.name}: {logging.get('level')}")
    return verdict(machines, offenders)


@rule("SF2")
def state_machines_trace(stack: BuiltStack) -> Verdict:
    """Every state machine has X-Ray tracing on."""
    machines = stack.resources_of(STATE_MACHINE)
    offenders = [
        machine.name
        for machine in machines
        if not (machine.inputs.get("tracingConfiguration") or {}).get("enabled")
    ]
    return verdict(machines, offenders)


@rule("L1")
def latest_runtime(stack: BuiltStack) -> Verdict:
    """Every function runs on Lambda's latest Python runtime."""
    functions = stack.resources_of(FUNCTION)
    offenders = [
        f"{function.name}: {function.inputs.get('runtime')}"
        for function in functions
        if function.inputs.get("runtime") != LATEST_PYTHON_RUNTIME
    ]
    return verdict(functions, offenders)


# -- IAM -----------------------------------------------------------------------------------------------


@rule("IAM4")
def no_aws_managed_policies(stack: BuiltStack) -> Verdict:
    """No role carries an AWS managed policy (attached, or in its managed policy ARNs)."""
    roles = stack.resources_of(ROLE)
    attachments = stack.resources_of(ROLE_POLICY_ATTACHMENT)
    offenders = [
        f"{attachment.name}: {attachment.inputs.get('policyArn')}"
        for attachment in attachments
        if names_an_aws_managed_policy(attachment.inputs.get("policyArn"))
    ]
    offenders += [
        f"{role.name}: {arn}"
        for role in roles
        for arn in as_list(role.inputs.get("managedPolicyArns"))
        if names_an_aws_managed_policy(arn)
    ]
    return verdict([*roles, *attachments], offenders)


def identity_policies(stack: BuiltStack) -> list[tuple[RecordedResource, dict[str, Any]]]:
    """Every statement of every role's own policies (role policies and inline policies)."""
    found = [
        (policy, statement)
        for policy in stack.resources_of(ROLE_POLICY)
        for statement in statements(policy.inputs.get("policy"))
    ]
    for role in stack.resources_of(ROLE):
        for inline in as_list(role.inputs.get("inlinePolicies")):
            found += [(role, statement) for statement in statements(inline.get("policy"))]
    return found


@rule("IAM5")
def no_wildcards(stack: BuiltStack) -> Verdict:
    """No Allow names an action or a resource with a wildcard ("<policy>: <action> on <resource>")."""
    granted = identity_policies(stack)
    offenders = []
    for policy, statement in granted:
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action")) or ["(NotAction)"]
        resources = as_list(statement.get("Resource")) or ["(NotResource)"]
        offenders += [
            f"{policy.name}: {action} on {resource}"
            for action in actions
            for resource in resources
            if "*" in action or "*" in resource
        ]
    return verdict([policy for policy, _ in granted], offenders)


# -- Secrets Manager, ElastiCache ---------------------------------------------------------------------


@rule("SMG4")
def secrets_rotate(stack: BuiltStack) -> Verdict:
    """Every secret is rotated automatically."""
    secrets = stack.resources_of(SECRET)
    rotations = stack.resources_of(SECRET_ROTATION)
    offenders = [
        secret.name
        for secret in secrets
        if not any(refers_to(rotation.inputs.get("secretId"), secret) for rotation in rotations)
    ]
    return verdict(secrets, offenders)


def replication_groups_where(stack: BuiltStack, broken: Callable[[dict[str, Any]], bool]) -> Verdict:
    groups = stack.resources_of(REPLICATION_GROUP)
    return verdict(groups, [group.name for group in groups if broken(group.inputs)])


@rule("AEC1")
def cache_in_vpc(stack: BuiltStack) -> Verdict:
    """Every ElastiCache replication group runs in the stack's subnets behind security groups."""
    return replication_groups_where(
        stack, lambda group: not (group.get("subnetGroupName") and group.get("securityGroupIds"))
    )


@rule("AEC3")
def cache_encrypted(stack: BuiltStack) -> Verdict:
    """Every replication group encrypts at rest and in transit."""
    return replication_groups_where(
        stack,
        lambda group: not (group.get("atRestEncryptionEnabled") and group.get("transitEncryptionEnabled")),
    )


@rule("AEC4")
def cache_multi_az(stack: BuiltStack) -> Verdict:
    """Every replication group spans Availability Zones and fails over on its own."""
    return replication_groups_where(
        stack, lambda group: not (group.get("multiAzEnabled") and group.get("automaticFailoverEnabled"))
    )


@rule("AEC5")
def cache_not_on_default_port(stack: BuiltStack) -> Verdict:
    """No replication group listens on Redis's default port."""
    return replication_groups_where(
        stack, lambda group: group.get("port") in (None, REDIS_DEFAULT_PORT, float(REDIS_DEFAULT_PORT))
    )


@rule("AEC6")
def cache_authenticates(stack: BuiltStack) -> Verdict:
    """Every replication group requires AUTH (a token) or RBAC (user groups)."""
    return replication_groups_where(
        stack, lambda group: not (group.get("authToken") or group.get("userGroupIds"))
    )


# -- house rules: confused deputies ------------------------------------------------------------------


@rule("SourceAccount")
def service_grants_name_their_account(stack: BuiltStack) -> Verdict:
    """A grant to a service principal that names the source resource (aws:SourceArn) names its account
    too (aws:SourceAccount): S3 bucket ARNs carry no account, so the ARN alone fits a bucket of the same
    name in any account. Lambda permissions (source_arn/source_account) and resource-policy statements."""
    permissions = [
        permission
        for permission in stack.resources_of(PERMISSION)
        if str(permission.inputs.get("principal", "")).endswith(".amazonaws.com")
        and permission.inputs.get("sourceArn")
    ]
    offenders = [permission.name for permission in permissions if not permission.inputs.get("sourceAccount")]
    policies = [
        *stack.resources_of(QUEUE_POLICY),
        *stack.resources_of(TOPIC_POLICY),
        *stack.resources_of(BUCKET_POLICY),
    ]
    for policy in policies:
        for statement in statements(policy.inputs.get("policy")):
            principal = statement.get("Principal")
            if (
                statement.get("Effect") != "Allow"
                or not isinstance(principal, dict)
                or "Service" not in principal
            ):
                continue
            keys = {key for pairs in (statement.get("Condition") or {}).values() for key in pairs}
            if "aws:SourceArn" in keys and "aws:SourceAccount" not in keys:
                offenders.append(f"{policy.name}: {statement.get('Sid', principal['Service'])}")
    return verdict([*permissions, *policies], offenders)


@rule("TrustSourceAccount")
def trust_policies_name_their_account(stack: BuiltStack) -> Verdict:
    """A role a service assumes requires aws:SourceAccount wherever AWS documents that the service sends
    it (components.iam.SOURCE_ACCOUNT_TRUSTING_SERVICES), so no other account's request can make the
    service act as this role."""
    trusting = []
    offenders = []
    for role in stack.resources_of(ROLE):
        for statement in statements(role.inputs.get("assumeRolePolicy")):
            services = set(as_list((statement.get("Principal") or {}).get("Service")))
            if not services & SOURCE_ACCOUNT_TRUSTING_SERVICES:
                continue
            trusting.append(role)
            if "aws:SourceAccount" not in ((statement.get("Condition") or {}).get("StringEquals") or {}):
                offenders.append(f"{role.name}: {', '.join(sorted(services))}")
    return verdict(trusting, offenders)
