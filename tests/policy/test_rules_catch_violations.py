"""Every rule test can fail: the primary stack with every option on, changed to break one rule, gives that
rule a finding no exception excuses."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from localcloud.core.recording import BuiltStack, RecordedResource
from tests.policy import rules
from tests.policy.conftest import policy_stack
from tests.policy.exceptions import unexcused

Violation = Callable[[BuiltStack], BuiltStack]


def changed(typ: str, change: Callable[[dict[str, Any]], None]) -> Violation:
    """Every resource of `typ` with `change` applied to a copy of its inputs."""

    def violate(stack: BuiltStack) -> BuiltStack:
        def changed_copy(resource: RecordedResource) -> RecordedResource:
            inputs = copy.deepcopy(resource.inputs)
            change(inputs)
            return replace(resource, inputs=inputs)

        return replace(
            stack,
            resources=[
                changed_copy(resource) if resource.typ == typ else resource for resource in stack.resources
            ],
        )

    return violate


def dropped(typ: str) -> Violation:
    """Every resource of `typ` gone."""
    return lambda stack: replace(
        stack, resources=[resource for resource in stack.resources if resource.typ != typ]
    )


def added_like(typ: str, logical_name: str, new_name: str) -> Violation:
    """One more resource, a copy of `typ` `logical_name` under `new_name` (its names and ARNs renamed)."""

    def violate(stack: BuiltStack) -> BuiltStack:
        [original] = [resource for resource in stack.resources_of(typ) if resource.name == logical_name]
        renamed = json.loads(json.dumps(original.outputs).replace(logical_name, new_name))
        copy = replace(original, name=new_name, outputs=renamed)
        return replace(stack, resources=[*stack.resources, copy])

    return violate


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.__setitem__(key, value)


def drop_key(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.pop(key, None)


def trust_without_conditions(inputs: dict[str, Any]) -> None:
    document = json.loads(inputs["assumeRolePolicy"])
    for statement in document["Statement"]:
        statement.pop("Condition", None)
    inputs["assumeRolePolicy"] = json.dumps(document)


VIOLATIONS: dict[str, Violation] = {
    "APIG1": changed(rules.HTTP_STAGE, drop_key("accessLogSettings")),
    "APIG3": dropped(rules.WEB_ACL_ASSOCIATION),
    "APIG4": changed(rules.HTTP_ROUTE, set_key("authorizationType", "NONE")),
    "SQS3": changed(rules.QUEUE, drop_key("redrivePolicy")),
    "SQS4": dropped(rules.QUEUE_POLICY),
    "SNS3": dropped(rules.TOPIC_POLICY),
    "S1": added_like(rules.BUCKET, "transform-input-bucket", "reports-bucket"),
    "S10": dropped(rules.BUCKET_POLICY),
    "DDB3": changed(rules.TABLE, set_key("pointInTimeRecovery", {"enabled": False})),
    "SF1": changed(rules.STATE_MACHINE, lambda inputs: inputs["loggingConfiguration"].update(level="ERROR")),
    "SF2": changed(rules.STATE_MACHINE, set_key("tracingConfiguration", {"enabled": False})),
    "L1": changed(rules.FUNCTION, set_key("runtime", "python3.12")),
    "IAM4": changed(
        rules.ROLE, set_key("managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"])
    ),
    "IAM5": changed(
        rules.ROLE_POLICY,
        set_key(
            "policy", json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        ),
    ),
    "SMG4": added_like(rules.SECRET, "audit-redis-auth", "reports-api-key"),
    "AEC1": changed(rules.REPLICATION_GROUP, drop_key("subnetGroupName")),
    "AEC3": changed(rules.REPLICATION_GROUP, set_key("transitEncryptionEnabled", False)),
    "AEC4": changed(rules.REPLICATION_GROUP, set_key("multiAzEnabled", False)),
    "AEC5": added_like(rules.REPLICATION_GROUP, "audit-redis", "reports-redis"),
    "AEC6": changed(rules.REPLICATION_GROUP, drop_key("authToken")),
    "SourceAccount": changed(rules.PERMISSION, drop_key("sourceAccount")),
    "TrustSourceAccount": changed(rules.ROLE, trust_without_conditions),
}


def test_every_rule_has_a_violation() -> None:
    assert set(VIOLATIONS) == set(rules.RULES)


@pytest.mark.parametrize("rule_id", sorted(VIOLATIONS))
def test_a_stack_that_breaks_the_rule_fails_it(rule_id: str) -> None:
    # GIVEN the primary stack with every option on, which passes the rule (exceptions aside)
    stack = policy_stack("primary+options")
    check = rules.RULES[rule_id]
    assert unexcused(rule_id, stack.label, check(stack.built).offenders) == []
    # WHEN it is changed to break the rule
    broken = VIOLATIONS[rule_id](stack.built)
    # THEN the rule reports a finding that no exception excuses
    assert unexcused(rule_id, stack.label, check(broken).offenders)
