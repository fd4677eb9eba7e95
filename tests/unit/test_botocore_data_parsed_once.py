"""The test process parses botocore's data files once (tests/conftest.py), whatever mock_aws does."""

from __future__ import annotations

import boto3
from moto import mock_aws


def test_clients_of_two_mock_aws_blocks_share_one_loader_of_service_models() -> None:
    # GIVEN a client made in one mock_aws block (which clears boto3's default session)
    with mock_aws():
        first = boto3.client("dynamodb", region_name="eu-west-1")
    # WHEN another block makes a client of its own default session
    with mock_aws():
        second = boto3.client("dynamodb", region_name="eu-west-1")
    # THEN both use one loader, which holds the models it parsed the first time
    assert first._loader is second._loader  # type: ignore[attr-defined]
