"""boto3 clients bound to the emulator: the one way localcloud builds them.

The emulator accepts any credentials, so every client signs with the same dummy pair; a client stands for
"a caller in this account", not for a role. `ClientFactory` is the (service, region) -> client callable
that provisioning, replication and the gateway take, so they run against any endpoint they are given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config

from localcloud.core import in_process

ClientFactory = Callable[[str, str], Any]

DUMMY_ACCESS_KEY_ID = "test"
DUMMY_SECRET_ACCESS_KEY = "test"  # noqa: S105 - the emulator accepts any credentials
DEFAULT_ACCOUNT_ID = "123456789012"  # the account moto answers with for these credentials
_RETRIES = Config(retries={"max_attempts": 2, "mode": "standard"})


def emulator_client(
    endpoint_url: str, service: str, region: str, credentials: Mapping[str, str] | None = None
) -> Any:
    """A new boto3 client for `service` in `region` talking to the emulator at `endpoint_url`, signing
    with the control plane's key or, given (as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    AWS_SESSION_TOKEN), a role session's credentials."""
    keys = {
        "aws_access_key_id": DUMMY_ACCESS_KEY_ID,
        "aws_secret_access_key": DUMMY_SECRET_ACCESS_KEY,
    }
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": credentials["AWS_SESSION_TOKEN"],
        }
    # boto3-stubs type boto3.client per literal service name; `service` is any str, so the result is Any
    new_client: Callable[..., Any] = boto3.client
    client = new_client(service, region_name=region, endpoint_url=endpoint_url, config=_RETRIES, **keys)
    # botocore makes a client's error classes on first use, unlocked: two threads meeting their first error
    # at once each made a set, and one's `except client.exceptions.X` missed the other's X (seen once, in a
    # 16-writer conditional-write race). Made now, before any thread shares the client (~2 ms).
    _ = client.exceptions
    return in_process.attach(client, endpoint_url)


def emulator_resource(endpoint_url: str, service: str, region: str) -> Any:
    """A boto3 service resource (e.g. DynamoDB's Table API) talking to the emulator."""
    # boto3-stubs type boto3.resource per literal service name, as boto3.client above
    new_resource: Callable[..., Any] = boto3.resource
    resource = new_resource(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )
    in_process.attach(resource.meta.client, endpoint_url)
    return resource


class SharedClients:
    """One client per (service, region), shared by every thread: boto3 clients are thread-safe and slow
    to build (~50-250 ms of model loading). A loop that keeps its own connections busy (a poller's long
    polls) takes its own client from `emulator_client` instead, so it does not crowd the shared pool."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = emulator_client(self.endpoint_url, service, region)
            return client
