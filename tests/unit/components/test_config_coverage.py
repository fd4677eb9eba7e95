"""No dead settings: every key Pulumi.yaml declares changes what the program deploys.

For each key, the program is built with a valid value other than both the declared default and the
stack's own, and the recorded resources must differ from the same build without it. A key that reaches
nothing (as batchMaxConcurrency once did, its test passing because the stack value equalled the default)
fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from localcloud.core.recording import BuiltStack, build_stack
from localcloud.core.stack_files import declared_config

OPS = '["ops@example.com"]'
STRONG = {"regionflow:eventsConsistency": "strong", "regionflow:eventsWitnessRegion": "us-east-2"}
# key -> (stack, overrides the key needs to matter, a non-default value of the key)
NON_DEFAULT_VALUES: dict[str, tuple[str, dict[str, str], str]] = {
    "regions": ("primary", {}, '["us-east-1", "eu-west-1"]'),
    "systems": ("local", {}, '["transform", "audit"]'),
    "logRetentionDays": ("local", {}, "14"),
    "lambdaDependencies": ("primary", {}, "bundle"),
    "apiFrontDoor": ("primary", {}, "functionUrl"),
    "tracing": ("primary", {}, "false"),
    "apiWaf": ("primary", {}, "true"),
    "transformMaxUploadBytes": ("local", {}, "5242880"),
    "transformMaxXmlDepth": ("local", {}, "32"),
    "transformBatchSize": ("local", {}, "5"),
    "transformMaxReceiveCount": ("local", {}, "3"),
    "transformRuleCacheSeconds": ("local", {}, "30"),
    "transformNotifyEmails": ("local", {}, OPS),
    "transformApiConcurrency": ("local", {}, "7"),
    # An existing issuer replaces the stack's own user pool (API Gateway front door only).
    "transformJwtIssuer": (
        "primary",
        {"regionflow:transformJwtAudiences": '["upload-page"]'},
        "https://login.example.com/realm",
    ),
    "transformJwtAudiences": (
        "primary",
        {
            "regionflow:transformJwtIssuer": "https://login.example.com/realm",
            "regionflow:transformJwtAudiences": '["upload-page"]',
        },
        '["upload-page", "cli"]',
    ),
    "transformWorkerConcurrency": ("local", {}, "6"),
    "transformWorkerMemoryMb": ("local", {}, "2048"),
    "transformDeadLetterConcurrency": ("local", {}, "3"),
    # Throttles live on API Gateway stages: the primary stack's front door (local's is function URLs).
    "transformApiRateLimit": ("primary", {}, "30"),
    "transformApiBurstLimit": ("primary", {}, "60"),
    "artifactHostsPerRegion": ("local", {}, "100"),
    "artifactMaxHostsPerRegion": ("local", {}, "6000"),
    "artifactBuildBatchSize": ("local", {}, "2"),
    "artifactMaxReceiveCount": ("local", {}, "4"),
    "artifactFailureEmails": ("local", {}, OPS),
    "artifactBuildWorkerConcurrency": ("local", {}, "3"),
    "artifactDistributionKeyPrefix": ("local", {}, "releases/"),
    "artifactDistributionKeySuffix": ("local", {}, ".zip"),
    "artifactApiRateLimit": ("local", {}, "3"),
    "artifactApiBurstLimit": ("local", {}, "8"),
    "batchRecordsPerChunk": ("local", {}, "500"),
    "batchMaxConcurrency": ("local", {}, "7"),
    "batchSenderEmail": ("local", {}, "sender@example.org"),
    "batchRecipientEmails": ("local", {}, '["someone@example.org"]'),
    "batchLinkExpirySeconds": ("local", {}, "3600"),
    "batchReplicationTimeControl": ("primary", {}, "false"),
    "batchMultiRegionAccessPoint": ("primary", {}, "false"),
    "batchAlarmEmails": ("local", {}, OPS),
    "batchWorkRetentionDays": ("local", {}, "3"),
    "batchApiConcurrency": ("local", {}, "3"),
    "batchApiRateLimit": ("primary", {}, "30"),
    "batchApiBurstLimit": ("primary", {}, "60"),
    "activeRegionZoneName": ("local", {}, "failover.example.internal"),
    "activeRegionTtlSeconds": ("local", {}, "30"),
    "activeRegionRecoveryControl": ("primary", {}, "false"),
    "failoverReplicationWaitSeconds": ("local", {}, "60"),
    "failoverAutomationDocument": ("primary", {}, "false"),
    "failoverChaosExperiment": ("primary", {}, "true"),
    "auditRedisEndpoint": ("local", {}, "cache.internal:6380"),
    "auditRedisReplicas": ("primary", {}, "2"),
    "auditRedisMemoryAlarmPercent": ("primary", {}, "70"),
    "auditRedisNodeType": ("primary", {}, "cache.r7g.large"),
    "auditMaxBodyBytes": ("local", {}, "1000000"),
    "auditRedisTtlSeconds": ("local", {}, "3600"),
    "auditIdempotencyTtlSeconds": ("local", {}, "3600"),
    "auditSubscriberEmails": ("local", {}, OPS),
    "auditApiConcurrency": ("local", {}, "4"),
    "auditApiRateLimit": ("primary", {}, "30"),
    "auditApiBurstLimit": ("primary", {}, "60"),
    # The witness only exists under strong consistency; strong needs a witness.
    "eventsConsistency": ("primary", {"regionflow:eventsWitnessRegion": "us-east-2"}, "strong"),
    "eventsWitnessRegion": ("primary", STRONG, "us-west-1"),
    "eventsMaxClockSkewSeconds": ("local", {}, "60"),
    "eventsIdempotencyTtlSeconds": ("local", {}, "3600"),
    "eventsAlarmEmails": ("local", {}, OPS),
    "eventsApiConcurrency": ("local", {}, "4"),
    "eventsApiRateLimit": ("primary", {}, "30"),
    "eventsApiBurstLimit": ("primary", {}, "60"),
}


def _wire(value: Any) -> str:
    """A declared default as the CLI hands it to the program."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def declared_keys() -> dict[str, Any]:
    """Pulumi.yaml's config declarations: key -> declared default."""
    return {key: declaration.get("default") for key, declaration in declared_config().items()}


def fingerprint(stack: BuiltStack) -> list[tuple[str, str, str]]:
    """Every resource's type, logical name and inputs, comparable across two builds."""

    def plain(value: Any) -> Any:
        if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
            return value.path
        if isinstance(value, pulumi.AssetArchive):
            return {key: plain(item) for key, item in value.assets.items()}
        return repr(value)

    return sorted(
        (r.typ, r.name, json.dumps(r.inputs, sort_keys=True, default=plain)) for r in stack.resources
    )


def test_every_declared_key_has_a_non_default_value_in_this_test() -> None:
    assert set(NON_DEFAULT_VALUES) == set(declared_keys())


# A system's own keys (by prefix) are checked on a stack of that system alone (regionflow:systems): the
# same key reaches the same resources, in a build a fifth of the whole program's size.
SYSTEM_OF_PREFIX = {
    "transform": "transform",
    "artifact": "artifacts",
    "batch": "batch",
    "activeRegion": "batch",  # batch's failover signal and runbook come with it
    "failover": "batch",
    "audit": "audit",
    "events": "events",
}


# A program-wide key is checked on one system it reaches: that it changes anything at all is the guarantee,
# and the whole program's build (658 resources on the primary stack) costs five times as much.
SYSTEM_OF_PROGRAM_WIDE_KEY = {
    "regions": "artifacts",  # its regional buckets and sync functions
    "logRetentionDays": "transform",
    "lambdaDependencies": "transform",
    "apiFrontDoor": "transform",
    "tracing": "transform",
    "apiWaf": "transform",
}


def with_its_system_alone(key: str, needs: dict[str, str]) -> dict[str, str]:
    """`needs`, plus the one system `key` is checked on: its own, or one a program-wide key reaches."""
    systems = [system for prefix, system in SYSTEM_OF_PREFIX.items() if key.startswith(prefix)]
    if key in SYSTEM_OF_PROGRAM_WIDE_KEY:
        systems = [SYSTEM_OF_PROGRAM_WIDE_KEY[key]]
    return {**needs, "regionflow:systems": json.dumps(systems)} if systems else needs


@pytest.mark.parametrize("key", sorted(NON_DEFAULT_VALUES))
def test_a_non_default_value_of_each_key_changes_the_deployed_resources(key: str) -> None:
    stack, needs, value = NON_DEFAULT_VALUES[key]
    needs = with_its_system_alone(key, needs)
    # GIVEN the stack (with what the key needs to matter) and a value other than its own, which for every
    # key that is not a boolean the stack sets away from the default is also not the default
    baseline = build_stack(stack, needs or None)
    own = baseline.config[f"regionflow:{key}"]
    default = declared_keys()[key]
    assert value != own
    if not (isinstance(default, bool) and own != _wire(default)):
        assert value != _wire(default)
    # WHEN the key takes that value
    changed = build_stack(stack, {**needs, f"regionflow:{key}": value})
    # THEN what the program deploys changes
    assert fingerprint(changed) != fingerprint(baseline), f"{key} changes nothing the program deploys"
