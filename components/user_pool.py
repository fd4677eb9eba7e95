"""People sign in here: a Cognito user pool and an app client whose tokens a JWT route accepts.

Secure defaults: only administrators create users (no self sign-up), strong passwords, optional TOTP MFA,
no client secret (a browser page cannot keep one). Sign-in: USER_PASSWORD_AUTH, which the upload page uses
(the password goes to Cognito alone, over TLS), SRP for clients that implement it, and, for trusted back
ends holding IAM credentials, ADMIN_USER_PASSWORD_AUTH.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.http_api import JwtIssuer
from components.web_acl import WebAcl

TOKEN_VALIDITY_MINUTES = 60
REFRESH_TOKEN_VALIDITY_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class UserPoolArgs:
    region: str
    purpose: str  # e.g. "transform uploads": the pool's description in the console
    web_acl: WebAcl | None = None  # AWS WAF in front of sign-in


class UserPool(pulumi.ComponentResource):
    pool_id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    issuer: JwtIssuer  # what a JWT authorizer checks: this pool's issuer and this client

    def __init__(self, name: str, args: UserPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:auth:UserPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.UserPool(
            f"{name}-users",
            region=args.region,
            admin_create_user_config={"allow_admin_create_user_only": True},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": 3,
            },
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration={"enabled": True},
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}],
            },
            auto_verified_attributes=["email"],
            tags={"purpose": args.purpose},
            opts=child,
        )
        client = aws.cognito.UserPoolClient(
            f"{name}-client",
            region=args.region,
            user_pool_id=pool.id,
            generate_secret=False,
            explicit_auth_flows=[
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            prevent_user_existence_errors="ENABLED",
            access_token_validity=TOKEN_VALIDITY_MINUTES,
            id_token_validity=TOKEN_VALIDITY_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY_DAYS,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
            enable_token_revocation=True,
            opts=child,
        )
        if args.web_acl is not None:
            args.web_acl.protect(f"{name}-waf", pool.arn, self)
        self.pool_id = pool.id
        self.client_id = client.id
        self.issuer = JwtIssuer(
            issuer=pulumi.Output.concat("https://cognito-idp.", args.region, ".amazonaws.com/", pool.id),
            audiences=[client.id],
        )
        self.register_outputs({"pool_id": self.pool_id, "client_id": self.client_id})
