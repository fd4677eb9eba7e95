"""Multi-region batch processing: a CSV in either region's bucket -> split, validate, enrich, merge, email.

Everything runs in both regions; only the active region (FailoverControl's signal) processes an upload.
The buckets replicate input/ and output/ both ways, so after a failover the standby holds the files to
reprocess; batch state, validation errors and financial data are DynamoDB global tables, so either
region sees every batch.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import pulumi
import pulumi_aws as aws

from components.batch_dashboard import dashboard_body
from components.failover_control import ActiveRegionSignal
from components.function import Function, FunctionArgs, FunctionNetwork
from components.global_table import replica_arn
from components.http_api import HttpApi, HttpApiArgs, LambdaRoute
from components.iam import PolicyStatement, allow
from components.naming import stack_scoped_name
from components.notifications import email_topic
from components.regional_bucket_pair import RegionalBucketPair, RegionalBucketPairArgs
from components.secure_bucket import SecureBucket
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs, executions_of, map_run_executions_of
from handlers.batch import contract
from handlers.batch.contract import (
    EmailSettings,
    EnrichSettings,
    FinancialsApiSettings,
    SplitSettings,
    TriggerSettings,
    ValidateSettings,
)
from workflows import batch_processing, chunk_processor

FINANCIALS_ROUTE = "GET /financials/{uuid}"
# Step Functions' managed EventBridge rule behind every `.sync` integration (StartExecution.sync:2).
SYNC_EVENTS_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


@dataclass(frozen=True, kw_only=True)
class BatchOrchestratorArgs:
    regions: Sequence[str]  # exactly two: the primary (initially active) first
    shared: SharedSettings
    active_region: ActiveRegionSignal
    sender_email: str
    recipient_emails: Sequence[str]
    records_per_chunk: int = SplitSettings.records_per_chunk
    max_concurrency: int = batch_processing.DEFAULT_MAX_CONCURRENCY
    link_expiry_seconds: int = EmailSettings.link_expiry_seconds
    replication_time_control: bool = True
    multi_region_access_point: bool = True
    alarm_emails: Sequence[str] = ()
    work_retention_days: int = 7
    private_networks: Mapping[str, FunctionNetwork] = field(default_factory=dict)  # by region


@dataclass(frozen=True)
class _Tables:
    state: aws.dynamodb.Table
    errors: aws.dynamodb.Table
    financials: aws.dynamodb.Table


class BatchOrchestrator(pulumi.ComponentResource):
    buckets: dict[str, pulumi.Output[str]]
    data_buckets: dict[str, SecureBucket]  # what failover's reconciliation re-copies from
    batch_state_table: pulumi.Output[str]
    batch_state_table_arn: pulumi.Output[str]
    errors_table: pulumi.Output[str]
    financials_table: pulumi.Output[str]
    state_machine_arns: dict[str, pulumi.Output[str]]
    chunk_state_machine_arns: dict[str, pulumi.Output[str]]
    trigger_functions: dict[str, pulumi.Output[str]]
    financials_urls: dict[str, pulumi.Output[str]]
    dashboards: dict[str, pulumi.Output[str]]
    failure_alarm_arns: dict[str, pulumi.Output[str]]  # batch workflow failures, per region
    access_point_alias: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: BatchOrchestratorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:batch:BatchOrchestrator", name, None, opts)
        if len(args.regions) != 2:
            raise ValueError(f"{name}: batch runs in exactly two regions, got {list(args.regions)}")
        child = pulumi.ResourceOptions(parent=self)
        primary, secondary = args.regions
        self._name = name
        self._args = args

        storage = RegionalBucketPair(
            f"{name}-data",
            RegionalBucketPairArgs(
                primary_region=primary,
                secondary_region=secondary,
                replication=True,
                replication_time_control=args.replication_time_control,
                multi_region_access_point=args.multi_region_access_point,
                replicated_prefixes=contract.REPLICATED_PREFIXES,
                expire_prefix_days={prefix: args.work_retention_days for prefix in contract.WORKING_PREFIXES},
            ),
            child,
        )
        tables = _Tables(
            state=self._global_table(
                "batch-state",
                hash_key=contract.BATCH_STATE_KEY,
                attributes={
                    contract.BATCH_STATE_KEY: "S",
                    contract.STATUS_INDEX_KEY: "S",
                    contract.STATUS_INDEX_SORT_KEY: "S",
                },
                indexes=[
                    {
                        "name": contract.STATUS_INDEX,
                        "hash_key": contract.STATUS_INDEX_KEY,
                        "range_key": contract.STATUS_INDEX_SORT_KEY,
                        "projection_type": "ALL",
                    }
                ],
            ),
            errors=self._global_table(
                "errors",
                hash_key=contract.ERRORS_KEY,
                range_key=contract.ERRORS_SORT_KEY,
                attributes={contract.ERRORS_KEY: "S", contract.ERRORS_SORT_KEY: "N"},
            ),
            financials=self._global_table(
                "financials", hash_key=contract.FINANCIALS_KEY, attributes={contract.FINANCIALS_KEY: "S"}
            ),
        )

        self.state_machine_arns: dict[str, pulumi.Output[str]] = {}
        self.chunk_state_machine_arns: dict[str, pulumi.Output[str]] = {}
        self.trigger_functions: dict[str, pulumi.Output[str]] = {}
        self.financials_urls: dict[str, pulumi.Output[str]] = {}
        self.dashboards: dict[str, pulumi.Output[str]] = {}
        self.failure_alarm_arns: dict[str, pulumi.Output[str]] = {}
        for region in args.regions:
            self._region(region, storage.buckets[region], storage.access_point_arn, tables)

        self.buckets = {region: bucket.bucket_name for region, bucket in storage.buckets.items()}
        self.data_buckets = dict(storage.buckets)
        self.batch_state_table = tables.state.name
        self.batch_state_table_arn = tables.state.arn
        self.errors_table = tables.errors.name
        self.financials_table = tables.financials.name
        self.access_point_alias = storage.access_point_alias
        self.register_outputs(
            {
                "buckets": self.buckets,
                "batch_state_table": self.batch_state_table,
                "batch_state_table_arn": self.batch_state_table_arn,
                "errors_table": self.errors_table,
                "financials_table": self.financials_table,
                "state_machine_arns": self.state_machine_arns,
                "chunk_state_machine_arns": self.chunk_state_machine_arns,
                "trigger_functions": self.trigger_functions,
                "financials_urls": self.financials_urls,
                "dashboards": self.dashboards,
                "failure_alarm_arns": self.failure_alarm_arns,
                "access_point_alias": self.access_point_alias,
            }
        )

    # ---- shared state -----------------------------------------------------------------------------
    def _global_table(
        self,
        role: str,
        *,
        hash_key: str,
        attributes: dict[str, str],
        range_key: str | None = None,
        indexes: Sequence[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = (),
    ) -> aws.dynamodb.Table:
        """An on-demand, encrypted, PITR-protected table in the primary with a replica in the other region."""
        primary, secondary = self._args.regions
        return aws.dynamodb.Table(
            f"{self._name}-{role}",
            region=primary,
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            range_key=range_key,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=key, type=kind) for key, kind in attributes.items()
            ],
            global_secondary_indexes=list(indexes),
            # Global tables replicate through the table's stream.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            replicas=[aws.dynamodb.TableReplicaArgs(region_name=secondary, point_in_time_recovery=True)],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alarm_key(self, name: str, region: str) -> aws.kms.Key:
        account_id = aws.get_caller_identity_output().account_id
        return aws.kms.Key(
            f"{name}-alarm-key",
            region=region,
            description="Encrypts the batch alarm topic; CloudWatch alarms may publish with it",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account_id.apply(_alarm_key_policy),
            opts=pulumi.ResourceOptions(parent=self),
        )

    # ---- one region's processing ------------------------------------------------------------------
    def _region(
        self,
        region: str,
        bucket: SecureBucket,
        access_point_arn: pulumi.Output[str] | None,
        tables: _Tables,
    ) -> None:
        name, args = f"{self._name}-{region}", self._args
        child = pulumi.ResourceOptions(parent=self)
        function = partial(FunctionArgs, region=region, shared=args.shared)
        # Split, validate, enrich, write and merge touch only S3 and DynamoDB: with private networks
        # (the chaos flag on AWS) they run in private subnets behind gateway endpoints.
        data_plane = partial(function, network=args.private_networks.get(region))
        state_arn = replica_arn(tables.state.arn, region)
        errors_arn = replica_arn(tables.errors.arn, region)
        financials_arn = replica_arn(tables.financials.arn, region)

        # ---- chunk processor: validate -> enrich -> write ---------------------------------------------
        validate = Function(
            f"{name}-validate-records",
            data_plane(
                handler="handlers.batch.validate_records.lambda_handler",
                description="Batch chunk: validate records, record invalid rows",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.CHUNKS_PREFIX)]),
                    allow(["s3:PutObject"], [bucket.objects_arn(contract.WORK_PREFIX)]),
                    allow(["dynamodb:BatchWriteItem", "dynamodb:PutItem"], [errors_arn]),
                ],
                environment=ValidateSettings.environment(errors_table=tables.errors.name),
            ),
            child,
        )
        enrich = Function(
            f"{name}-enrich-records",
            data_plane(
                handler="handlers.batch.enrich_records.lambda_handler",
                description="Batch chunk: add financial data to valid records",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject", "s3:PutObject"], [bucket.objects_arn(contract.WORK_PREFIX)]),
                    allow(["dynamodb:BatchGetItem", "dynamodb:GetItem"], [financials_arn]),
                    allow(["dynamodb:BatchWriteItem", "dynamodb:PutItem"], [errors_arn]),
                ],
                environment=EnrichSettings.environment(
                    financials_table=tables.financials.name, errors_table=tables.errors.name
                ),
            ),
            child,
        )
        write = Function(
            f"{name}-write-chunk",
            data_plane(
                handler="handlers.batch.write_chunk.lambda_handler",
                description="Batch chunk: write the enriched rows as the output chunk",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.WORK_PREFIX)]),
                    allow(["s3:PutObject"], [bucket.objects_arn(contract.PROCESSED_PREFIX)]),
                ],
            ),
            child,
        )
        chunks = StateMachine(
            f"{name}-chunk-processor",
            StateMachineArgs(
                region=region,
                shared=args.shared,
                machine_type="EXPRESS",
                definition=chunk_processor.build_definition,
                definition_inputs={
                    "validate_arn": validate.arn,
                    "enrich_arn": enrich.arn,
                    "write_arn": write.arn,
                },
                policy_statements=[allow(["lambda:InvokeFunction"], [validate.arn, enrich.arn, write.arn])],
            ),
            child,
        )

        # ---- main workflow: split -> chunks -> merge -> email -> outcome -------------------------------
        split = Function(
            f"{name}-split-file",
            data_plane(
                handler="handlers.batch.split_file.lambda_handler",
                description="Batch: split the input CSV into chunk files and a manifest",
                memory_mb=1024,
                timeout_seconds=900,
                policy_statements=[
                    allow(
                        ["s3:GetObject", "s3:GetObjectVersion"], [bucket.objects_arn(contract.INPUT_PREFIX)]
                    ),
                    allow(
                        ["s3:PutObject"],
                        [
                            bucket.objects_arn(contract.CHUNKS_PREFIX),
                            bucket.objects_arn(contract.MANIFESTS_PREFIX),
                        ],
                    ),
                ],
                environment=SplitSettings.environment(records_per_chunk=args.records_per_chunk),
            ),
            child,
        )
        merge = Function(
            f"{name}-merge-chunks",
            data_plane(
                handler="handlers.batch.merge_chunks.lambda_handler",
                description="Batch: merge the output chunks in order into the output CSV",
                memory_mb=1024,
                timeout_seconds=900,
                policy_statements=[
                    allow(["s3:ListBucket"], [bucket.arn]),
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.PROCESSED_PREFIX)]),
                    allow(
                        ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                        [bucket.objects_arn(contract.OUTPUT_PREFIX)],
                    ),
                ],
            ),
            child,
        )
        sender = aws.sesv2.EmailIdentity(
            f"{name}-sender", region=region, email_identity=args.sender_email, opts=child
        )
        readable_output: list[pulumi.Input[str]] = [bucket.objects_arn(contract.OUTPUT_PREFIX)]
        if access_point_arn is not None:
            # A presigned GET through the access point is authorised as the signing role's request.
            readable_output.append(
                pulumi.Output.concat(access_point_arn, "/object/", contract.OUTPUT_PREFIX, "*")
            )
        email = Function(
            f"{name}-email-link",
            function(
                handler="handlers.batch.email_link.lambda_handler",
                description="Batch: email a presigned download link to the output",
                policy_statements=[
                    allow(["s3:GetObject"], readable_output),
                    allow(["ses:SendEmail"], [sender.arn]),
                ],
                environment=EmailSettings.environment(
                    sender_email=args.sender_email,
                    recipient_emails=tuple(args.recipient_emails),
                    link_expiry_seconds=args.link_expiry_seconds,
                    access_point_arn=access_point_arn,
                ),
            ),
            child,
        )
        main = StateMachine(
            f"{name}-batch-workflow",
            StateMachineArgs(
                region=region,
                shared=args.shared,
                definition=functools.partial(
                    batch_processing.build_definition, max_concurrency=args.max_concurrency
                ),
                definition_inputs={
                    "split_arn": split.arn,
                    "merge_arn": merge.arn,
                    "email_arn": email.arn,
                    "chunk_processor_arn": chunks.arn,
                    "batch_state_table": tables.state.name,
                },
                policy_statements=[
                    allow(["lambda:InvokeFunction"], [split.arn, merge.arn, email.arn]),
                    # The Distributed Map's ItemReader reads the manifest.
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.MANIFESTS_PREFIX)]),
                    allow(["states:StartExecution"], [chunks.arn]),
                    allow(["states:DescribeExecution", "states:StopExecution"], [executions_of(chunks.arn)]),
                    allow(
                        ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                        [_sync_rule_arn(chunks.arn)],
                    ),
                    allow(["dynamodb:UpdateItem"], [state_arn]),
                ],
                self_policy_statements=_distributed_map_statements,
            ),
            child,
        )

        # ---- trigger: input/*.csv -> active region? -> claim the batch -> start the workflow -----------
        async_dlq = aws.sqs.Queue(
            f"{name}-trigger-dlq",
            region=region,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=14 * 24 * 3600,
            opts=child,
        )
        trigger = Function(
            f"{name}-trigger",
            function(
                handler="handlers.batch.trigger.lambda_handler",
                description="Batch: start processing an upload if this region is active",
                policy_statements=[
                    args.active_region.reader_statement(),
                    allow(["dynamodb:PutItem", "dynamodb:GetItem"], [state_arn]),
                    allow(["states:StartExecution"], [main.arn]),
                ],
                environment=TriggerSettings.environment(
                    batch_state_table=tables.state.name,
                    state_machine_arn=main.arn,
                    **args.active_region.reader_settings(),
                ),
                dead_letter_queue_arn=async_dlq.arn,
            ),
            child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-trigger-permission",
            region=region,
            action="lambda:InvokeFunction",
            function=trigger.function_name,
            principal="s3.amazonaws.com",
            source_arn=bucket.arn,
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-input-events",
            region=region,
            bucket=bucket.bucket_name,
            lambda_functions=[
                {
                    "lambda_function_arn": trigger.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": contract.INPUT_PREFIX,
                    "filter_suffix": contract.INPUT_SUFFIX,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

        # ---- financial data API for clients ------------------------------------------------------------
        financials_api = Function(
            f"{name}-financials-api",
            function(
                handler="handlers.batch.financials_api.lambda_handler",
                description="GET /financials/{uuid}",
                policy_statements=[allow(["dynamodb:GetItem"], [financials_arn])],
                environment=FinancialsApiSettings.environment(financials_table=tables.financials.name),
            ),
            child,
        )
        api = HttpApi(
            f"{name}-api",
            HttpApiArgs(
                region=region,
                shared=args.shared,
                routes=[LambdaRoute(route_key=FINANCIALS_ROUTE, function=financials_api)],
            ),
            child,
        )

        # ---- operations: dashboard and alarms -----------------------------------------------------------
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            region=region,
            dashboard_name=stack_scoped_name(f"{self._name}-{region}", max_length=255),
            dashboard_body=pulumi.Output.all(main.arn, chunks.arn).apply(
                lambda arns: json.dumps(
                    dashboard_body(
                        region=region, main_state_machine_arn=arns[0], chunk_state_machine_arn=arns[1]
                    )
                )
            ),
            opts=child,
        )
        alarms = email_topic(
            f"{name}-alarms",
            region=region,
            emails=args.alarm_emails,
            opts=child,
            subscription_prefix=f"{name}-alarm-email",
            kms_key_id=self._alarm_key(name, region).arn,
        )
        for role, machine in (("batch-workflow", main), ("chunk-processor", chunks)):
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{role}-failed",
                region=region,
                alarm_description=f"{role} executions failed in {region}",
                namespace="AWS/States",
                metric_name="ExecutionsFailed",
                dimensions={"StateMachineArn": machine.arn},
                statistic="Sum",
                period=60,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[alarms.arn],
                opts=child,
            )
            if role == "batch-workflow":
                self.failure_alarm_arns[region] = alarm.arn

        self.state_machine_arns[region] = main.arn
        self.chunk_state_machine_arns[region] = chunks.arn
        self.trigger_functions[region] = trigger.function_name
        self.financials_urls[region] = api.url_for(FINANCIALS_ROUTE)
        self.dashboards[region] = dashboard.dashboard_name


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


def _sync_rule_arn(state_machine_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    def rule(arn: str) -> str:
        partition, region, account = arn.split(":")[1], arn.split(":")[3], arn.split(":")[4]
        return f"arn:{partition}:events:{region}:{account}:rule/{SYNC_EVENTS_RULE}"

    return state_machine_arn.apply(rule)


def _distributed_map_statements(machine_arn: pulumi.Output[str]) -> list[PolicyStatement]:
    """A Distributed Map runs each item as a child execution of its own state machine."""
    children = map_run_executions_of(machine_arn, batch_processing.CHUNKS_MAP_LABEL)
    return [
        allow(["states:StartExecution"], [machine_arn]),
        allow(["states:DescribeExecution", "states:StopExecution"], [children]),
    ]
