"""Cognito resources of a Pulumi program -> Cognito Identity Provider API calls on the emulator."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import MockResourceArgs

from localcloud.core.context import Created, ProvisioningContext, Registry
from localcloud.core.fields import FieldMap, Param, api_parameters, integer, pascal_case

_POOL_FIELDS: FieldMap = {
    "passwordPolicy": Param("Policies", lambda policy: {"PasswordPolicy": pascal_case(policy)}),
    "adminCreateUserConfig": Param("AdminCreateUserConfig", pascal_case),
    "accountRecoverySetting": Param("AccountRecoverySetting", pascal_case),
    "autoVerifiedAttributes": Param("AutoVerifiedAttributes", list),
    "usernameAttributes": Param("UsernameAttributes", list),
    "aliasAttributes": Param("AliasAttributes", list),
    "mfaConfiguration": "MfaConfiguration",
    "deletionProtection": "DeletionProtection",
    "tags": Param("UserPoolTags", dict),
}
_CLIENT_FIELDS: FieldMap = {
    "explicitAuthFlows": Param("ExplicitAuthFlows", list),
    "preventUserExistenceErrors": "PreventUserExistenceErrors",
    "accessTokenValidity": Param("AccessTokenValidity", integer),
    "idTokenValidity": Param("IdTokenValidity", integer),
    "refreshTokenValidity": Param("RefreshTokenValidity", integer),
    "tokenValidityUnits": Param("TokenValidityUnits", pascal_case),
    "enableTokenRevocation": Param("EnableTokenRevocation", bool),
    "callbackUrls": Param("CallbackURLs", list),
    "logoutUrls": Param("LogoutURLs", list),
    "allowedOauthFlows": Param("AllowedOAuthFlows", list),
    "allowedOauthScopes": Param("AllowedOAuthScopes", list),
    "supportedIdentityProviders": Param("SupportedIdentityProviders", list),
}


def create_user_pool(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=128)
    pool = ctx.client("cognito-idp", region).create_user_pool(
        PoolName=name, **api_parameters(inputs, _POOL_FIELDS)
    )["UserPool"]
    token_mfa = inputs.get("softwareTokenMfaConfiguration") or {}
    if inputs.get("mfaConfiguration") in ("ON", "OPTIONAL") and token_mfa.get("enabled"):
        ctx.client("cognito-idp", region).set_user_pool_mfa_config(
            UserPoolId=pool["Id"],
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=inputs["mfaConfiguration"],
        )
    return pool["Id"], {
        **inputs,
        "id": pool["Id"],
        "name": name,
        "arn": pool["Arn"],
        "endpoint": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}",
    }


def create_user_pool_client(
    ctx: ProvisioningContext, args: MockResourceArgs, inputs: dict[str, Any], region: str
) -> Created:
    name = ctx.name(args, inputs, max_length=128)
    client = ctx.client("cognito-idp", region).create_user_pool_client(
        UserPoolId=inputs["userPoolId"],
        ClientName=name,
        GenerateSecret=bool(inputs.get("generateSecret")),
        **api_parameters(inputs, _CLIENT_FIELDS),
    )["UserPoolClient"]
    return client["ClientId"], {
        **inputs,
        "id": client["ClientId"],
        "name": name,
        "clientSecret": client.get("ClientSecret", ""),
    }


CREATORS: Registry = {
    "aws:cognito/userPool:UserPool": create_user_pool,
    "aws:cognito/userPoolClient:UserPoolClient": create_user_pool_client,
}
