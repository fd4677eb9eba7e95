"""Stack settings: every stack file parses; bad or missing config fails naming the key and what is allowed."""

from __future__ import annotations

import json
import re

import pytest

from components.config import ConfigError, load_settings
from localcloud.core.stack_files import load_stack_config, stack_names


class DictSource:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(f"regionflow:{key}")


def settings_with(**overrides: str) -> DictSource:
    values = load_stack_config("primary")
    values.update({f"regionflow:{key}": value for key, value in overrides.items()})
    return DictSource(values)


@pytest.mark.parametrize("stack", stack_names())
def test_each_stack_file_yields_valid_settings(stack: str) -> None:
    settings = load_settings(DictSource(load_stack_config(stack)), stack=stack)
    assert settings.stack == stack
    assert len(settings.regions) >= 2


def test_primary_stack_is_us_east_1_with_us_west_2_secondary() -> None:
    settings = load_settings(DictSource(load_stack_config("primary")), stack="primary")
    assert (settings.primary_region, settings.secondary_regions) == ("us-east-1", ("us-west-2",))


def test_pulumi_yaml_defaults_apply_when_the_stack_file_is_silent() -> None:
    # GIVEN a stack file that does not set transformBatchSize THEN Pulumi.yaml's default (10) applies
    assert "regionflow:transformBatchSize" in load_stack_config("primary")
    assert load_settings(DictSource(load_stack_config("primary")), stack="primary").transform.batch_size == 10


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("regions", json.dumps(["us-east-1"]), "at least two AWS regions"),
        ("regions", json.dumps(["us-east-1", "mars-1"]), "'mars-1' is not an AWS region"),
        ("regions", "us-east-1", "list of strings"),
        ("logRetentionDays", "10", "one of 1, 3, 5, 7"),
        ("lambdaDependencies", "zip", "one of layer, bundle"),
        ("apiFrontDoor", "rest", "one of httpApi, functionUrl"),
        ("tracing", "yes", "true or false"),
        ("transformMaxUploadBytes", str(11 * 1024 * 1024), "from 1 to 10485760"),
        ("transformBatchSize", "ten", "an integer from 1 to 10000"),
        ("transformNotifyEmails", json.dumps(["not-an-email"]), "is not an email address"),
        # 0 reserved executions would throttle every call; a queue mapping's maximum concurrency is >= 2.
        ("eventsApiConcurrency", "0", "an integer from 1 to 900"),
        ("transformWorkerConcurrency", "1", "an integer from 2 to 900"),
        ("auditApiBurstLimit", "6000", "an integer from 1 to 5000"),
        ("artifactHostsPerRegion", "1000000", "an integer from 1 to 50000"),
    ],
)
def test_bad_values_fail_naming_the_key_and_what_is_allowed(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(settings_with(**{key: value}), stack="primary")
    assert f"regionflow:{key}" in str(raised.value)
    assert expected in str(raised.value)


def test_a_missing_key_fails_naming_it() -> None:
    values = load_stack_config("primary")
    del values["regionflow:transformMaxXmlDepth"]
    with pytest.raises(ConfigError, match="regionflow:transformMaxXmlDepth is missing"):
        load_settings(DictSource(values), stack="primary")


def test_unknown_stack_file_names_the_known_stacks() -> None:
    with pytest.raises(FileNotFoundError, match="local, primary"):
        load_stack_config("staging")


def test_strong_event_consistency_without_a_witness_region_fails_naming_both_keys() -> None:
    with pytest.raises(
        ConfigError, match="eventsConsistency = 'strong' needs regionflow:eventsWitnessRegion"
    ):
        load_settings(settings_with(eventsConsistency="strong"), stack="primary")


def test_strong_event_consistency_with_a_witness_region_is_accepted() -> None:
    settings = load_settings(
        settings_with(eventsConsistency="strong", eventsWitnessRegion="us-east-2"), stack="primary"
    )
    assert (settings.events.consistency, settings.events.witness_region) == ("strong", "us-east-2")


@pytest.mark.parametrize(
    ("key", "value"), [("eventsConsistency", "linearizable"), ("eventsWitnessRegion", "Ohio")]
)
def test_bad_event_settings_fail_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"regionflow:{key} = '{value}' is not allowed"):
        load_settings(settings_with(**{key: value}), stack="primary")


def test_every_system_is_deployed_unless_the_stack_names_fewer() -> None:
    assert load_settings(settings_with(), stack="primary").systems == {
        "transform",
        "artifacts",
        "batch",
        "audit",
        "events",
    }
    assert load_settings(settings_with(systems='["events"]'), stack="primary").systems == {"events"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[]", "expected one or more of transform, artifacts, batch, audit, events"),
        ('["batch", "billing"]', "'billing' is not a system; the systems are transform, artifacts, batch"),
        ('["audit", "audit"]', "each system may appear once"),
        ("transform", "expected a list of strings"),
    ],
)
def test_a_bad_list_of_systems_fails_naming_the_key_and_the_problem(value: str, problem: str) -> None:
    with pytest.raises(
        ConfigError, match=re.escape(f"regionflow:systems = {value!r} is not allowed: {problem}")
    ):
        load_settings(settings_with(systems=value), stack="primary")
