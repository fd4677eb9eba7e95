"""A service acts as a role only when the role's trust policy names that service, as STS decides on AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.core.clients import emulator_client
from localcloud.core.emulator import Emulator
from localcloud.services.iam.role_sessions import RoleNotAssumableError, RoleSessions, trusts_service
from tests.unit.localcloud.conftest import ACCOUNT_ID, REGION, role_with

ASSUME_STATES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture
def sessions(emulator: Emulator) -> RoleSessions:
    return RoleSessions(emulator.client, REGION)


def test_a_service_the_trust_policy_names_gets_a_session_that_signs_as_the_role(
    emulator: Emulator, sessions: RoleSessions
) -> None:
    # GIVEN a role that trusts Step Functions
    role_arn = role_with(emulator, [], trust=ASSUME_STATES)

    # WHEN Step Functions assumes it
    credentials = sessions.credentials(role_arn, "states.amazonaws.com", "execution-1")

    # THEN the session is the role's: STS says so for these credentials
    identity = emulator_client_with(emulator, credentials).get_caller_identity()
    role_name = role_arn.rsplit("/", 1)[-1]
    assert identity["Arn"].endswith(f":assumed-role/{role_name}/execution-1")


def test_a_service_the_trust_policy_does_not_name_is_refused(
    emulator: Emulator, sessions: RoleSessions
) -> None:
    # GIVEN a role that trusts Step Functions only
    role_arn = role_with(emulator, [], trust=ASSUME_STATES)

    # WHEN Lambda tries to assume it THEN it is refused, and the refusal names the role and the service
    with pytest.raises(RoleNotAssumableError, match=r"lambda\.amazonaws\.com cannot assume the role .*"):
        sessions.credentials(role_arn, "lambda.amazonaws.com", "fn")


def test_a_role_that_does_not_exist_is_not_assumable(sessions: RoleSessions) -> None:
    missing = "arn:aws:iam::123456789012:role/no-such-role"
    with pytest.raises(RoleNotAssumableError, match="no-such-role"):
        sessions.credentials(missing, "states.amazonaws.com", "execution-1")


def test_a_session_is_assumed_once_and_reused(emulator: Emulator, sessions: RoleSessions) -> None:
    role_arn = role_with(emulator, [], trust=ASSUME_STATES)
    first = sessions.credentials(role_arn, "states.amazonaws.com", "execution-1")
    assert sessions.credentials(role_arn, "states.amazonaws.com", "execution-1") is first
    assert sessions.credentials(role_arn, "states.amazonaws.com", "execution-2") != first


def emulator_client_with(emulator: Emulator, credentials: dict[str, str]) -> Any:
    return emulator_client(emulator.endpoint_url, "sts", REGION, credentials)


def trust(service: str, source_account: str | None) -> str:
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/machine"


def test_step_functions_acting_for_the_roles_account_meets_a_source_account_condition() -> None:
    assert trusts_service(trust("states.amazonaws.com", ACCOUNT_ID), ROLE, "states.amazonaws.com")


def test_a_source_account_condition_naming_another_account_refuses_the_service() -> None:
    assert not trusts_service(trust("states.amazonaws.com", "999999999999"), ROLE, "states.amazonaws.com")


def test_a_service_that_sends_no_source_account_is_locked_out_by_a_condition_on_it() -> None:
    # Lambda documents no aws:SourceAccount when it assumes an execution role: the key is absent, as on AWS.
    assert trusts_service(trust("lambda.amazonaws.com", None), ROLE, "lambda.amazonaws.com")
    assert not trusts_service(trust("lambda.amazonaws.com", ACCOUNT_ID), ROLE, "lambda.amazonaws.com")
