"""regionflow: one Pulumi program, five serverless systems. Config is read once, here."""

from pathlib import Path

import pulumi

from components.active_active_events import ActiveActiveEvents, ActiveActiveEventsArgs
from components.artifact_distribution import ArtifactDistribution, ArtifactDistributionArgs
from components.audit_ingest import AuditIngest, AuditIngestArgs
from components.batch_orchestrator import BatchOrchestrator, BatchOrchestratorArgs
from components.chaos_experiment import ChaosExperiment, ChaosExperimentArgs
from components.config import PROJECT, load_settings
from components.failover_control import FailoverControl, FailoverControlArgs
from components.failover_runbook import FailoverRunbook, FailoverRunbookArgs
from components.http_api import JwtIssuer
from components.lambda_packaging import LambdaPackagingCatalog
from components.private_network import PrivateNetwork, PrivateNetworkArgs
from components.shared_settings import SharedSettings
from components.transform_pipeline import TransformPipeline, TransformPipelineArgs
from components.web_acl import WebAcl, WebAclArgs
from handlers.transform.contract import rule_items

RULES_DIR = Path(__file__).resolve().parent / "rules"

settings = load_settings(pulumi.Config(PROJECT), stack=pulumi.get_stack())
# What every component takes alike, passed once to each.
shared = SharedSettings(
    packaging=LambdaPackagingCatalog.prepare(settings.lambda_dependencies).for_region,
    log_retention_days=settings.log_retention_days,
    tracing=settings.tracing,
    api_front_door=settings.api_front_door,
)
primary = settings.primary_region
# AWS only: WAF in front of the doors that can take it (POST /builds' stage, the user pool's sign-in).
web_acl = (
    WebAcl("api-firewall", WebAclArgs(region=primary))
    if settings.api_waf and settings.systems & {"artifacts", "transform"}
    else None
)


def deploy_transform() -> None:
    transform = TransformPipeline(
        "transform",
        TransformPipelineArgs(
            region=primary,
            shared=shared,
            rule_items=rule_items(RULES_DIR),
            max_upload_bytes=settings.transform.max_upload_bytes,
            max_xml_depth=settings.transform.max_xml_depth,
            batch_size=settings.transform.batch_size,
            max_receive_count=settings.transform.max_receive_count,
            rule_cache_seconds=settings.transform.rule_cache_seconds,
            notify_emails=settings.transform.notify_emails,
            api_concurrency=settings.transform.api_concurrency,
            worker_concurrency=settings.transform.worker_concurrency,
            worker_memory_mb=settings.transform.worker_memory_mb,
            dead_letter_concurrency=settings.transform.dead_letter_concurrency,
            api_throttle=settings.transform.api_throttle,
            web_acl=web_acl,
            jwt_issuer=(
                JwtIssuer(issuer=settings.transform.jwt_issuer, audiences=settings.transform.jwt_audiences)
                if settings.transform.jwt_issuer
                else None
            ),
        ),
    )
    pulumi.export("transformUploadUrl", transform.upload_url)
    pulumi.export("transformStatusUrl", transform.status_url)
    pulumi.export("transformUploadsUrl", transform.uploads_url)
    pulumi.export("transformRulesUrl", transform.rules_url)
    pulumi.export("transformUploadPageUrl", transform.upload_page_url)
    pulumi.export("transformInputBucket", transform.input_bucket)
    pulumi.export("transformOutputBucket", transform.output_bucket)
    pulumi.export("transformRulesTable", transform.rules_table)
    pulumi.export("transformStatusTable", transform.status_table)
    pulumi.export("transformTopicArn", transform.topic_arn)
    pulumi.export("transformQueueUrl", transform.queue_url)
    pulumi.export("transformDlqUrl", transform.dlq_url)
    pulumi.export("transformUserPoolId", transform.user_pool_id)
    pulumi.export("transformUserPoolClientId", transform.user_pool_client_id)
    pulumi.export("transformCallerRoleArn", transform.caller_role_arn)
    pulumi.export("transformDashboard", transform.dashboard_name)


def deploy_artifacts() -> None:
    artifacts = ArtifactDistribution(
        "artifacts",
        ArtifactDistributionArgs(
            regions=settings.regions,
            shared=shared,
            hosts_per_region=settings.artifacts.hosts_per_region,
            max_hosts_per_region=settings.artifacts.max_hosts_per_region,
            build_batch_size=settings.artifacts.build_batch_size,
            max_receive_count=settings.artifacts.max_receive_count,
            failure_emails=settings.artifacts.failure_emails,
            build_worker_concurrency=settings.artifacts.build_worker_concurrency,
            api_throttle=settings.artifacts.api_throttle,
            distributed_keys=settings.artifacts.distributed_keys,
            web_acl=web_acl,
        ),
    )
    pulumi.export("artifactBuildsUrl", artifacts.builds_url)
    pulumi.export("artifactGlobalBucket", artifacts.global_bucket)
    pulumi.export("artifactRegionalBuckets", artifacts.regional_buckets)
    pulumi.export("artifactTrackingTable", artifacts.tracking_table)
    pulumi.export("artifactHostLogTable", artifacts.host_log_table)
    pulumi.export("artifactStateMachineArn", artifacts.state_machine_arn)
    pulumi.export("artifactFailureTopicArn", artifacts.failure_topic_arn)
    pulumi.export("artifactBuildQueueUrl", artifacts.build_queue_url)
    pulumi.export("artifactBuildDlqUrl", artifacts.build_dlq_url)
    pulumi.export("artifactCallerRoleArn", artifacts.caller_role_arn)
    pulumi.export("artifactDashboards", artifacts.dashboard_names)


def deploy_batch() -> None:
    """Batch and what it needs: the failover signal it gates on, and the runbook that moves it."""
    # Batch and its failover run in two regions: the primary and the first secondary.
    batch_regions = settings.regions[:2]
    failover = FailoverControl(
        "failover",
        FailoverControlArgs(
            regions=batch_regions,
            zone_name=settings.failover.zone_name,
            record_ttl_seconds=settings.failover.ttl_seconds,
            recovery_control=settings.failover.recovery_control,
        ),
    )
    # AWS only, behind a flag: the batch data plane in private subnets, and FIS templates that cut them off.
    chaos_networks = (
        {
            region: PrivateNetwork(
                f"batch-network-{region}",
                PrivateNetworkArgs(
                    region=region, vpc_id=failover.vpc_ids[region], vpc_cidr=failover.vpc_cidrs[region]
                ),
            )
            for region in batch_regions
        }
        if settings.failover.chaos_experiment
        else {}
    )
    batch = BatchOrchestrator(
        "batch",
        BatchOrchestratorArgs(
            regions=batch_regions,
            shared=shared,
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
            api_concurrency=settings.batch.api_concurrency,
            api_throttle=settings.batch.api_throttle,
            private_networks={region: network.network for region, network in chaos_networks.items()},
        ),
    )
    chaos_templates = {
        region: ChaosExperiment(
            f"batch-chaos-{region}",
            ChaosExperimentArgs(
                region=region,
                subnet_arns=network.subnet_arns,
                # Stop cutting this region off once the other one fails too: the failover has nowhere to go.
                stop_alarm_arn=batch.failure_alarm_arns[next(r for r in batch_regions if r != region)],
            ),
        ).template_id
        for region, network in chaos_networks.items()
    }
    runbook = FailoverRunbook(
        "failover-runbook",
        FailoverRunbookArgs(
            regions=batch_regions,
            shared=shared,
            signal=failover.signal,
            buckets=batch.data_buckets,
            alarm_topics=batch.alarm_topics,
            batch_state_table_name=batch.batch_state_table,
            batch_state_table_arn=batch.batch_state_table_arn,
            replication_wait_seconds=settings.failover.replication_wait_seconds,
            automation_document=settings.failover.automation_document,
        ),
    )
    pulumi.export("batchBuckets", batch.buckets)
    pulumi.export("batchStateTable", batch.batch_state_table)
    pulumi.export("batchErrorsTable", batch.errors_table)
    pulumi.export("batchFinancialsTable", batch.financials_table)
    pulumi.export("batchStateMachineArns", batch.state_machine_arns)
    pulumi.export("batchTriggerFunctions", batch.trigger_functions)
    pulumi.export("batchFinancialsUrls", batch.financials_urls)
    pulumi.export("batchCallerRoleArn", batch.caller_role_arn)
    pulumi.export("batchDashboards", batch.dashboards)
    pulumi.export("batchAccessPointAlias", batch.access_point_alias)
    pulumi.export("activeRegionZoneId", failover.zone_id)
    pulumi.export("activeRegionRecordName", failover.record_name)
    pulumi.export("activeRegionRoutingControls", failover.routing_control_arns)
    pulumi.export("activeRegionClusterEndpoints", failover.cluster_endpoints)
    pulumi.export("failoverRunbookArns", runbook.state_machine_arns)
    pulumi.export("failoverReconcileFunctions", runbook.reconcile_functions)
    pulumi.export("failoverAutomationDocuments", runbook.automation_documents)
    pulumi.export("failoverChaosTemplates", chaos_templates)


def deploy_audit() -> None:
    audit = AuditIngest(
        "audit",
        AuditIngestArgs(
            region=primary,
            shared=shared,
            redis_endpoint=settings.audit.redis_endpoint,
            redis_replicas=settings.audit.redis_replicas,
            redis_memory_alarm_percent=settings.audit.redis_memory_alarm_percent,
            redis_node_type=settings.audit.redis_node_type,
            max_body_bytes=settings.audit.max_body_bytes,
            redis_ttl_seconds=settings.audit.redis_ttl_seconds,
            idempotency_ttl_seconds=settings.audit.idempotency_ttl_seconds,
            subscriber_emails=settings.audit.subscriber_emails,
            api_concurrency=settings.audit.api_concurrency,
            api_throttle=settings.audit.api_throttle,
        ),
    )
    pulumi.export("auditUrl", audit.audit_url)
    pulumi.export("auditCallerRoleArn", audit.caller_role_arn)
    pulumi.export("auditArchiveBucket", audit.archive_bucket)
    pulumi.export("auditMetadataTable", audit.metadata_table)
    pulumi.export("auditTopicArn", audit.topic_arn)
    pulumi.export("auditDlqUrl", audit.dlq_url)
    pulumi.export("auditStateMachineArn", audit.state_machine_arn)
    pulumi.export("auditDashboard", audit.dashboard_name)


def deploy_events() -> None:
    events = ActiveActiveEvents(
        "events",
        ActiveActiveEventsArgs(
            regions=settings.regions[:2],
            shared=shared,
            consistency=settings.events.consistency,
            witness_region=settings.events.witness_region,
            max_clock_skew_seconds=settings.events.max_clock_skew_seconds,
            idempotency_ttl_seconds=settings.events.idempotency_ttl_seconds,
            alarm_emails=settings.events.alarm_emails,
            api_concurrency=settings.events.api_concurrency,
            api_throttle=settings.events.api_throttle,
        ),
    )
    pulumi.export("eventsUrls", events.event_urls)
    pulumi.export("eventsCallerRoleArn", events.caller_role_arn)
    pulumi.export("eventsTable", events.event_table)
    pulumi.export("eventsIdempotencyTable", events.idempotency_table)
    pulumi.export("eventsDlqUrls", events.dlq_urls)
    pulumi.export("eventsStateMachineArns", events.state_machine_arns)
    pulumi.export("eventsDashboards", events.dashboard_names)
    # The live conflict feed (API Gateway v2 stacks only): a WebSocket URL per region, and who may subscribe.
    pulumi.export("eventsFeedUrls", events.feed_urls)
    if events.feed_subscriber_role_arn is not None:
        pulumi.export("eventsFeedSubscriberRoleArn", events.feed_subscriber_role_arn)


DEPLOYERS = {
    "transform": deploy_transform,
    "artifacts": deploy_artifacts,
    "batch": deploy_batch,
    "audit": deploy_audit,
    "events": deploy_events,
}
pulumi.export("regions", list(settings.regions))
pulumi.export("systems", sorted(settings.systems))
# In the order above whatever the config's order: a stack's resources register the same way each run.
for system, deploy in DEPLOYERS.items():
    if system in settings.systems:
        deploy()
