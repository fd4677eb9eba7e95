"""The emulator routes requests without per-request work that never changes."""

from __future__ import annotations

import os

import pytest

from tests.unit.localcloud.conftest import REGION


def test_requests_are_routed_without_listing_motos_package(emulator, monkeypatch) -> None:
    # GIVEN a running emulator that has answered each service once (botocore loads a service's model on
    # first use), and a file system that may no longer be listed
    sqs, dynamodb = emulator.client("sqs", REGION), emulator.client("dynamodb", REGION)
    sqs.list_queues()
    dynamodb.list_tables()

    def no_listing(path: str = ".") -> list[str]:
        raise AssertionError(f"listed {path} while routing a request")

    monkeypatch.setattr(os, "listdir", no_listing)
    # WHEN more requests reach them
    sqs.list_queues()
    dynamodb.list_tables()
    # THEN they were answered (moto lists its package on every request unless told not to)
    with pytest.raises(AssertionError, match="listed"):
        os.listdir(".")
