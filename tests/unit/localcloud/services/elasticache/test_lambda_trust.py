"""A deployed function reaches a TLS group as on AWS: the runtime's trust store holds the CA its endpoint
chains to, so redis-py's default verification (certificate required, host name checked) passes."""

from __future__ import annotations

import io
import json
import ssl
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from localcloud.core.emulator import Emulator
from localcloud.services.elasticache.certificates import local_certificate_authority
from localcloud.services.elasticache.redis_server import RedisServer
from localcloud.services.lambda_.execution_environment import system_ca_bundle, trust_store
from tests.unit.localcloud.conftest import REGION, Deployed

TOKEN = "Function-AUTH-token-0123456789"
# The audit handlers' connection (handlers/audit/redis_store.py `connect`): TLS with redis-py's defaults.
HANDLER = """
import os
import redis

def handler(event, context):
    client = redis.Redis(
        host=os.environ["REDIS_HOST"],
        port=int(os.environ["REDIS_PORT"]),
        password=os.environ["REDIS_TOKEN"],
        ssl=True,
        socket_timeout=2,
        socket_connect_timeout=2,
    )
    try:
        client.set("written-by", context.function_name)
    except redis.ConnectionError as error:
        return {"error": str(error)}
    return {"written": True}
"""


@pytest.fixture(scope="module")
def redis_layer(emulator: Emulator) -> str:
    """A layer with the redis-py the test runs (the handlers' pinned one), as the functions ship it."""
    package = Path(redis.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for source in package.rglob("*.py"):
            archive.write(source, f"python/redis/{source.relative_to(package)}")
    layer = emulator.client("lambda", REGION).publish_layer_version(
        LayerName=f"redis-{uuid.uuid4().hex[:8]}",
        Content={"ZipFile": buffer.getvalue()},
        CompatibleRuntimes=["python3.13"],
    )
    return str(layer["LayerVersionArn"])


@pytest.fixture
def tls_group() -> Iterator[RedisServer]:
    with RedisServer(password=TOKEN, tls=True) as server:
        yield server


def invoke(emulator: Emulator, function: Deployed) -> dict[str, Any]:
    response = emulator.client("lambda", REGION).invoke(FunctionName=function.name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_function_connecting_with_tls_verifies_the_endpoint_with_the_runtimes_trust_store(
    emulator: Emulator, deploy: Callable[..., Deployed], redis_layer: str, tls_group: RedisServer
) -> None:
    # GIVEN a function connecting to a TLS group as the audit handlers do, given no CA of its own
    function = deploy(
        HANDLER,
        timeout=10,
        Layers=[redis_layer],
        env={"REDIS_HOST": tls_group.host, "REDIS_PORT": str(tls_group.port), "REDIS_TOKEN": TOKEN},
    )
    # WHEN it is invoked THEN its write went through the verified TLS connection
    assert invoke(emulator, function) == {"written": True}
    with redis.Redis(**tls_group.connection_options()) as owner:
        assert owner.get("written-by") == function.name.encode()


def test_function_defining_its_own_trust_store_keeps_it_and_verification_stays_on(
    emulator: Emulator, deploy: Callable[..., Deployed], redis_layer: str, tls_group: RedisServer
) -> None:
    # GIVEN a function whose own SSL_CERT_FILE is this machine's bundle alone, without localcloud's CA
    system_bundle = system_ca_bundle()
    assert system_bundle is not None
    function = deploy(
        HANDLER,
        timeout=10,
        Layers=[redis_layer],
        env={
            "REDIS_HOST": tls_group.host,
            "REDIS_PORT": str(tls_group.port),
            "REDIS_TOKEN": TOKEN,
            "SSL_CERT_FILE": str(system_bundle),
        },
    )
    # WHEN it is invoked THEN its variable won, so the endpoint's certificate is not trusted
    result = invoke(emulator, function)
    assert "CERTIFICATE_VERIFY_FAILED" in result["error"]


def test_trust_store_is_the_machines_bundle_and_the_local_ca(tmp_path: Path) -> None:
    # GIVEN this machine's CA bundle and localcloud's CA
    system_bundle = system_ca_bundle()
    assert system_bundle is not None
    authority = local_certificate_authority()
    # WHEN the runtime's trust store is written
    store = trust_store([authority.certificate_file], tmp_path / "store.pem")
    # THEN a client loading it trusts every system CA and the local one
    loaded = ssl.create_default_context(cafile=store).get_ca_certs(binary_form=True)
    system = ssl.create_default_context(cafile=system_bundle).get_ca_certs(binary_form=True)
    local = ssl.PEM_cert_to_DER_cert(authority.certificate_pem.decode())
    assert set(loaded) == {*system, local}
