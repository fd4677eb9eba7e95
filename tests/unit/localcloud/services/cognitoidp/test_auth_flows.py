"""A user pool's app client signs users in only with the auth flows it allows, as Cognito does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.core.emulator import Emulator
from tests.unit.localcloud.conftest import REGION

PASSWORD = "Correct-Horse-9-Battery"


def pool_with_user(emulator: Emulator) -> tuple[Any, str]:
    cognito = emulator.client("cognito-idp", REGION)
    pool_id = cognito.create_user_pool(PoolName="flows")["UserPool"]["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ana", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="ana", Password=PASSWORD, Permanent=True)
    return cognito, pool_id


def admin_sign_in(cognito: Any, pool_id: str, client_id: str) -> dict[str, Any]:
    result: dict[str, Any] = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": PASSWORD},
    )
    return result


@pytest.mark.parametrize(
    "flows",
    [["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], []],
    ids=["srp-only", "defaults"],
)
def test_a_flow_the_client_does_not_allow_is_refused(emulator: Emulator, flows: list[str]) -> None:
    cognito, pool_id = pool_with_user(emulator)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="page", ExplicitAuthFlows=flows
    )["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError, match="Auth flow not enabled for this client") as refused:
        admin_sign_in(cognito, pool_id, client_id)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Auth flow not enabled for this client" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "flow", ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"], ids=["allow", "legacy"]
)
def test_a_flow_the_client_allows_signs_the_user_in(emulator: Emulator, flow: str) -> None:
    cognito, pool_id = pool_with_user(emulator)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="backend", ExplicitAuthFlows=[flow, "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    assert admin_sign_in(cognito, pool_id, client_id)["AuthenticationResult"]["IdToken"]
