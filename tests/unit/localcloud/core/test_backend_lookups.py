"""moto's backend lookups skip its process-wide lock only where moto would do nothing under it."""

from __future__ import annotations

import threading

import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict, backend_lock
from moto.s3.models import s3_backends

from localcloud.core import backend_lookups
from tests.unit.localcloud.conftest import REGION

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def lookups_patched() -> None:
    backend_lookups.apply()


def test_a_request_reaches_an_existing_accounts_backend_while_motos_global_lock_is_held(emulator) -> None:
    # GIVEN a running emulator whose DynamoDB backend for the account exists, and another thread holding
    # moto's process-wide backend lock (as one creating some other account's backend does). Two requests
    # first: moto creates an account's IAM partitions on the second (it resolves the account by access key)
    dynamodb = emulator.client("dynamodb", REGION)
    dynamodb.list_tables()
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


def test_a_mocked_accounts_state_does_not_outlive_its_mock() -> None:
    # GIVEN a bucket created under one mock_aws, its account's backend looked up twice (the second time
    # without the lock)
    with mock_aws():
        s3_backends[ACCOUNT]["global"].create_bucket("left-behind", "us-east-1")
        assert "left-behind" in s3_backends[ACCOUNT]["global"].buckets
    # WHEN another mock_aws starts
    with mock_aws():
        # THEN it starts empty, as moto's reset() left it
        assert s3_backends[ACCOUNT]["global"].buckets == {}


def test_a_lookup_after_reset_registers_the_dict_again_so_the_next_reset_clears_it() -> None:
    # GIVEN the S3 backend dict looked up (and so registered for reset) and then reset
    s3_backends[ACCOUNT]["global"].create_bucket("before-reset", "us-east-1")
    BackendDict.reset()
    assert s3_backends not in BackendDict._instances  # type: ignore[misc]
    # WHEN it is looked up again and the account's state grows
    s3_backends[ACCOUNT]["global"].create_bucket("after-reset", "us-east-1")
    # THEN the dict is registered again, and the next reset() clears what was added
    assert s3_backends in BackendDict._instances  # type: ignore[misc]
    BackendDict.reset()
    assert ACCOUNT not in dict.keys(s3_backends)
