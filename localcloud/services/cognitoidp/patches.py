"""Cognito as AWS behaves where moto does not: an app client signs users in only with the auth flows its
ExplicitAuthFlows allow (moto accepts any flow with any client). Without the setting, AWS allows
ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH and ALLOW_CUSTOM_AUTH; the legacy names (ADMIN_NO_SRP_AUTH,
USER_PASSWORD_AUTH...) count as their ALLOW_ forms. Refused: InvalidParameterException "Auth flow not
enabled for this client", as AWS answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localcloud.core.moto_version import applied_once

DEFAULT_FLOWS = frozenset({"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH"})
# The client setting each requested flow needs (refresh flows by either name).
_NEEDED = {
    "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
    "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
}
_LEGACY = {
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
}


def allowed_flows(explicit_auth_flows: Iterable[str] | None) -> frozenset[str]:
    """The ALLOW_ settings a client's ExplicitAuthFlows amount to."""
    flows = list(explicit_auth_flows or [])
    if not flows:
        return DEFAULT_FLOWS
    return frozenset(_LEGACY.get(flow, flow) for flow in flows)


def flow_enabled(auth_flow: str, explicit_auth_flows: Iterable[str] | None) -> bool:
    return _NEEDED.get(auth_flow, f"ALLOW_{auth_flow}") in allowed_flows(explicit_auth_flows)


@applied_once
def apply() -> None:
    """Idempotent: InitiateAuth and AdminInitiateAuth check the client's allowed flows first."""
    from moto.cognitoidp.exceptions import InvalidParameterException  # noqa: PLC0415
    from moto.cognitoidp.models import CognitoIdpBackend  # noqa: PLC0415

    admin_initiate_auth = CognitoIdpBackend.admin_initiate_auth
    initiate_auth = CognitoIdpBackend.initiate_auth

    def check(client: Any, auth_flow: str) -> None:
        if client is not None and not flow_enabled(
            auth_flow, client.extended_config.get("ExplicitAuthFlows")
        ):
            raise InvalidParameterException("Auth flow not enabled for this client")

    def checked_admin_initiate_auth(
        self: Any, user_pool_id: str, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        pool = self.user_pools.get(user_pool_id)
        check(pool.clients.get(client_id) if pool is not None else None, auth_flow)
        return admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters)

    def checked_initiate_auth(
        self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        client = next(
            (p.clients[client_id] for p in self.user_pools.values() if client_id in p.clients), None
        )
        check(client, auth_flow)
        return initiate_auth(self, client_id, auth_flow, auth_parameters)

    CognitoIdpBackend.admin_initiate_auth = checked_admin_initiate_auth  # type: ignore[method-assign]
    CognitoIdpBackend.initiate_auth = checked_initiate_auth  # type: ignore[method-assign]
