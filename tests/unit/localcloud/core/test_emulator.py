"""The emulator routes requests without per-request work that never changes."""

from __future__ import annotations

import os
import threading

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


def test_a_request_reaches_an_existing_accounts_backend_while_motos_global_lock_is_held(emulator) -> None:
    # GIVEN a running emulator whose DynamoDB backend for the account exists, and another thread holding
    # moto's process-wide backend lock (as one creating some other account's backend does)
    from moto.core.base_backend import backend_lock  # noqa: PLC0415 - moto is slow to import

    dynamodb = emulator.client("dynamodb", REGION)
    dynamodb.list_tables()
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with backend_lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold_the_lock, daemon=True)
    holder.start()
    held.wait()
    answered: list[dict[str, object]] = []
    try:
        # WHEN a request needs that backend
        caller = threading.Thread(target=lambda: answered.append(dynamodb.list_tables()), daemon=True)
        caller.start()
        # THEN it is answered while the lock is still held (moto alone would queue it behind the lock;
        # the join's bound only keeps a regression from hanging the suite)
        caller.join(timeout=30)
        assert answered and "TableNames" in answered[0]
        assert holder.is_alive()
    finally:
        release.set()
        holder.join()
