"""What tests/conftest.py sets for every test process: botocore's data files parsed and its event names
renamed once, whatever mock_aws does, and the collector at the emulator's thresholds."""

from __future__ import annotations

import gc

import boto3
from moto import mock_aws

from localcloud.core.emulator import GC_THRESHOLDS


def test_clients_of_two_mock_aws_blocks_share_one_loader_of_service_models() -> None:
    # GIVEN a client made in one mock_aws block (which clears boto3's default session)
    with mock_aws():
        first = boto3.client("dynamodb", region_name="eu-west-1")
    # WHEN another block makes a client of its own default session
    with mock_aws():
        second = boto3.client("dynamodb", region_name="eu-west-1")
    # THEN both use one loader, which holds the models it parsed the first time
    assert first._loader is second._loader  # type: ignore[attr-defined]


def test_clients_of_two_mock_aws_blocks_share_their_renamed_event_names() -> None:
    # GIVEN a client made and used in one mock_aws block
    with mock_aws():
        first = boto3.client("sqs", region_name="eu-west-1")
        first.list_queues()
    # WHEN another block makes a client of its own default session
    with mock_aws():
        second = boto3.client("sqs", region_name="eu-west-1")
    # THEN it starts with the names the first one's event system renamed, instead of renaming them again
    first_names = first.meta.events._alias_name_cache  # type: ignore[attr-defined]
    assert "before-call.sqs.ListQueues" in first_names
    assert second.meta.events._alias_name_cache is first_names  # type: ignore[attr-defined]


def test_the_test_process_collects_garbage_at_the_emulators_thresholds() -> None:
    # GIVEN a test process (which builds programs under mocks and runs moto, as the emulator's process does)
    # THEN its collector runs at the thresholds the emulator sets for itself
    assert gc.get_threshold() == GC_THRESHOLDS
