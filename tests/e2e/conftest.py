"""One localcloud per test module: the real program (stack `local`) on the embedded AWS.

moto keeps its state per process, so a localcloud must stop before another emulator starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.core.cloud import LocalCloud

# Smaller than the stack's 10 MB so the oversize case stays quick; two receives before the DLQ and
# compressed visibility timeouts so a failing message reaches it in seconds.
E2E_MAX_UPLOAD_BYTES = 4 * 1024 * 1024
E2E_CONFIG = {
    "regionflow:transformMaxUploadBytes": str(E2E_MAX_UPLOAD_BYTES),
    "regionflow:transformMaxReceiveCount": "2",
    # Ten chunks for a 1,000-row file: the fan-out and the in-order merge are exercised, not one chunk.
    "regionflow:batchRecordsPerChunk": "100",
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud("local", config_overrides=E2E_CONFIG, time_scale=0.01) as running:
        yield running
