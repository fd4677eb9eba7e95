"""The LocalStack stack file lists exactly the endpoints the program uses (each one slows the provider)."""

from __future__ import annotations

import json

from tests.unit.components.conftest import BuiltStack

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
