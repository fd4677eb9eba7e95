"""Stopping the emulator ends the connections its server keeps open (an emulator of its own per test)."""

from __future__ import annotations

import threading
from http.client import HTTPConnection

from localcloud.core.emulator import HOST, Emulator
from tests.unit.localcloud.core.test_moto_dispatch import LIST_QUEUES, signed_headers


def test_stopping_the_emulator_ends_idle_kept_connections() -> None:
    # GIVEN an emulator of its own with a kept connection waiting for its next request (it would wait
    # up to IDLE_CONNECTION_SECONDS = 120 s)
    emulator = Emulator()
    emulator.start()
    client = HTTPConnection(HOST, emulator.port, timeout=30)
    client.request("POST", "/", body=LIST_QUEUES, headers=signed_headers(emulator.port, LIST_QUEUES))
    client.getresponse().read()
    # WHEN the emulator stops
    stopper = threading.Thread(target=emulator.stop)
    stopper.start()
    stopper.join(timeout=20)
    stopped = not stopper.is_alive()
    stopper.join()
    # THEN it stopped without waiting out the idle connection, which the server has closed
    assert stopped
    assert client.sock is not None
    assert client.sock.recv(1) == b""
    client.close()
