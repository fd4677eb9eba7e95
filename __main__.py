"""regionflow: one Pulumi program, five serverless systems. Config is read once, here."""

from pathlib import Path

import pulumi

from components.artifact_distribution import ArtifactDistribution, ArtifactDistributionArgs
from components.batch_orchestrator import BatchOrchestrator, BatchOrchestratorArgs
from components.config import PROJECT, load_settings
from components.failover_control import FailoverControl, FailoverControlArgs
from components.lambda_packaging import LambdaPackagingCatalog
from components.transform_pipeline import TransformPipeline, TransformPipelineArgs
from handlers.transform.rules import load_rule_files, rule_set_to_item

RULES_DIR = Path(__file__).resolve().parent / "rules"

settings = load_settings(pulumi.Config(PROJECT), stack=pulumi.get_stack())
packaging = LambdaPackagingCatalog.prepare(settings.lambda_dependencies)
primary = settings.primary_region

transform = TransformPipeline(
    "transform",
    TransformPipelineArgs(
        region=primary,
        packaging=packaging.for_region(primary),
        rule_items=[rule_set_to_item(rule_set) for rule_set in load_rule_files(RULES_DIR).values()],
        max_upload_bytes=settings.transform.max_upload_bytes,
        max_xml_depth=settings.transform.max_xml_depth,
        batch_size=settings.transform.batch_size,
        max_receive_count=settings.transform.max_receive_count,
        rule_cache_seconds=settings.transform.rule_cache_seconds,
        notify_emails=settings.transform.notify_emails,
        log_retention_days=settings.log_retention_days,
        tracing=settings.tracing,
        api_front_door=settings.api_front_door,
    ),
)

artifacts = ArtifactDistribution(
    "artifacts",
    ArtifactDistributionArgs(
        regions=settings.regions,
        packaging=packaging.for_region,
        hosts_per_region=settings.artifacts.hosts_per_region,
        build_batch_size=settings.artifacts.build_batch_size,
        max_receive_count=settings.artifacts.max_receive_count,
        failure_emails=settings.artifacts.failure_emails,
        log_retention_days=settings.log_retention_days,
        tracing=settings.tracing,
    ),
)

# Batch and its failover run in two regions: the primary and the first secondary.
batch_regions = settings.regions[:2]
failover = FailoverControl(
    "failover",
    FailoverControlArgs(
        regions=batch_regions,
        zone_name=settings.failover.zone_name,
        record_ttl_seconds=settings.failover.ttl_seconds,
    ),
)
batch = BatchOrchestrator(
    "batch",
    BatchOrchestratorArgs(
        regions=batch_regions,
        packaging=packaging.for_region,
        active_region=failover.signal,
        sender_email=settings.batch.sender_email,
        recipient_emails=settings.batch.recipient_emails,
        records_per_chunk=settings.batch.records_per_chunk,
        max_concurrency=settings.batch.max_concurrency,
        link_expiry_seconds=settings.batch.link_expiry_seconds,
        replication_time_control=settings.batch.replication_time_control,
        multi_region_access_point=settings.batch.multi_region_access_point,
        alarm_emails=settings.batch.alarm_emails,
        work_retention_days=settings.batch.work_retention_days,
        log_retention_days=settings.log_retention_days,
        tracing=settings.tracing,
        api_front_door=settings.api_front_door,
    ),
)

pulumi.export("regions", list(settings.regions))
pulumi.export("transformUploadUrl", transform.upload_url)
pulumi.export("transformStatusUrl", transform.status_url)
pulumi.export("transformInputBucket", transform.input_bucket)
pulumi.export("transformOutputBucket", transform.output_bucket)
pulumi.export("transformRulesTable", transform.rules_table)
pulumi.export("transformStatusTable", transform.status_table)
pulumi.export("transformTopicArn", transform.topic_arn)
pulumi.export("transformQueueUrl", transform.queue_url)
pulumi.export("transformDlqUrl", transform.dlq_url)
pulumi.export("artifactBuildsUrl", artifacts.builds_url)
pulumi.export("artifactGlobalBucket", artifacts.global_bucket)
pulumi.export("artifactRegionalBuckets", artifacts.regional_buckets)
pulumi.export("artifactTrackingTable", artifacts.tracking_table)
pulumi.export("artifactHostLogTable", artifacts.host_log_table)
pulumi.export("artifactStateMachineArn", artifacts.state_machine_arn)
pulumi.export("artifactFailureTopicArn", artifacts.failure_topic_arn)
pulumi.export("artifactBuildQueueUrl", artifacts.build_queue_url)
pulumi.export("artifactBuildDlqUrl", artifacts.build_dlq_url)
pulumi.export("batchBuckets", batch.buckets)
pulumi.export("batchStateTable", batch.batch_state_table)
pulumi.export("batchErrorsTable", batch.errors_table)
pulumi.export("batchFinancialsTable", batch.financials_table)
pulumi.export("batchStateMachineArns", batch.state_machine_arns)
pulumi.export("batchChunkStateMachineArns", batch.chunk_state_machine_arns)
pulumi.export("batchTriggerFunctions", batch.trigger_functions)
pulumi.export("batchFinancialsUrls", batch.financials_urls)
pulumi.export("batchDashboards", batch.dashboards)
pulumi.export("batchAccessPointAlias", batch.access_point_alias)
pulumi.export("activeRegionZoneId", failover.zone_id)
pulumi.export("activeRegionRecordName", failover.record_name)
