"""Build artifact distribution: POST /builds -> queue -> build -> global bucket -> copy to every region.

A new build in the global bucket starts the file-distribution workflow, which copies it to one bucket per
configured region and records the outcome; each regional copy then "deploys" to that region's hosts by
writing one deployment record per host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_topic, failed_executions_alarm
from components.api_callers import ApiCallerRole, ApiCallerRoleArgs
from components.buffered_queue import BufferedQueue, BufferedQueueArgs, dead_letter_queue
from components.config import ApiThrottle
from components.function import Function, FunctionArgs
from components.iam import allow
from components.notifications import email_topic, tls_only_topic_policy
from components.queue_api import QueueApi, QueueApiArgs
from components.secure_bucket import SecureBucket, SecureBucketArgs
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs
from components.system_dashboard import SystemDashboardArgs, system_dashboard
from components.web_acl import WebAcl
from handlers.artifacts.contract import (
    BUILD_ID_ATTRIBUTE,
    BUILD_ID_INDEX,
    BUILD_KEY_PREFIX,
    BUILD_KEY_SUFFIX,
    COMMIT_PATTERN,
    EVERY_KEY,
    HOST_LOG_KEY,
    HOST_LOG_SORT_KEY,
    TRACKING_TABLE_KEY,
    TRACKING_TABLE_SORT_KEY,
    BuildWorkerSettings,
    DistributedKeys,
    RegionalSyncSettings,
    ReplicationWorkerSettings,
    ValidateInputSettings,
)
from workflows import file_distribution

# POST /builds: each accepted request becomes hosts x regions DynamoDB writes, so it is kept slow.
API_THROTTLE = ApiThrottle(rate_limit_per_second=2, burst_limit=5)
BUILD_REQUEST_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "BuildRequest",
    "type": "object",
    "required": ["commit"],
    "properties": {
        "commit": {"type": "string", "pattern": f"^{COMMIT_PATTERN}$"},
        "branch": {"type": "string", "maxLength": 255},
        "requestedBy": {"type": "string", "maxLength": 255},
    },
}


@dataclass(frozen=True, kw_only=True)
class ArtifactDistributionArgs:
    regions: Sequence[str]  # the first holds the API, queue, global bucket, workflow and host log
    shared: SharedSettings
    hosts_per_region: int = RegionalSyncSettings.hosts_per_region
    max_hosts_per_region: int = RegionalSyncSettings.max_hosts_per_region  # the regional sync refuses more
    build_batch_size: int = 5
    max_receive_count: int = 3
    failure_emails: Sequence[str] = ()  # the file-copy-failures topic's subscribers, and the alarm topics'
    # Reserved for the build worker and its SQS mapping's maximum concurrency (at least 2).
    build_worker_concurrency: int = 5
    api_throttle: ApiThrottle = API_THROTTLE
    web_acl: WebAcl | None = None  # AWS WAF in front of POST /builds
    # Which objects of the global bucket are distributed: every one by default (builds and files copied in).
    distributed_keys: DistributedKeys = EVERY_KEY


class ArtifactDistribution(pulumi.ComponentResource):
    builds_url: pulumi.Output[str]
    global_bucket: pulumi.Output[str]
    regional_buckets: dict[str, pulumi.Output[str]]
    tracking_table: pulumi.Output[str]
    host_log_table: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    dashboard_names: dict[str, pulumi.Output[str]]  # region -> CloudWatch dashboard
    failure_topic_arn: pulumi.Output[str]
    build_queue_url: pulumi.Output[str]
    build_dlq_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArtifactDistributionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:artifacts:ArtifactDistribution", name, None, opts)
        if len(args.regions) < 2:
            raise ValueError(
                f"{name}: artifact distribution needs two or more regions, got {list(args.regions)}"
            )
        if args.hosts_per_region > args.max_hosts_per_region:
            raise ValueError(
                f"{name}: hosts_per_region {args.hosts_per_region} is above max_hosts_per_region "
                f"{args.max_hosts_per_region}"
            )
        child = pulumi.ResourceOptions(parent=self)
        home = args.regions[0]
        keys = args.distributed_keys
        function_args = partial(FunctionArgs, shared=args.shared)

        # ---- storage and messaging -----------------------------------------------------------------
        global_bucket = SecureBucket(f"{name}-global", SecureBucketArgs(region=home), child)
        regional = {
            region: SecureBucket(f"{name}-regional-{region}", SecureBucketArgs(region=region), child)
            for region in args.regions
        }
        tracking = aws.dynamodb.Table(
            f"{name}-file-copy-tracking",
            region=home,
            billing_mode="PAY_PER_REQUEST",
            hash_key=TRACKING_TABLE_KEY,
            range_key=TRACKING_TABLE_SORT_KEY,
            attributes=[
                {"name": TRACKING_TABLE_KEY, "type": "S"},
                {"name": TRACKING_TABLE_SORT_KEY, "type": "S"},
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=child,
        )
        host_log = aws.dynamodb.Table(
            f"{name}-host-deployment-logs",
            region=home,
            billing_mode="PAY_PER_REQUEST",
            hash_key=HOST_LOG_KEY,
            range_key=HOST_LOG_SORT_KEY,
            attributes=[{"name": HOST_LOG_KEY, "type": "S"}, {"name": HOST_LOG_SORT_KEY, "type": "S"}],
            global_secondary_indexes=[
                {
                    "name": BUILD_ID_INDEX,
                    "hash_key": HOST_LOG_SORT_KEY,
                    "range_key": HOST_LOG_KEY,
                    "projection_type": "KEYS_ONLY",
                }
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=child,
        )
        failures = email_topic(
            f"{name}-file-copy-failures",
            region=home,
            emails=args.failure_emails,
            opts=child,
            subscription_prefix=f"{name}-failure-email",
        )
        tls_only_topic_policy(f"{name}-file-copy-failures-policy", topic=failures, region=home, opts=child)
        # Alarms notify a topic in their own region: one per region this system has dead letters in.
        alarms = {
            region: alarm_topic(
                f"{name}-{region}", system=name, region=region, emails=args.failure_emails, opts=child
            )
            for region in args.regions
        }
        # Asynchronous invocations (S3 notifications) that fail after Lambda's retries land here, per region.
        async_dlqs = {
            region: dead_letter_queue(
                f"{name}-async-dlq-{region}",
                alarms=alarms[region],
                holds="new-build events a function failed to handle after Lambda's retries",
                opts=child,
            )
            for region in args.regions
        }

        # ---- POST /builds -> queue -> build worker -> global bucket ----------------------------------
        builds = BufferedQueue(
            f"{name}-builds",
            BufferedQueueArgs(
                region=home,
                alarms=alarms[home],
                holds=f"build requests the build worker failed {args.max_receive_count} times",
                visibility_timeout_seconds=6 * 60,
                max_receive_count=args.max_receive_count,
            ),
            child,
        )
        api = QueueApi(
            f"{name}-api",
            QueueApiArgs(
                region=home,
                queue_arn=builds.arn,
                queue_name=builds.queue.name,
                path_part="builds",
                request_schema=BUILD_REQUEST_SCHEMA,
                id_name=BUILD_ID_ATTRIBUTE,
                # The key the build will have in the global bucket, and the host log's build_id.
                accepted_fields={"artifactKey": f"{BUILD_KEY_PREFIX}{{id}}{BUILD_KEY_SUFFIX}"},
                # `curl -d '{"commit": ...}'`, as the seed writes it, sends its default form content type.
                body_content_types=("application/json", "application/x-www-form-urlencoded"),
                throttle=args.api_throttle,
                web_acl=args.web_acl,
                log_retention_days=args.shared.log_retention_days,
            ),
            child,
        )
        build_worker = Function(
            f"{name}-build-worker",
            function_args(
                region=home,
                handler="handlers.artifacts.build_worker.lambda_handler",
                description="Simulate a build and upload build-<id>.zip to the global bucket",
                timeout_seconds=60,
                policy_statements=[
                    builds.consumer_statement(),
                    # ListBucket lets head_object answer 404 (not 403) for a build not yet uploaded.
                    allow(["s3:ListBucket"], [global_bucket.arn]),
                    allow(["s3:GetObject", "s3:PutObject"], [global_bucket.objects_arn(BUILD_KEY_PREFIX)]),
                ],
                environment=BuildWorkerSettings.environment(global_bucket=global_bucket.bucket_name),
                reserved_concurrency=args.build_worker_concurrency,
            ),
            child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-build-trigger",
            region=home,
            event_source_arn=builds.arn,
            function_name=build_worker.function_name,
            batch_size=args.build_batch_size,
            function_response_types=["ReportBatchItemFailures"],
            # No more pollers than reserved executions: a throttled invocation would spend its messages'
            # receives towards the DLQ.
            scaling_config={"maximum_concurrency": args.build_worker_concurrency},
            opts=child,
        )

        # ---- the file-distribution workflow ---------------------------------------------------------
        validate = Function(
            f"{name}-validate-input",
            function_args(
                region=home,
                handler="handlers.artifacts.validate_input.lambda_handler",
                description="File distribution: check the request and that the build exists",
                policy_statements=[
                    allow(["s3:ListBucket"], [global_bucket.arn]),
                    allow(
                        ["s3:GetObject", "s3:GetObjectVersion"], [global_bucket.objects_arn(keys.key_prefix)]
                    ),
                    # The seed's input names destination buckets alone: their regions are looked up.
                    allow(["s3:GetBucketLocation"], [bucket.arn for bucket in regional.values()]),
                ],
                environment=ValidateInputSettings.environment(
                    key_prefix=keys.key_prefix or None, key_suffix=keys.key_suffix or None
                ),
            ),
            child,
        )
        copy = Function(
            f"{name}-copy-to-bucket",
            function_args(
                region=home,
                handler="handlers.artifacts.copy_to_bucket.lambda_handler",
                description="File distribution: copy the build into one regional bucket",
                timeout_seconds=120,
                policy_statements=[
                    allow(
                        [
                            "s3:GetObject",
                            "s3:GetObjectVersion",
                            "s3:GetObjectTagging",
                            "s3:GetObjectVersionTagging",
                        ],
                        [global_bucket.objects_arn(keys.key_prefix)],
                    ),
                    allow(
                        ["s3:PutObject", "s3:PutObjectTagging"],
                        [bucket.objects_arn(keys.key_prefix) for bucket in regional.values()],
                    ),
                ],
            ),
            child,
        )
        results = Function(
            f"{name}-process-results",
            function_args(
                region=home,
                handler="handlers.artifacts.process_results.lambda_handler",
                description="File distribution: count the copies and write the failure report",
                memory_mb=256,
            ),
            child,
        )
        workflow = StateMachine(
            f"{name}-file-distribution",
            StateMachineArgs(
                region=home,
                shared=args.shared,
                definition=file_distribution.build_definition,
                definition_inputs={
                    "validate_arn": validate.arn,
                    "copy_arn": copy.arn,
                    "process_results_arn": results.arn,
                    "tracking_table": tracking.name,
                    "failure_topic_arn": failures.arn,
                },
                policy_statements=[
                    allow(["lambda:InvokeFunction"], [validate.arn, copy.arn, results.arn]),
                    allow(["dynamodb:PutItem", "dynamodb:UpdateItem"], [tracking.arn]),
                    allow(["sns:Publish"], [failures.arn]),
                ],
            ),
            child,
        )
        failed_executions_alarm(
            f"{name}-file-distribution-failed",
            topic=alarms[home],
            state_machine_arn=workflow.arn,
            workflow="file distribution",
            opts=child,
        )

        # ---- global bucket events -> replication worker -> workflow ----------------------------------
        destinations = pulumi.Output.json_dumps(
            [{"bucket": bucket.bucket_name, "region": region} for region, bucket in regional.items()]
        )
        replication_worker = Function(
            f"{name}-replication-worker",
            function_args(
                region=home,
                handler="handlers.artifacts.replication_worker.lambda_handler",
                description="Start one file-distribution execution per new build (deterministic names)",
                policy_statements=[allow(["states:StartExecution"], [workflow.arn])],
                environment=ReplicationWorkerSettings.environment(
                    state_machine_arn=workflow.arn, destination_buckets=destinations
                ),
                dead_letter_queue_arn=async_dlqs[home].arn,
            ),
            child,
        )
        self._notify_function(f"{name}-global-events", global_bucket, replication_worker, keys)

        # ---- regional copies -> regional sync (simulated P2P deployment to each region's hosts) -------
        syncs: dict[str, Function] = {}
        for region, bucket in regional.items():
            sync = syncs[region] = Function(
                f"{name}-regional-sync-{region}",
                function_args(
                    region=region,
                    handler="handlers.artifacts.regional_sync.lambda_handler",
                    description=f"Record the deployment of a new build to every host in {region}",
                    timeout_seconds=300,
                    memory_mb=1024,
                    policy_statements=[allow(["dynamodb:BatchWriteItem"], [host_log.arn])],
                    environment=RegionalSyncSettings.environment(
                        host_log_table=host_log.name,
                        host_log_region=home,
                        hosts_per_region=args.hosts_per_region,
                        max_hosts_per_region=args.max_hosts_per_region,
                    ),
                    dead_letter_queue_arn=async_dlqs[region].arn,
                ),
                child,
            )
            self._notify_function(f"{name}-regional-events-{region}", bucket, sync, keys)

        home_functions = {
            "Build worker": build_worker,
            "Replication worker": replication_worker,
            "Validate input": validate,
            "Copy to bucket": copy,
            "Process results": results,
        }
        self.dashboard_names = {
            region: system_dashboard(
                f"{name}-{region}",
                SystemDashboardArgs(
                    region=region,
                    queues={"Build requests": builds.queue.name} if region == home else {},
                    dead_letter_queues={
                        "New-build events failed after retries": async_dlqs[region].name,
                        **({"Failed build requests": builds.dlq_name} if region == home else {}),
                    },
                    state_machines={"File distribution": workflow.arn} if region == home else {},
                    functions={
                        label: function.function_name
                        for label, function in {
                            **(home_functions if region == home else {}),
                            "Regional sync": syncs[region],
                        }.items()
                    },
                ),
                child,
            ).dashboard_name
            for region in args.regions
        }
        self.builds_url = api.url
        self.caller_role_arn = ApiCallerRole(
            f"{name}-caller",
            ApiCallerRoleArgs(statements=api.invoke_statements, description="regionflow: POST /builds"),
            child,
        ).arn
        self.global_bucket = global_bucket.bucket_name
        self.regional_buckets = {region: bucket.bucket_name for region, bucket in regional.items()}
        self.tracking_table = tracking.name
        self.host_log_table = host_log.name
        self.state_machine_arn = workflow.arn
        self.failure_topic_arn = failures.arn
        self.build_queue_url = builds.url
        self.build_dlq_url = builds.dlq_url
        self.register_outputs(
            {
                "builds_url": self.builds_url,
                "caller_role_arn": self.caller_role_arn,
                "global_bucket": self.global_bucket,
                "regional_buckets": self.regional_buckets,
                "tracking_table": self.tracking_table,
                "host_log_table": self.host_log_table,
                "state_machine_arn": self.state_machine_arn,
                "failure_topic_arn": self.failure_topic_arn,
                "build_queue_url": self.build_queue_url,
                "build_dlq_url": self.build_dlq_url,
                "dashboard_names": self.dashboard_names,
            }
        )

    def _notify_function(
        self, name: str, bucket: SecureBucket, function: Function, keys: DistributedKeys
    ) -> None:
        """New objects in `bucket` with the distributed keys invoke `function` (asynchronously, as S3
        does)."""
        permission = aws.lambda_.Permission(
            f"{name}-permission",
            region=bucket.region,
            action="lambda:InvokeFunction",
            function=function.function_name,
            principal="s3.amazonaws.com",
            source_arn=bucket.arn,
            # Bucket ARNs name no account: without it, a bucket of this name in another account could
            # invoke the function through S3.
            source_account=aws.get_caller_identity_output().account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketNotification(
            name,
            region=bucket.region,
            bucket=bucket.bucket_name,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=function.arn,
                    events=["s3:ObjectCreated:*"],
                    # S3 refuses an empty filter rule: none is given for "any key".
                    filter_prefix=keys.key_prefix or None,
                    filter_suffix=keys.key_suffix or None,
                )
            ],
            # S3 checks it may invoke the function when the notification is saved.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
