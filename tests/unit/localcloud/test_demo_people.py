"""`up` gives each user pool a person to sign in with, whose printed password works, fresh each run."""

from __future__ import annotations

from localcloud.core.emulator import Emulator
from localcloud.services.cognitoidp.demo_people import DEMO_USERNAME, demo_people
from tests.unit.localcloud.conftest import REGION


def sign_in(emulator: Emulator, pool_id: str, password: str) -> str:
    cognito = emulator.client("cognito-idp", REGION)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="check", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": DEMO_USERNAME, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


def test_each_user_pool_gets_a_person_whose_printed_password_signs_in(emulator: Emulator) -> None:
    # GIVEN two user pools the deployment created
    cognito = emulator.client("cognito-idp", REGION)
    pool_ids = {cognito.create_user_pool(PoolName=name)["UserPool"]["Id"] for name in ("people", "staff")}
    # WHEN `up` makes its demo people
    people = demo_people(cognito, REGION)
    # THEN there is one per pool, and the password each line prints signs in (no new-password challenge)
    assert {person.pool_id for person in people} >= pool_ids
    for person in people:
        if person.pool_id in pool_ids:
            assert person.password in person.line() and person.pool_id in person.line()
            assert sign_in(emulator, person.pool_id, person.password)


def test_another_run_makes_a_new_password_for_the_same_person(emulator: Emulator) -> None:
    cognito = emulator.client("cognito-idp", REGION)
    pool_id = cognito.create_user_pool(PoolName="again")["UserPool"]["Id"]
    [first] = [person for person in demo_people(cognito, REGION) if person.pool_id == pool_id]
    [second] = [person for person in demo_people(cognito, REGION) if person.pool_id == pool_id]
    assert first.password != second.password
    assert sign_in(emulator, pool_id, second.password)
