"""A function setting's default lives in its contract; the components and Pulumi.yaml agree with it.

Components take their Args defaults from the contracts (`UploadSettings.max_upload_bytes`, ...), and the
Pulumi CLI applies Pulumi.yaml's declared defaults to the stack config the program passes down: the two
must be the same value, or a stack without the key would deploy something the contract does not say.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from components.active_active_events import ActiveActiveEventsArgs
from components.artifact_distribution import ArtifactDistributionArgs
from components.audit_ingest import AuditIngestArgs
from components.batch_orchestrator import BatchOrchestratorArgs
from components.failover_control import FailoverControlArgs
from components.transform_pipeline import TransformPipelineArgs
from handlers.active_region.contract import ActiveRegionSettings
from handlers.artifacts.contract import RegionalSyncSettings
from handlers.audit.contract import IngestSettings, RedisSettings
from handlers.batch.contract import EmailSettings, SplitSettings
from handlers.environment import Environment
from handlers.events.contract import ProcessorSettings
from handlers.transform.contract import StatusSettings, UploadSettings, WorkerSettings
from localcloud.core.stack_files import declared_config

# config key -> (the contract and field it feeds, the component Args and field that carry it)
FED_BY_CONFIG: dict[str, tuple[type[Environment], str, type, str]] = {
    "transformMaxUploadBytes": (
        UploadSettings,
        "max_upload_bytes",
        TransformPipelineArgs,
        "max_upload_bytes",
    ),
    "transformMaxXmlDepth": (UploadSettings, "max_xml_depth", TransformPipelineArgs, "max_xml_depth"),
    "transformMaxReceiveCount": (
        WorkerSettings,
        "max_receive_count",
        TransformPipelineArgs,
        "max_receive_count",
    ),
    "transformRuleCacheSeconds": (
        WorkerSettings,
        "rule_cache_seconds",
        TransformPipelineArgs,
        "rule_cache_seconds",
    ),
    "artifactHostsPerRegion": (
        RegionalSyncSettings,
        "hosts_per_region",
        ArtifactDistributionArgs,
        "hosts_per_region",
    ),
    "artifactMaxHostsPerRegion": (
        RegionalSyncSettings,
        "max_hosts_per_region",
        ArtifactDistributionArgs,
        "max_hosts_per_region",
    ),
    "batchRecordsPerChunk": (SplitSettings, "records_per_chunk", BatchOrchestratorArgs, "records_per_chunk"),
    "batchLinkExpirySeconds": (
        EmailSettings,
        "link_expiry_seconds",
        BatchOrchestratorArgs,
        "link_expiry_seconds",
    ),
    "activeRegionTtlSeconds": (
        ActiveRegionSettings,
        "active_region_cache_seconds",
        FailoverControlArgs,
        "record_ttl_seconds",
    ),
    "auditMaxBodyBytes": (IngestSettings, "max_body_bytes", AuditIngestArgs, "max_body_bytes"),
    "auditRedisTtlSeconds": (RedisSettings, "redis_ttl_seconds", AuditIngestArgs, "redis_ttl_seconds"),
    "auditIdempotencyTtlSeconds": (
        IngestSettings,
        "idempotency_ttl_seconds",
        AuditIngestArgs,
        "idempotency_ttl_seconds",
    ),
    "eventsMaxClockSkewSeconds": (
        ProcessorSettings,
        "max_clock_skew_seconds",
        ActiveActiveEventsArgs,
        "max_clock_skew_seconds",
    ),
    "eventsIdempotencyTtlSeconds": (
        ProcessorSettings,
        "idempotency_ttl_seconds",
        ActiveActiveEventsArgs,
        "idempotency_ttl_seconds",
    ),
}


def default_of(cls: type, name: str) -> Any:
    [field] = [field for field in fields(cls) if field.name == name]
    return field.default


def declared_defaults() -> dict[str, Any]:
    return {key: declaration.get("default") for key, declaration in declared_config().items()}


@pytest.mark.parametrize("key", sorted(FED_BY_CONFIG))
def test_pulumi_yaml_and_the_component_default_to_the_contracts_value(key: str) -> None:
    settings, field, args, args_field = FED_BY_CONFIG[key]
    contract_default = default_of(settings, field)
    assert declared_defaults()[key] == contract_default, f"Pulumi.yaml {key} != {settings.__name__}.{field}"
    assert default_of(args, args_field) == contract_default, f"{args.__name__}.{args_field}"


def test_the_status_links_lifetime_defaults_to_the_contracts() -> None:
    # No config key sets it: the component passes its own default, which is the contract's.
    assert default_of(TransformPipelineArgs, "presigned_url_ttl_seconds") == default_of(
        StatusSettings, "presigned_url_ttl_seconds"
    )
