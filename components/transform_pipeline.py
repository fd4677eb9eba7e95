"""XML -> JSON pipeline: upload API -> input bucket -> SQS buffer -> transform -> output bucket.

Large documents (above what a Lambda request carries, 6 MB) go straight to S3: POST /uploads hands out a
presigned POST for incoming/<uploadId>.xml, and the staged-upload validator runs the upload API's checks
on the file S3 received, then moves it on to uploads/ (the same path as a direct upload) or keeps it
under quarantine/ with the upload rejected. A file put straight into incoming/ (seed 001's `aws s3 cp
--recursive`) takes the same path with a row of its own, its rule from its folder or metadata, and stays
where it was put. GET /rules lists the rules a person can pick.

With the stack's own user pool, the API's root serves the upload page (handlers/transform/upload_page.py):
people sign in, pick a rule and send files from a browser; the input bucket's CORS rules let that origin
post large files to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic, alarm_topic, function_errors_alarm
from components.api_callers import ApiCallerRole, ApiCallerRoleArgs
from components.buffered_queue import CONSUMER_ACTIONS, BufferedQueue, BufferedQueueArgs, dead_letter_queue
from components.config import ApiThrottle
from components.function import Function, FunctionArgs
from components.http_api import HttpApi, HttpApiArgs, JwtIssuer, LambdaRoute
from components.iam import allow
from components.notifications import email_topic, tls_only_topic_policy
from components.secure_bucket import SecureBucket, SecureBucketArgs
from components.shared_settings import SharedSettings
from components.system_dashboard import SystemDashboardArgs, system_dashboard
from components.user_pool import UserPool, UserPoolArgs
from components.web_acl import WebAcl
from handlers.transform.contract import (
    INPUT_BUCKET_PREFIXES,
    INPUT_PREFIX,
    INPUT_SUFFIX,
    OUTPUT_PREFIX,
    QUARANTINE_PREFIX,
    RULES_TABLE_KEY,
    STAGING_PREFIX,
    STATUS_TABLE_KEY,
    DeadLetterSettings,
    RulesListSettings,
    StagedUploadSettings,
    StatusSettings,
    UploadPageSettings,
    UploadSettings,
    UploadUrlSettings,
    WorkerSettings,
    url_origin,
)

UPLOAD_ROUTE = "POST /upload"
UPLOAD_URL_ROUTE = "POST /uploads"  # a presigned POST for a large document
STATUS_ROUTE = "GET /uploads/{id}"
RULES_ROUTE = "GET /rules"
PAGE_ROUTE = "GET /"  # the upload page
PAGE_ASSET_ROUTE = "GET /page/{asset}"  # its script and style
# Reserved for the page's function: a static answer takes milliseconds, so two serve hundreds of page loads
# a second, and a flood of them is throttled without touching the data routes' reservations.
PAGE_CONCURRENCY = 2
API_THROTTLE = ApiThrottle(rate_limit_per_second=20, burst_limit=50)  # each route
# AWS's guidance for SQS-triggered functions: visibility timeout at least six times the function timeout,
# so a message is not handed to a second worker while the first one is still retrying it.
VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6
DEAD_LETTER_TIMEOUT_SECONDS = 30  # two conditional writes and a publish per dead letter
# Reading, checking and writing back a 10 MB document; the upload API does the same within its request.
STAGED_UPLOAD_TIMEOUT_SECONDS = 60
# How long a browser may cache the input bucket's answer to a CORS preflight.
CORS_MAX_AGE_SECONDS = 3000


@dataclass(frozen=True, kw_only=True)
class TransformPipelineArgs:
    """Settings for the XML -> JSON pipeline; defaults are the secure, production choice.

    The functions' settings default to their contract's (handlers/transform/contract.py).
    """

    region: str
    shared: SharedSettings
    rule_items: Sequence[Mapping[str, str]] = ()  # rules table items (handlers.transform.contract.rule_items)
    max_upload_bytes: int = UploadSettings.max_upload_bytes
    max_xml_depth: int = UploadSettings.max_xml_depth
    batch_size: int = 10
    max_receive_count: int = WorkerSettings.max_receive_count  # receives before a message moves to the DLQ
    # Reserved for the worker and its SQS mapping's maximum concurrency (at least 2): protects DynamoDB and
    # S3 from bursts and keeps a flood of uploads from taking the account's whole concurrency.
    worker_concurrency: int = 10
    dead_letter_concurrency: int = 2  # the DLQ's consumer, likewise (a mapping's minimum is 2)
    api_concurrency: int = 10  # reserved, each API function: a flood of requests is throttled, not scaled
    api_throttle: ApiThrottle = API_THROTTLE
    rule_cache_seconds: int = WorkerSettings.rule_cache_seconds
    presigned_url_ttl_seconds: int = StatusSettings.presigned_url_ttl_seconds
    upload_url_ttl_seconds: int = UploadUrlSettings.upload_url_ttl_seconds  # a presigned POST's lifetime
    worker_timeout_seconds: int = 60
    worker_memory_mb: int = 1024  # a 10 MB document becomes ~100 MB of Python objects
    notify_emails: Sequence[str] = ()  # the notifications topic's subscribers, and the alarm topic's
    # Who may upload: an existing OpenID Connect issuer, or None for a Cognito user pool of the stack's own.
    jwt_issuer: JwtIssuer | None = None
    web_acl: WebAcl | None = None  # AWS WAF in front of the user pool's sign-in


class TransformPipeline(pulumi.ComponentResource):
    """Validated XML in, JSON out, rules per customer from DynamoDB, a message per finished upload."""

    upload_url: pulumi.Output[str]
    uploads_url: pulumi.Output[str]  # POST /uploads: a presigned POST for a large document
    status_url: pulumi.Output[str]
    rules_url: pulumi.Output[str]
    input_bucket: pulumi.Output[str]
    output_bucket: pulumi.Output[str]
    rules_table: pulumi.Output[str]
    status_table: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    user_pool_id: pulumi.Output[str] | None  # the stack's own pool (None with an existing issuer)
    user_pool_client_id: pulumi.Output[str] | None
    upload_page_url: pulumi.Output[str] | None  # the upload page (with the stack's own user pool only)
    caller_role_arn: pulumi.Output[str] | None  # function URLs only: people sign with IAM there
    dlq_url: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]  # CloudWatch: queue depths, DLQs, function errors

    def __init__(
        self, name: str, args: TransformPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:transform:TransformPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = args.region

        # A file put anywhere but the pipeline's prefixes would never be read: such a put is refused.
        inputs = SecureBucket(
            f"{name}-input", SecureBucketArgs(region=region, writable_prefixes=INPUT_BUCKET_PREFIXES), child
        )
        outputs = SecureBucket(f"{name}-output", SecureBucketArgs(region=region), child)
        rules = self._table(f"{name}-rules", region, hash_key=RULES_TABLE_KEY)
        statuses = self._table(f"{name}-status", region, hash_key=STATUS_TABLE_KEY)
        for item in args.rule_items:
            aws.dynamodb.TableItem(
                f"{name}-rule-{item[RULES_TABLE_KEY]}",
                region=region,
                table_name=rules.name,
                hash_key=RULES_TABLE_KEY,
                item=json.dumps({key: {"S": value} for key, value in item.items()}),
                opts=child,
            )

        topic = email_topic(
            f"{name}-notifications",
            region=region,
            emails=args.notify_emails,
            opts=child,
            subscription_prefix=f"{name}-notify",
        )
        tls_only_topic_policy(f"{name}-notifications-policy", topic=topic, region=region, opts=child)
        # Not the notifications topic: CloudWatch cannot publish to a topic under the AWS-managed key, and
        # alarms are for operators, not part of the per-upload message stream.
        alarms = alarm_topic(name, system=name, region=region, emails=args.notify_emails, opts=child)

        buffer = BufferedQueue(
            f"{name}-buffer",
            BufferedQueueArgs(
                region=region,
                alarms=alarms,
                holds=f"uploads the transform worker failed {args.max_receive_count} times",
                visibility_timeout_seconds=args.worker_timeout_seconds
                * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
                max_receive_count=args.max_receive_count,
                dead_letter_visibility_timeout_seconds=DEAD_LETTER_TIMEOUT_SECONDS
                * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
                notifying_bucket_arn=inputs.arn,
            ),
            child,
        )
        # What every function of this pipeline shares; each call adds its own handler, grants and env.
        function_args = partial(FunctionArgs, region=region, shared=args.shared)
        upload = Function(
            f"{name}-upload",
            function_args(
                handler="handlers.transform.upload_api.lambda_handler",
                description="POST /upload: validate XML and store it for transformation",
                policy_statements=[
                    allow(["s3:PutObject"], [inputs.objects_arn(INPUT_PREFIX)]),
                    allow(["dynamodb:PutItem", "dynamodb:UpdateItem"], [statuses.arn]),
                    allow(["dynamodb:GetItem"], [rules.arn]),
                ],
                environment=UploadSettings.environment(
                    input_bucket=inputs.bucket_name,
                    status_table=statuses.name,
                    rules_table=rules.name,
                    max_upload_bytes=args.max_upload_bytes,
                    max_xml_depth=args.max_xml_depth,
                    rule_cache_seconds=args.rule_cache_seconds,
                ),
                memory_mb=1024,
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        status = Function(
            f"{name}-status",
            function_args(
                handler="handlers.transform.status_api.lambda_handler",
                description="GET /uploads/{id}: upload status and a presigned URL of the JSON",
                policy_statements=[
                    allow(["dynamodb:GetItem"], [statuses.arn]),
                    allow(["s3:GetObject"], [outputs.objects_arn(OUTPUT_PREFIX)]),
                ],
                environment=StatusSettings.environment(
                    status_table=statuses.name,
                    output_bucket=outputs.bucket_name,
                    presigned_url_ttl_seconds=args.presigned_url_ttl_seconds,
                ),
                memory_mb=256,
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        upload_url = Function(
            f"{name}-upload-url",
            function_args(
                handler="handlers.transform.upload_url_api.lambda_handler",
                description="POST /uploads: a presigned POST to send a large document straight to S3",
                policy_statements=[
                    # A presigned POST is authorized as its signer: this role may put the staged files only.
                    allow(["s3:PutObject"], [inputs.objects_arn(STAGING_PREFIX)]),
                    allow(["dynamodb:PutItem"], [statuses.arn]),
                    allow(["dynamodb:GetItem"], [rules.arn]),
                ],
                environment=UploadUrlSettings.environment(
                    input_bucket=inputs.bucket_name,
                    status_table=statuses.name,
                    rules_table=rules.name,
                    max_upload_bytes=args.max_upload_bytes,
                    upload_url_ttl_seconds=args.upload_url_ttl_seconds,
                    rule_cache_seconds=args.rule_cache_seconds,
                ),
                memory_mb=256,
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        rules_list = Function(
            f"{name}-rules-api",
            function_args(
                handler="handlers.transform.rules_api.lambda_handler",
                description="GET /rules: the rules a person can upload with, and their descriptions",
                policy_statements=[allow(["dynamodb:Scan"], [rules.arn])],
                environment=RulesListSettings.environment(rules_table=rules.name),
                memory_mb=256,
                reserved_concurrency=args.api_concurrency,
            ),
            child,
        )
        # S3 invokes the validator asynchronously; what fails on every attempt Lambda makes lands here, and
        # the dead-letter consumer settles its upload.
        validator_dlq = dead_letter_queue(
            f"{name}-validator-dlq",
            alarms=alarms,
            holds="large uploads whose check failed on every attempt",
            opts=child,
            visibility_timeout_seconds=DEAD_LETTER_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
        )
        validator = Function(
            f"{name}-staged-upload",
            function_args(
                handler="handlers.transform.staged_upload_validator.lambda_handler",
                description="Check a large upload posted to S3: on to the transform, or into quarantine",
                policy_statements=[
                    # GetObjectVersion: a dropped file is read as the version its event named.
                    allow(
                        ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
                        [inputs.objects_arn(STAGING_PREFIX)],
                    ),
                    allow(
                        ["s3:PutObject"],
                        [inputs.objects_arn(INPUT_PREFIX), inputs.objects_arn(QUARANTINE_PREFIX)],
                    ),
                    # PutItem: a file dropped into incoming/ gets its row here.
                    allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [statuses.arn]),
                    allow(["dynamodb:GetItem"], [rules.arn]),
                    allow(["sns:Publish"], [topic.arn]),
                ],
                environment=StagedUploadSettings.environment(
                    input_bucket=inputs.bucket_name,
                    status_table=statuses.name,
                    rules_table=rules.name,
                    topic_arn=topic.arn,
                    max_upload_bytes=args.max_upload_bytes,
                    max_xml_depth=args.max_xml_depth,
                    rule_cache_seconds=args.rule_cache_seconds,
                ),
                timeout_seconds=STAGED_UPLOAD_TIMEOUT_SECONDS,
                memory_mb=1024,
                reserved_concurrency=args.api_concurrency,
                dead_letter_queue_arn=validator_dlq.arn,
            ),
            child,
        )
        validator_permission = aws.lambda_.Permission(
            f"{name}-staged-upload-permission",
            region=region,
            action="lambda:InvokeFunction",
            function=validator.function_name,
            principal="s3.amazonaws.com",
            source_arn=inputs.arn,
            # Bucket ARNs name no account: without it, a bucket of this name in another account could
            # invoke the function through S3.
            source_account=aws.get_caller_identity_output().account_id,
            opts=child,
        )
        # A bucket has one notification configuration: direct uploads to the buffer, everything put into
        # incoming/ (a large upload's file, or any file dropped there) to the validator.
        aws.s3.BucketNotification(
            f"{name}-input-events",
            region=region,
            bucket=inputs.bucket_name,
            queues=[
                {
                    "queue_arn": buffer.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": INPUT_PREFIX,
                    "filter_suffix": INPUT_SUFFIX,
                }
            ],
            lambda_functions=[
                {
                    "lambda_function_arn": validator.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": STAGING_PREFIX,
                }
            ],
            # S3 checks it may deliver to each destination when the notification is saved: the queue's
            # policy and the function's permission must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[buffer.policy, validator_permission]),
        )
        worker = Function(
            f"{name}-worker",
            function_args(
                handler="handlers.transform.transform_worker.lambda_handler",
                description="Transform buffered uploads from XML to JSON with the customer's rules",
                policy_statements=[
                    buffer.consumer_statement(),
                    allow(["s3:GetObject", "s3:GetObjectVersion"], [inputs.objects_arn(INPUT_PREFIX)]),
                    # Without ListBucket, S3 answers a missing object 403 AccessDenied, not 404: the
                    # worker fails a vanished upload at once only when it can tell it is gone.
                    allow(["s3:ListBucket"], [inputs.arn]),
                    allow(["s3:PutObject"], [outputs.objects_arn(OUTPUT_PREFIX)]),
                    allow(["dynamodb:GetItem"], [rules.arn]),
                    allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [statuses.arn]),
                    allow(["sns:Publish"], [topic.arn]),
                ],
                environment=WorkerSettings.environment(
                    output_bucket=outputs.bucket_name,
                    status_table=statuses.name,
                    rules_table=rules.name,
                    topic_arn=topic.arn,
                    rule_cache_seconds=args.rule_cache_seconds,
                    max_receive_count=args.max_receive_count,
                ),
                timeout_seconds=args.worker_timeout_seconds,
                memory_mb=args.worker_memory_mb,
                reserved_concurrency=args.worker_concurrency,
            ),
            child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-worker-trigger",
            region=region,
            event_source_arn=buffer.arn,
            function_name=worker.function_name,
            batch_size=args.batch_size,
            # SQS mappings above 10 messages per batch require a batching window.
            maximum_batching_window_in_seconds=1 if args.batch_size > 10 else 0,
            function_response_types=["ReportBatchItemFailures"],
            # No more pollers than reserved executions: an invocation throttled for lack of concurrency
            # would return its messages to the queue and spend their receives towards the DLQ.
            scaling_config={"maximum_concurrency": args.worker_concurrency},
            opts=child,
        )

        # A worker that crashes (timeout, out of memory) on the last receive leaves its upload pending, and a
        # validator that fails on every attempt leaves it awaiting_upload: the consumer of both DLQs marks
        # such uploads failed and sends any notice that never went out.
        dead_letters = Function(
            f"{name}-dead-letters",
            function_args(
                handler="handlers.transform.dead_letters.lambda_handler",
                description="Settle dead-lettered uploads: failed with a reason, and announced",
                policy_statements=[
                    buffer.dead_letter_consumer_statement(),
                    allow(CONSUMER_ACTIONS, [validator_dlq.arn]),
                    allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [statuses.arn]),
                    allow(["sns:Publish"], [topic.arn]),
                ],
                environment=DeadLetterSettings.environment(status_table=statuses.name, topic_arn=topic.arn),
                timeout_seconds=DEAD_LETTER_TIMEOUT_SECONDS,
                memory_mb=256,
                reserved_concurrency=args.dead_letter_concurrency,
            ),
            child,
        )
        for trigger, dead_letter_queue_arn in (
            ("dead-letters-trigger", buffer.dlq_arn),
            ("validator-dead-letters-trigger", validator_dlq.arn),
        ):
            aws.lambda_.EventSourceMapping(
                f"{name}-{trigger}",
                region=region,
                event_source_arn=dead_letter_queue_arn,
                function_name=dead_letters.function_name,
                batch_size=10,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config={"maximum_concurrency": args.dead_letter_concurrency},
                opts=child,
            )

        self.user_pool_id = self.user_pool_client_id = self.caller_role_arn = None
        issuer = args.jwt_issuer
        if issuer is None and args.shared.api_front_door == "httpApi":
            pool = UserPool(
                f"{name}-people",
                UserPoolArgs(region=region, purpose="transform uploads", web_acl=args.web_acl),
                child,
            )
            issuer, self.user_pool_id, self.user_pool_client_id = pool.issuer, pool.pool_id, pool.client_id
        # The upload page signs people in to the stack's own pool: with another issuer there is none.
        page = (
            None
            if self.user_pool_client_id is None
            else self._upload_page_function(name, args, function_args, inputs, self.user_pool_client_id)
        )
        page_routes = (
            []
            if page is None
            else [
                LambdaRoute(route_key=PAGE_ROUTE, function=page, authorization="NONE"),
                LambdaRoute(route_key=PAGE_ASSET_ROUTE, function=page, authorization="NONE"),
            ]
        )
        api = HttpApi(
            f"{name}-api",
            HttpApiArgs(
                region=region,
                shared=args.shared,
                routes=[
                    LambdaRoute(route_key=UPLOAD_ROUTE, function=upload, authorization="JWT"),
                    LambdaRoute(route_key=UPLOAD_URL_ROUTE, function=upload_url, authorization="JWT"),
                    LambdaRoute(route_key=STATUS_ROUTE, function=status, authorization="JWT"),
                    LambdaRoute(route_key=RULES_ROUTE, function=rules_list, authorization="JWT"),
                    *page_routes,
                ],
                throttle=args.api_throttle,
                jwt_issuer=issuer,
            ),
            child,
        )
        if api.invoke_statements:
            self.caller_role_arn = ApiCallerRole(
                f"{name}-caller",
                ApiCallerRoleArgs(
                    statements=api.invoke_statements,
                    description="regionflow: transform uploads, upload URLs, status and rules",
                ),
                child,
            ).arn
        self.upload_page_url = (
            None
            if page is None
            else self._serve_upload_page(
                name, region=region, page=page, api=api, inputs=inputs, alarms=alarms
            )
        )
        # The worker's failures end in the buffer's dead-letter queue (alarmed there); the API functions'
        # end with the caller, so they are alarmed here.
        for role, function, route in (
            ("upload", upload, UPLOAD_ROUTE),
            ("upload-url", upload_url, UPLOAD_URL_ROUTE),
            ("status", status, STATUS_ROUTE),
            ("rules-api", rules_list, RULES_ROUTE),
        ):
            function_errors_alarm(
                f"{name}-{role}-errors",
                topic=alarms,
                function_name=function.function_name,
                purpose=route,
                opts=child,
            )

        self.upload_url = api.url_for(UPLOAD_ROUTE)
        self.uploads_url = api.url_for(UPLOAD_URL_ROUTE)
        self.status_url = api.url_for(STATUS_ROUTE)
        self.rules_url = api.url_for(RULES_ROUTE)
        self.dashboard_name = system_dashboard(
            name,
            SystemDashboardArgs(
                region=region,
                queues={"Transform buffer": buffer.queue.name},
                dead_letter_queues={
                    "Failed transforms": buffer.dlq_name,
                    "Failed large-upload checks": validator_dlq.name,
                },
                functions={
                    label: function.function_name
                    for label, function in {
                        "POST /upload": upload,
                        "POST /uploads": upload_url,
                        "GET /uploads/{id}": status,
                        "GET /rules": rules_list,
                        "Staged-upload validator": validator,
                        "Transform worker": worker,
                        "Dead letters": dead_letters,
                        **({} if page is None else {"Upload page": page}),
                    }.items()
                },
            ),
            child,
        ).dashboard_name
        self.input_bucket = inputs.bucket_name
        self.output_bucket = outputs.bucket_name
        self.rules_table = rules.name
        self.status_table = statuses.name
        self.topic_arn = topic.arn
        self.queue_url = buffer.url
        self.dlq_url = buffer.dlq_url
        self.register_outputs(
            {
                "upload_url": self.upload_url,
                "uploads_url": self.uploads_url,
                "status_url": self.status_url,
                "rules_url": self.rules_url,
                "input_bucket": self.input_bucket,
                "output_bucket": self.output_bucket,
                "rules_table": self.rules_table,
                "status_table": self.status_table,
                "topic_arn": self.topic_arn,
                "queue_url": self.queue_url,
                "dlq_url": self.dlq_url,
                "user_pool_id": self.user_pool_id,
                "user_pool_client_id": self.user_pool_client_id,
                "caller_role_arn": self.caller_role_arn,
                "upload_page_url": self.upload_page_url,
                "dashboard_name": self.dashboard_name,
            }
        )

    def _upload_page_function(
        self,
        name: str,
        args: TransformPipelineArgs,
        function_args: Callable[..., FunctionArgs],
        inputs: SecureBucket,
        client_id: pulumi.Output[str],
    ) -> Function:
        return Function(
            f"{name}-upload-page",
            function_args(
                handler="handlers.transform.upload_page.lambda_handler",
                description="GET /: the upload page (its HTML, script and style); reads no data",
                environment=UploadPageSettings.environment(
                    user_pool_client_id=client_id,
                    input_bucket=inputs.bucket_name,
                    max_upload_bytes=args.max_upload_bytes,
                ),
                memory_mb=256,
                reserved_concurrency=PAGE_CONCURRENCY,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _serve_upload_page(
        self,
        name: str,
        *,
        region: str,
        page: Function,
        api: HttpApi,
        inputs: SecureBucket,
        alarms: AlarmTopic,
    ) -> pulumi.Output[str]:
        """The page's URL (the API's root: its relative links resolve under it on AWS and in localcloud
        alike), with the CORS rules that let it post large files to the input bucket from the API's origin."""
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketCorsConfiguration(
            f"{name}-input-cors",
            region=region,
            bucket=inputs.bucket_name,
            cors_rules=[
                {
                    "allowed_methods": ["POST"],
                    "allowed_origins": [api.endpoint.apply(url_origin)],
                    "max_age_seconds": CORS_MAX_AGE_SECONDS,
                }
            ],
            opts=child,
        )
        function_errors_alarm(
            f"{name}-upload-page-errors",
            topic=alarms,
            function_name=page.function_name,
            purpose=PAGE_ROUTE,
            opts=child,
        )
        return pulumi.Output.concat(api.endpoint, "/")

    def _table(self, name: str, region: str, *, hash_key: str) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            name,
            region=region,
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            attributes=[{"name": hash_key, "type": "S"}],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=pulumi.ResourceOptions(parent=self),
        )
