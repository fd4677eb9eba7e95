"""The LocalStack stack file lists exactly the endpoints the program uses (each one slows the provider)."""

from __future__ import annotations

import json

import yaml

from localcloud.core.recording import BuiltStack
from localcloud.core.stack_files import PROJECT_DIR

# Resource types whose API lives under another service's endpoint key.
ENDPOINT_OF_TYPE_PREFIX = {"aws:cloudwatch/logGroup": "logs", "aws:lambda/": "lambda"}
PROVIDER_ENDPOINTS = {"sts"}  # the provider's own identity calls


def endpoint_for(typ: str) -> str:
    for prefix, endpoint in ENDPOINT_OF_TYPE_PREFIX.items():
        if typ.startswith(prefix):
            return endpoint
    return typ.split(":")[1].split("/", maxsplit=1)[0]


def test_local_stack_lists_only_the_endpoints_its_resources_use(local_stack: BuiltStack) -> None:
    [endpoints] = json.loads(local_stack.config["aws:endpoints"])
    used = {endpoint_for(r.typ) for r in local_stack.resources if r.typ.startswith("aws:")}
    assert set(endpoints) == used | PROVIDER_ENDPOINTS
    assert all(url == "http://localhost:4566" for url in endpoints.values())


def test_local_stack_uses_v7_provider_keys_for_localstack(local_stack: BuiltStack) -> None:
    for key in (
        "aws:s3UsePathStyle",
        "aws:skipCredentialsValidation",
        "aws:skipRequestingAccountId",
        "aws:skipMetadataApiCheck",
    ):
        assert local_stack.config[key] == "true", key
    assert "aws:s3ForcePathStyle" not in local_stack.config  # the v5 name, ignored by v7


COMPOSE_FILE = PROJECT_DIR / "compose.local.yaml"


def test_local_stacks_redis_is_reachable_from_lambda_containers_through_the_compose_network(
    local_stack: BuiltStack,
) -> None:
    # GIVEN the compose file README gives for `pulumi up -s local`
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    host, port = local_stack.config["regionflow:auditRedisEndpoint"].rsplit(":", 1)
    # THEN the Redis endpoint is not a loopback (inside a Lambda container that is the container itself)
    assert host not in {"localhost", "127.0.0.1", "::1"}
    # AND it names a compose service that every emulator's Lambda containers can reach: the emulators put
    # their Lambda containers on the network the Redis service is on
    assert host in services and port == "6379"
    redis_networks = set(services[host]["networks"])
    emulators = [name for name in ("localstack", "floci") if name in services]
    assert emulators == ["localstack", "floci"]
    for name in emulators:
        assert services[name]["environment"]["LAMBDA_DOCKER_NETWORK"] in redis_networks, name
        assert "127.0.0.1:4566:4566" in services[name]["ports"], name
        assert set(services[name]["profiles"]) <= set(services[host]["profiles"]), name
    # AND every image is pinned (LocalStack's `latest` needs an auth token since 2026-03-23)
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
    assert services["localstack"]["image"] == "localstack/localstack:4.14.0"
