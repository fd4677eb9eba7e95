"""The failover runbook in each region: promote this region, wait for replication, reconcile.

Per region: a read-state function, an activate function (ARC routing controls or the TXT record, as
FailoverControl's signal says), the reconciliation function (unfinished batches re-copied into this
region's input/ so its trigger processes them) and the STANDARD state machine that runs them
(workflows/failover_runbook.py). Failover runs the standby's runbook, failback the primary's.

On AWS (`automation_document=True`) an SSM Automation document per region starts the runbook and waits
for its outcome, as the seed's runbook is started: `aws ssm start-automation-execution
--document-name <name> --region <standby>`. Step Functions, not SSM, is the runbook itself, so the same
steps run on every stack, localcloud included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic, failed_executions_alarm
from components.failover_control import ActiveRegionSignal
from components.function import Function, FunctionArgs
from components.global_table import replica_arn
from components.iam import allow, assume_role_policy, policy_document
from components.secure_bucket import SecureBucket
from components.shared_settings import SharedSettings
from components.state_machine import StateMachine, StateMachineArgs, executions_of
from handlers.active_region.contract import ActiveRegionSettings
from handlers.batch.contract import INPUT_PREFIX, STATUS_INDEX, ReconcileSettings
from workflows import failover_runbook

# SSM Automation waits at most this long for the runbook (the replication wait is 15 minutes on AWS).
AUTOMATION_TIMEOUT_SECONDS = 2 * 3600


@dataclass(frozen=True, kw_only=True)
class FailoverRunbookArgs:
    regions: Sequence[str]
    shared: SharedSettings
    signal: ActiveRegionSignal
    buckets: Mapping[str, SecureBucket]  # the batch bucket of each region
    alarm_topics: Mapping[str, AlarmTopic]  # by region: batch's, whose failover this runbook performs
    batch_state_table_name: pulumi.Input[str]
    batch_state_table_arn: pulumi.Output[str]  # the global table's ARN (its primary replica)
    replication_wait_seconds: int = failover_runbook.RTC_SLA_SECONDS
    automation_document: bool = False  # AWS only: SSM Automation starts the runbook


class FailoverRunbook(pulumi.ComponentResource):
    state_machine_arns: dict[str, pulumi.Output[str]]
    reconcile_functions: dict[str, pulumi.Output[str]]
    automation_documents: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: FailoverRunbookArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("regionflow:failover:FailoverRunbook", name, None, opts)
        missing = [region for region in args.regions if region not in args.buckets]
        if missing:
            raise ValueError(f"{name}: no batch bucket for region(s) {missing}")
        unalarmed = [region for region in args.regions if region not in args.alarm_topics]
        if unalarmed:
            raise ValueError(f"{name}: no alarm topic for region(s) {unalarmed}")
        if args.replication_wait_seconds < 0:
            raise ValueError(
                f"{name}: replication_wait_seconds must be >= 0, got {args.replication_wait_seconds}"
            )
        self._name = name
        self._args = args
        self.state_machine_arns = {}
        self.reconcile_functions = {}
        self.automation_documents = {}
        for region in args.regions:
            self._region(region)
        self.register_outputs(
            {
                "state_machine_arns": self.state_machine_arns,
                "reconcile_functions": self.reconcile_functions,
                "automation_documents": self.automation_documents,
            }
        )

    def _region(self, region: str) -> None:
        name, args = f"{self._name}-{region}", self._args
        child = pulumi.ResourceOptions(parent=self)
        bucket = args.buckets[region]
        state_arn = replica_arn(args.batch_state_table_arn, region)
        function = partial(FunctionArgs, region=region, shared=args.shared)
        signal_environment = ActiveRegionSettings.environment(**args.signal.reader_settings())
        read_state = Function(
            f"{name}-read-active-region",
            function(
                handler="handlers.active_region.switch.read_handler",
                description="Failover runbook: which region is active now",
                policy_statements=[args.signal.reader_statement()],
                environment=signal_environment,
            ),
            child,
        )
        activate = Function(
            f"{name}-activate-region",
            function(
                handler="handlers.active_region.switch.activate_handler",
                description=f"Failover runbook: make {region} the active region",
                policy_statements=args.signal.switch_statements(),
                environment=signal_environment,
            ),
            child,
        )
        reconcile = Function(
            f"{name}-reconcile",
            function(
                handler="handlers.batch.reconcile.lambda_handler",
                description="Failover runbook: re-copy unfinished batches into input/ here",
                timeout_seconds=900,
                memory_mb=1024,
                policy_statements=[
                    allow(["dynamodb:Query"], [pulumi.Output.concat(state_arn, "/index/", STATUS_INDEX)]),
                    allow(["dynamodb:UpdateItem"], [state_arn]),
                    allow(["s3:ListBucketVersions"], [bucket.arn]),
                    # The in-place copy reads the replicated version and writes a new one (tags included).
                    allow(
                        [
                            "s3:GetObject",
                            "s3:GetObjectVersion",
                            "s3:GetObjectVersionTagging",
                            "s3:PutObject",
                            "s3:PutObjectTagging",
                        ],
                        [bucket.objects_arn(INPUT_PREFIX)],
                    ),
                ],
                environment=ReconcileSettings.environment(
                    batch_state_table=args.batch_state_table_name, bucket=bucket.bucket_name
                ),
            ),
            child,
        )
        runbook = StateMachine(
            f"{name}-runbook",
            StateMachineArgs(
                region=region,
                shared=args.shared,
                definition=partial(
                    failover_runbook.build_definition,
                    region=region,
                    # Reconciled files raise events this region's trigger must see as active: its cached
                    # read of the signal must have expired too, so the wait covers the record's TTL.
                    replication_wait_seconds=max(args.replication_wait_seconds, args.signal.cache_seconds),
                ),
                definition_inputs={
                    "read_state_arn": read_state.arn,
                    "activate_arn": activate.arn,
                    "reconcile_arn": reconcile.arn,
                },
                policy_statements=[
                    allow(["lambda:InvokeFunction"], [read_state.arn, activate.arn, reconcile.arn]),
                ],
            ),
            child,
        )
        # A failed failover leaves the active-region signal and the batches mid-way: someone must look.
        failed_executions_alarm(
            f"{name}-runbook-failed",
            topic=args.alarm_topics[region],
            state_machine_arn=runbook.arn,
            workflow="failover runbook",
            opts=child,
        )
        self.state_machine_arns[region] = runbook.arn
        self.reconcile_functions[region] = reconcile.function_name
        if args.automation_document:
            self.automation_documents[region] = self._automation_document(name, region, runbook.arn)

    def _automation_document(
        self, name: str, region: str, runbook_arn: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-automation-role",
            # Only Automation acting for this account may assume it (confused deputy prevention).
            assume_role_policy=assume_role_policy(
                "ssm.amazonaws.com", source_account=aws.get_caller_identity_output().account_id
            ),
            description=f"SSM Automation starts the {region} failover runbook",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-automation-policy",
            role=role.id,
            policy=policy_document(
                [
                    allow(["states:StartExecution"], [runbook_arn]),
                    allow(["states:DescribeExecution"], [executions_of(runbook_arn)]),
                ]
            ),
            opts=child,
        )
        document = aws.ssm.Document(
            f"{name}-automation",
            region=region,
            document_type="Automation",
            document_format="JSON",
            content=pulumi.Output.all(runbook_arn, role.arn).apply(
                lambda values: json.dumps(automation_content(region, values[0], values[1]))
            ),
            opts=child,
        )
        return document.name


def automation_content(region: str, runbook_arn: str, role_arn: str) -> dict[str, object]:
    """SSM Automation (schema 0.3): start the runbook, wait for it to end, fail unless it SUCCEEDED."""
    execution = "{{ StartRunbook.ExecutionArn }}"
    return {
        "schemaVersion": "0.3",
        "description": f"Fail over (or back) to {region}: runs the regionflow failover runbook there.",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "AutomationAssumeRole": {
                "type": "String",
                "default": role_arn,
                "description": "Role allowed to start and watch the runbook",
            }
        },
        "mainSteps": [
            {
                "name": "StartRunbook",
                "action": "aws:executeAwsApi",
                "inputs": {
                    "Service": "stepfunctions",
                    "Api": "StartExecution",
                    "stateMachineArn": runbook_arn,
                    "input": json.dumps({"startedBy": "ssm-automation"}),
                },
                "outputs": [{"Name": "ExecutionArn", "Selector": "$.executionArn", "Type": "String"}],
            },
            {
                "name": "WaitForRunbook",
                "action": "aws:waitForAwsResourceProperty",
                "timeoutSeconds": AUTOMATION_TIMEOUT_SECONDS,
                "inputs": {
                    "Service": "stepfunctions",
                    "Api": "DescribeExecution",
                    "executionArn": execution,
                    "PropertySelector": "$.status",
                    "DesiredValues": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
                },
            },
            {
                "name": "RunbookSucceeded",
                "action": "aws:assertAwsResourceProperty",
                "inputs": {
                    "Service": "stepfunctions",
                    "Api": "DescribeExecution",
                    "executionArn": execution,
                    "PropertySelector": "$.status",
                    "DesiredValues": ["SUCCEEDED"],
                },
            },
        ],
    }
