"""IAM bites: remove one statement from a deployed role and exactly the flow that needs it fails, with
AccessDenied naming the role's session, the action and the resource; put it back and the flow works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from demos.transform import upload, wait_for_final_status
from demos.waiting import wait_until
from localcloud.core.cloud import LocalCloud
from samples.transform_documents import generate_orders_xml

pytestmark = pytest.mark.e2e
# This module removes a permission on purpose: its emulator's denials are the point (tests/e2e/conftest.py).
IAM_DENIALS_EXPECTED = True


def function_role(cloud: LocalCloud, name_part: str) -> str:
    functions = cloud.client("lambda").list_functions()["Functions"]
    [role_arn] = [function["Role"] for function in functions if name_part in function["FunctionName"]]
    return str(role_arn).rsplit("/", 1)[-1]


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


@contextmanager
def without_action(cloud: LocalCloud, role: str, action: str, resource_part: str) -> Iterator[None]:
    """The role's inline policy minus `action` on resources naming `resource_part`; restored afterwards."""
    iam = cloud.client("iam")
    [policy_name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    # boto3 hands the document over decoded; edit a copy so the original can be put back.
    document: dict[str, Any] = json.loads(original if isinstance(original, str) else json.dumps(original))
    removed = 0
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if action in actions and any(resource_part in resource for resource in resources):
            statement["Action"] = [kept for kept in actions if kept != action] or ["s3:GetBucketLocation"]
            removed += 1
    assert removed, f"{role} has no {action} on {resource_part}"
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    try:
        yield
    finally:
        restored = original if isinstance(original, str) else json.dumps(original)
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=restored)


def test_the_transform_worker_without_putobject_on_the_output_bucket_is_denied_there(
    cloud: LocalCloud,
) -> None:
    output_bucket = cloud.exports["transformOutputBucket"]
    role = function_role(cloud, "transform-worker")
    # GIVEN the transform worker's role without s3:PutObject on the output bucket
    with without_action(cloud, role, "s3:PutObject", output_bucket):
        # WHEN a document is uploaded
        accepted = upload(cloud, generate_orders_xml(20_000), rule="orders-v1", name="denied.xml")
        assert accepted.status == 202, accepted.body
        upload_id = accepted.json()["uploadId"]

        # THEN the worker's write of the output is denied, naming its session, the action and the object
        def output_denied() -> list[Any]:
            return [
                denial
                for denial in cloud.emulator.iam.denials
                if denial.action == "s3:PutObject"
                and denial.resource.startswith(f"arn:aws:s3:::{output_bucket}/")
            ]

        [denial, *_] = wait_until(output_denied, "the output write being denied", 60)
        assert f"assumed-role/{role}/" in denial.principal
        assert "AccessDenied" not in denial.reason  # the reason says why, the error code is separate
        assert "no identity-based policy allows the s3:PutObject action" in denial.reason
        # AND the upload never becomes done
        assert wait_for_final_status(cloud, upload_id)["status"] == "failed"
    # WHEN the statement is back THEN the same flow succeeds
    again = upload(cloud, generate_orders_xml(20_000), rule="orders-v1", name="allowed.xml")
    status = wait_for_final_status(cloud, again.json()["uploadId"])
    assert status["status"] == "done", status
