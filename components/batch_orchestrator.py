"""Multi-region batch processing: a CSV in either region's bucket -> split, validate, enrich, merge, email.

Everything runs in both regions; only the active region (FailoverControl's signal) processes an upload.
The buckets replicate input/ and output/ both ways, so after a failover the standby holds the files to
reprocess; batch state, validation errors and financial data are DynamoDB global tables, so either
region sees every batch.

This component builds what the regions share (the bucket pair, the global tables) and one BatchRegion
child per region (components/batch_region.py) with everything that region runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmTopic
from components.api_callers import ApiCallerRole, ApiCallerRoleArgs
from components.batch_region import BatchRegion, BatchRegionArgs, BatchTables
from components.config import ApiThrottle
from components.failover_control import ActiveRegionSignal
from components.function import FunctionNetwork
from components.regional_bucket_pair import RegionalBucketPair, RegionalBucketPairArgs
from components.secure_bucket import SecureBucket
from components.shared_settings import SharedSettings
from handlers.batch import contract
from handlers.batch.contract import EmailSettings, SplitSettings
from workflows import batch_processing

API_THROTTLE = ApiThrottle(rate_limit_per_second=20, burst_limit=50)  # GET /financials/{uuid}, per region


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
    api_concurrency: int = 5  # reserved for GET /financials/{uuid} in each region
    api_throttle: ApiThrottle = API_THROTTLE
    private_networks: Mapping[str, FunctionNetwork] = field(default_factory=dict)  # by region


class BatchOrchestrator(pulumi.ComponentResource):
    buckets: dict[str, pulumi.Output[str]]
    data_buckets: dict[str, SecureBucket]  # what failover's reconciliation re-copies from
    batch_state_table: pulumi.Output[str]
    batch_state_table_arn: pulumi.Output[str]
    errors_table: pulumi.Output[str]
    financials_table: pulumi.Output[str]
    state_machine_arns: dict[str, pulumi.Output[str]]
    trigger_functions: dict[str, pulumi.Output[str]]
    financials_urls: dict[str, pulumi.Output[str]]
    dashboards: dict[str, pulumi.Output[str]]
    failure_alarm_arns: dict[str, pulumi.Output[str]]  # batch workflow failures, per region
    alarm_topics: dict[str, AlarmTopic]  # per region; the failover runbook alarms into them
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
        tables = self._tables()
        parts = {
            region: self._region(region, storage.buckets[region], storage.access_point_arn, tables)
            for region in args.regions
        }
        self.state_machine_arns = {region: part.state_machine_arn for region, part in parts.items()}
        self.trigger_functions = {region: part.trigger_function for region, part in parts.items()}
        self.financials_urls = {region: part.financials_url for region, part in parts.items()}
        self.caller_role_arn = ApiCallerRole(
            f"{name}-caller",
            ApiCallerRoleArgs(
                statements=[statement for part in parts.values() for statement in part.invoke_statements],
                description="regionflow: GET /financials/{uuid}, every region",
            ),
            pulumi.ResourceOptions(parent=self),
        ).arn
        self.dashboards = {region: part.dashboard for region, part in parts.items()}
        self.failure_alarm_arns = {region: part.failure_alarm_arn for region, part in parts.items()}
        self.alarm_topics = {region: part.alarms for region, part in parts.items()}
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
                "trigger_functions": self.trigger_functions,
                "financials_urls": self.financials_urls,
                "caller_role_arn": self.caller_role_arn,
                "dashboards": self.dashboards,
                "failure_alarm_arns": self.failure_alarm_arns,
                "access_point_alias": self.access_point_alias,
            }
        )

    # ---- shared state -----------------------------------------------------------------------------
    def _tables(self) -> BatchTables:
        return BatchTables(
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

    # ---- one region's processing ------------------------------------------------------------------
    def _region(
        self,
        region: str,
        bucket: SecureBucket,
        access_point_arn: pulumi.Output[str] | None,
        tables: BatchTables,
    ) -> BatchRegion:
        args = self._args
        return BatchRegion(
            f"{self._name}-{region}",
            BatchRegionArgs(
                region=region,
                shared=args.shared,
                active_region=args.active_region,
                bucket=bucket,
                tables=tables,
                sender_email=args.sender_email,
                recipient_emails=args.recipient_emails,
                records_per_chunk=args.records_per_chunk,
                max_concurrency=args.max_concurrency,
                link_expiry_seconds=args.link_expiry_seconds,
                alarm_emails=args.alarm_emails,
                api_concurrency=args.api_concurrency,
                api_throttle=args.api_throttle,
                access_point_arn=access_point_arn,
                network=args.private_networks.get(region),
            ),
            pulumi.ResourceOptions(parent=self),
            # Before issue 14 a region's resources sat directly under this component.
            moved_from=self,
        )
