"""The emulator's endpoint port: as asked, or a free one when that is taken and any will do; and moto's
NotImplemented answers logged as one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from localcloud.core.emulator import HOST, NotImplementedAsOneLine, PortInUseError, endpoint_socket


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another listener holds (as LocalStack holds 4566)."""
    holder = endpoint_socket(0)
    yield holder.getsockname()[1]
    holder.close()


def test_a_taken_port_gives_way_to_a_free_one_when_any_will_do(taken_port: int) -> None:
    # GIVEN the port up prefers is held by another process
    # WHEN the endpoint is bound with a free port allowed
    listener = endpoint_socket(taken_port, free_port_if_taken=True)
    try:
        # THEN it listens on another port of the loopback
        host, port = listener.getsockname()
        assert host == HOST
        assert port not in {0, taken_port}
    finally:
        listener.close()


def test_a_taken_port_that_was_asked_for_fails_naming_it(taken_port: int) -> None:
    # GIVEN `up --port N` with N held by another process
    # WHEN the endpoint is bound
    # THEN it fails with one line naming the port
    with pytest.raises(PortInUseError, match=f"port {taken_port} on {HOST} is not available"):
        endpoint_socket(taken_port, free_port_if_taken=False)


def test_a_free_port_asked_for_is_the_one_bound() -> None:
    # GIVEN a port that is free again
    listener = endpoint_socket(0)
    free = listener.getsockname()[1]
    listener.close()
    # WHEN it is asked for
    again = endpoint_socket(free)
    try:
        # THEN it is the endpoint's port
        assert again.getsockname()[1] == free
    finally:
        again.close()


def test_werkzeugs_traceback_for_moto_not_implemented_is_logged_as_one_line() -> None:
    # GIVEN the record werkzeug logs when moto raises NotImplementedError in a request
    record = logging.LogRecord(
        "werkzeug",
        logging.ERROR,
        __file__,
        1,
        "Error on request:\nTraceback (most recent call last):\n  ...\n"
        "NotImplementedError: The get_data_protection_policy action has not been implemented",
        (),
        None,
    )
    # WHEN the emulator's filter sees it
    kept = NotImplementedAsOneLine().filter(record)
    # THEN it is still logged, as one line
    assert kept
    (line,) = record.getMessage().splitlines()
    assert line.startswith("moto has not implemented GetDataProtectionPolicy: answered HTTP 500")
