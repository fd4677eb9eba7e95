"""One region's batch processing: trigger, workflows, functions, financials API, dashboard and alarms.

BatchOrchestrator builds one BatchRegion per region, over the shared bucket pair and global tables:
a CSV under input/ in this region's bucket -> trigger (only while this region is active) -> the batch
workflow (split, a Distributed Map of chunk processors, merge, email) -> the outcome in the batch table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic, alarm_topic
from components.batch_operations import region_operations
from components.buffered_queue import dead_letter_queue
from components.config import ApiThrottle
from components.failover_control import ActiveRegionSignal
from components.function import Function, FunctionArgs, FunctionNetwork
from components.global_table import replica_arn
from components.http_api import HttpApi, HttpApiArgs, LambdaRoute
from components.iam import PolicyStatement, allow
from components.secure_bucket import SecureBucket
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs, map_run_executions_of
from handlers.batch import contract
from handlers.batch.contract import (
    EmailSettings,
    EnrichSettings,
    FinancialsApiSettings,
    SplitSettings,
    TriggerSettings,
    ValidateSettings,
)
from workflows import batch_processing

FINANCIALS_ROUTE = "GET /financials/{uuid}"


@dataclass(frozen=True)
class ChunkFunctions:
    """The chunk processor's three tasks (workflows/chunk_processor.py)."""

    validate: Function
    enrich: Function
    write: Function

    @property
    def tasks(self) -> tuple[Function, ...]:
        return (self.validate, self.enrich, self.write)


@dataclass(frozen=True, kw_only=True)
class BatchTables:
    """The batch system's global tables: each lives in the primary with a replica in the other region."""

    state: aws.dynamodb.Table
    errors: aws.dynamodb.Table
    financials: aws.dynamodb.Table


@dataclass(frozen=True, kw_only=True)
class BatchRegionArgs:
    """One region's share of BatchOrchestratorArgs (whose defaults are the only ones), plus what it built."""

    region: str
    shared: SharedSettings
    active_region: ActiveRegionSignal
    bucket: SecureBucket  # this region's half of the replicated bucket pair
    tables: BatchTables
    sender_email: str
    recipient_emails: Sequence[str]
    records_per_chunk: int
    max_concurrency: int
    link_expiry_seconds: int
    alarm_emails: Sequence[str]
    api_concurrency: int  # reserved for GET /financials/{uuid}
    api_throttle: ApiThrottle
    access_point_arn: pulumi.Output[str] | None = None  # the multi-region access point, if there is one
    network: FunctionNetwork | None = None  # private subnets for the data plane; None: Lambda's network


class BatchRegion(pulumi.ComponentResource):
    """Everything one region needs to process the uploads it receives while it is the active region."""

    state_machine_arn: pulumi.Output[str]
    trigger_function: pulumi.Output[str]
    financials_url: pulumi.Output[str]
    invoke_statements: list[PolicyStatement]  # what a caller needs for GET /financials/{uuid}
    dashboard: pulumi.Output[str]
    failure_alarm_arn: pulumi.Output[str]  # batch workflow failures
    alarms: AlarmTopic  # the region's batch alarm topic (the failover runbook alarms into it too)

    def __init__(
        self,
        name: str,
        args: BatchRegionArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        moved_from: pulumi.Resource | None = None,
    ) -> None:
        """moved_from: the component these resources sat directly under before (BatchOrchestrator, until
        issue 14). Each keeps its URN there as an alias (resources in a child component inherit it), so
        existing stacks update in place instead of replacing them."""
        super().__init__("regionflow:batch:BatchRegion", name, None, opts)
        self._name = name
        self._args = args
        # Not `_aliases`: pulumi.Resource keeps this resource's own alias URNs under that name.
        self._moved_aliases = [pulumi.Alias(parent=moved_from)] if moved_from is not None else []
        self._function_args = partial(FunctionArgs, region=args.region, shared=args.shared)
        # Split, validate, enrich, write and merge touch only S3 and DynamoDB: with private networks
        # (the chaos flag on AWS) they run in private subnets behind gateway endpoints.
        self._data_plane_args = partial(self._function_args, network=args.network)
        self.alarms = alarm_topic(
            name, system="batch", region=args.region, emails=args.alarm_emails, opts=self._child()
        )

        main = self._batch_workflow(self._chunk_functions())
        self.state_machine_arn = main.arn
        self.trigger_function = self._trigger(main).function_name
        financials_api = self._financials_api()
        self.financials_url = financials_api.url_for(FINANCIALS_ROUTE)
        self.invoke_statements = financials_api.invoke_statements
        operations = region_operations(
            name,
            batch_workflow_arn=main.arn,
            alarms=self.alarms,
            opts=self._child(),
        )
        self.dashboard, self.failure_alarm_arn = operations.dashboard_name, operations.failure_alarm_arn
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine_arn,
                "trigger_function": self.trigger_function,
                "financials_url": self.financials_url,
                "dashboard": self.dashboard,
                "failure_alarm_arn": self.failure_alarm_arn,
            }
        )

    def _child(self, *, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options of every resource this component creates: its child, aliased to where it was before."""
        return pulumi.ResourceOptions(parent=self, aliases=self._moved_aliases, depends_on=list(depends_on))

    def _function(self, role: str, args: FunctionArgs) -> Function:
        return Function(f"{self._name}-{role}", args, self._child())

    def _replica_arn(self, table: aws.dynamodb.Table) -> pulumi.Output[str]:
        return replica_arn(table.arn, self._args.region)

    # ---- chunk processor: validate -> enrich -> write -------------------------------------------------
    def _chunk_functions(self) -> ChunkFunctions:
        """The chunk processor's tasks; the batch workflow runs them in its Distributed Map's children."""
        bucket, tables = self._args.bucket, self._args.tables
        errors_arn = self._replica_arn(tables.errors)
        validate = self._function(
            "validate-records",
            self._data_plane_args(
                handler="handlers.batch.validate_records.lambda_handler",
                description="Batch chunk: validate records, record invalid rows",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.CHUNKS_PREFIX)]),
                    allow(["s3:PutObject"], [bucket.objects_arn(contract.VALID_FILES)]),
                    # record_errors writes through batch_writer: BatchWriteItem only.
                    allow(["dynamodb:BatchWriteItem"], [errors_arn]),
                ],
                environment=ValidateSettings.environment(errors_table=tables.errors.name),
            ),
        )
        enrich = self._function(
            "enrich-records",
            self._data_plane_args(
                handler="handlers.batch.enrich_records.lambda_handler",
                description="Batch chunk: add financial data to valid records",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.VALID_FILES)]),
                    allow(["s3:PutObject"], [bucket.objects_arn(contract.ENRICHED_FILES)]),
                    allow(["dynamodb:BatchGetItem"], [self._replica_arn(tables.financials)]),
                    allow(["dynamodb:BatchWriteItem"], [errors_arn]),
                ],
                environment=EnrichSettings.environment(
                    financials_table=tables.financials.name, errors_table=tables.errors.name
                ),
            ),
        )
        write = self._function(
            "write-chunk",
            self._data_plane_args(
                handler="handlers.batch.write_chunk.lambda_handler",
                description="Batch chunk: write the enriched rows as the output chunk",
                memory_mb=1024,
                timeout_seconds=120,
                policy_statements=[
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.ENRICHED_FILES)]),
                    allow(["s3:PutObject"], [bucket.objects_arn(contract.PROCESSED_PREFIX)]),
                ],
            ),
        )
        return ChunkFunctions(validate=validate, enrich=enrich, write=write)

    # ---- main workflow: split -> chunks -> merge -> email -> outcome -----------------------------------
    def _batch_workflow(self, chunks: ChunkFunctions) -> StateMachine:
        args, bucket = self._args, self._args.bucket
        split = self._function(
            "split-file",
            self._data_plane_args(
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
        )
        merge = self._function(
            "merge-chunks",
            self._data_plane_args(
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
        )
        email = self._email_link()
        return StateMachine(
            f"{self._name}-batch-workflow",
            StateMachineArgs(
                region=args.region,
                shared=args.shared,
                definition=partial(batch_processing.build_definition, max_concurrency=args.max_concurrency),
                definition_inputs={
                    "split_arn": split.arn,
                    "merge_arn": merge.arn,
                    "email_arn": email.arn,
                    "validate_arn": chunks.validate.arn,
                    "enrich_arn": chunks.enrich.arn,
                    "write_arn": chunks.write.arn,
                    "batch_state_table": args.tables.state.name,
                },
                policy_statements=[
                    allow(
                        ["lambda:InvokeFunction"],
                        [split.arn, merge.arn, email.arn, *(task.arn for task in chunks.tasks)],
                    ),
                    # The Distributed Map's ItemReader reads the manifest.
                    allow(["s3:GetObject"], [bucket.objects_arn(contract.MANIFESTS_PREFIX)]),
                    allow(["dynamodb:UpdateItem"], [self._replica_arn(args.tables.state)]),
                ],
                self_policy_statements=_distributed_map_statements,
            ),
            self._child(),
        )

    def _email_link(self) -> Function:
        args = self._args
        sender = aws.sesv2.EmailIdentity(
            f"{self._name}-sender", region=args.region, email_identity=args.sender_email, opts=self._child()
        )
        readable_output: list[pulumi.Input[str]] = [args.bucket.objects_arn(contract.OUTPUT_PREFIX)]
        if args.access_point_arn is not None:
            # A presigned GET through the access point is authorised as the signing role's request.
            readable_output.append(
                pulumi.Output.concat(args.access_point_arn, "/object/", contract.OUTPUT_PREFIX, "*")
            )
        return self._function(
            "email-link",
            self._function_args(
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
                    access_point_arn=args.access_point_arn,
                ),
            ),
        )

    # ---- trigger: input/*.csv -> active region? -> claim the batch -> start the workflow -------------
    def _trigger(self, main: StateMachine) -> Function:
        args, name = self._args, self._name
        async_dlq = dead_letter_queue(
            f"{name}-trigger-dlq",
            alarms=self.alarms,
            holds="uploads the trigger failed to start after Lambda's retries",
            opts=self._child(),
        )
        trigger = self._function(
            "trigger",
            self._function_args(
                handler="handlers.batch.trigger.lambda_handler",
                description="Batch: start processing an upload if this region is active",
                policy_statements=[
                    args.active_region.reader_statement(),
                    allow(["dynamodb:PutItem", "dynamodb:GetItem"], [self._replica_arn(args.tables.state)]),
                    allow(["states:StartExecution"], [main.arn]),
                ],
                environment=TriggerSettings.environment(
                    batch_state_table=args.tables.state.name,
                    state_machine_arn=main.arn,
                    **args.active_region.reader_settings(),
                ),
                dead_letter_queue_arn=async_dlq.arn,
            ),
        )
        permission = aws.lambda_.Permission(
            f"{name}-trigger-permission",
            region=args.region,
            action="lambda:InvokeFunction",
            function=trigger.function_name,
            principal="s3.amazonaws.com",
            source_arn=args.bucket.arn,
            # Bucket ARNs name no account: without it, a bucket of this name in another account could
            # invoke the function through S3.
            source_account=aws.get_caller_identity_output().account_id,
            opts=self._child(),
        )
        aws.s3.BucketNotification(
            f"{name}-input-events",
            region=args.region,
            bucket=args.bucket.bucket_name,
            lambda_functions=[
                {
                    "lambda_function_arn": trigger.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": contract.INPUT_PREFIX,
                    "filter_suffix": contract.INPUT_SUFFIX,
                }
            ],
            opts=self._child(depends_on=[permission]),
        )
        return trigger

    # ---- financial data API for clients --------------------------------------------------------------
    def _financials_api(self) -> HttpApi:
        args = self._args
        financials_api = self._function(
            "financials-api",
            self._function_args(
                handler="handlers.batch.financials_api.lambda_handler",
                description="GET /financials/{uuid}",
                policy_statements=[allow(["dynamodb:GetItem"], [self._replica_arn(args.tables.financials)])],
                environment=FinancialsApiSettings.environment(financials_table=args.tables.financials.name),
                reserved_concurrency=args.api_concurrency,
            ),
        )
        return HttpApi(
            f"{self._name}-api",
            HttpApiArgs(
                region=args.region,
                shared=args.shared,
                routes=[LambdaRoute(route_key=FINANCIALS_ROUTE, function=financials_api)],
                throttle=args.api_throttle,
            ),
            self._child(),
        )


def _distributed_map_statements(machine_arn: pulumi.Output[str]) -> list[PolicyStatement]:
    """A Distributed Map runs each item as a child execution of its own state machine."""
    children = map_run_executions_of(machine_arn, batch_processing.CHUNKS_MAP_LABEL)
    return [
        allow(["states:StartExecution"], [machine_arn]),
        allow(["states:DescribeExecution", "states:StopExecution"], [children]),
    ]
