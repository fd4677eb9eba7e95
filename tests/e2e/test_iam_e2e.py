"""IAM bites: remove one statement from a deployed role and exactly the flow that needs it fails, with
AccessDenied naming the role's session, the action and the resource; put it back and the flow works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from demos.doors import Door, System, call, caller, every_door, refused_anonymously
from demos.transform import upload, wait_for_final_status
from demos.waiting import wait_until
from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import request
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


# ------------------------------------------------------------------------------------------ the doors
DOOR_COUNT = 10  # builds, audit, upload, upload URL, status, rules, events and financials in both regions


def function_behind(cloud: LocalCloud, door: Door) -> str:
    """The function a door's accepted request would run: the URL's own, or (POST /builds) the build
    worker its queue triggers."""
    if "/lambda-url/" in door.url:
        return door.url.split("/lambda-url/", 1)[1].split("/")[1]
    [name] = [
        function["FunctionName"]
        for function in cloud.client("lambda", door.region).list_functions()["Functions"]
        if "build-worker" in function["FunctionName"]
    ]
    return str(name)


def invocations(cloud: LocalCloud, door: Door) -> int:
    """How many times the function behind the door has run (localcloud logs each run to a stream)."""
    logs = cloud.client("logs", door.region)
    group = f"/aws/lambda/{function_behind(cloud, door)}"
    try:
        return len(logs.describe_log_streams(logGroupName=group)["logStreams"])
    except logs.exceptions.ResourceNotFoundException:
        return 0


def test_the_local_stack_has_every_door_and_each_is_iam_authorized(cloud: LocalCloud) -> None:
    doors = every_door(cloud)
    assert len(doors) == DOOR_COUNT
    # THEN every function URL among them takes SigV4 only (moto has no ListFunctionUrlConfigs)
    url_auth = {}
    for door in doors:
        if "/lambda-url/" in door.url:
            lambda_ = cloud.client("lambda", door.region)
            url_auth[door.url] = lambda_.get_function_url_config(FunctionName=function_behind(cloud, door))[
                "AuthType"
            ]
    assert len(url_auth) == DOOR_COUNT - 1 and set(url_auth.values()) == {"AWS_IAM"}


@pytest.mark.parametrize("index", range(DOOR_COUNT))
def test_no_door_answers_an_anonymous_a_forged_or_another_systems_request(
    cloud: LocalCloud, index: int
) -> None:
    door = every_door(cloud)[index]
    stranger: System = "batch" if door.system != "batch" else "events"
    cloud.wait_idle()
    before = invocations(cloud, door)
    # WHEN the door is called with no credentials THEN it answers 403 with a message
    anonymous = refused_anonymously(door)
    assert anonymous.status == 403, (door.name, anonymous.body)
    assert anonymous.json().get("message") or anonymous.json().get("Message")
    # AND so it does for a signature made for another body, and for another system's caller
    signed_for_other_body = caller(cloud, door.system).headers(
        door.method, door.url, b'{"other": 1}', {}, region=door.region
    )
    forged = request(door.method, door.url, body=door.body or b"{}", headers=signed_for_other_body)
    assert forged.status == 403, (door.name, forged.body)
    wrong_caller = call(cloud, stranger, door.method, door.url, body=door.body, region=door.region)
    assert wrong_caller.status == 403, (door.name, wrong_caller.body)
    # AND nothing ran behind it: no invocation, no queued build
    cloud.wait_idle()
    assert invocations(cloud, door) == before, door.name


def test_each_systems_caller_passes_its_own_door(cloud: LocalCloud) -> None:
    # The request may still be refused by the handler (these bodies are samples), never by the door.
    answers = {
        door.name: call(cloud, door.system, door.method, door.url, body=door.body, region=door.region).status
        for door in every_door(cloud)
    }
    assert not {name: status for name, status in answers.items() if status in (401, 403)}, answers
