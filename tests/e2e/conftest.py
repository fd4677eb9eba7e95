"""One localcloud per test module: the real program (stack `local`, or the module's own) on the embedded AWS.

moto keeps its state per process, so a localcloud must stop before another emulator starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest

from localcloud.core.cloud import LocalCloud

# Every IAM decision the e2e run's emulators made, by outcome (reported at the end of the run).
IAM_DECISIONS: Counter[str] = Counter()

# Smaller than the stack's 10 MB so the oversize case stays quick; two receives before the DLQ and
# compressed visibility timeouts so a failing message reaches it in seconds.
E2E_MAX_UPLOAD_BYTES = 4 * 1024 * 1024
E2E_CONFIG = {
    "regionflow:transformMaxUploadBytes": str(E2E_MAX_UPLOAD_BYTES),
    "regionflow:transformMaxReceiveCount": "2",
    # Ten chunks for a 1,000-row file: the fan-out and the in-order merge are exercised, not one chunk.
    "regionflow:batchRecordsPerChunk": "100",
}


@contextmanager
def running_cloud(
    request: pytest.FixtureRequest, stack: str = "local", config: Mapping[str, str] = E2E_CONFIG
) -> Iterator[LocalCloud]:
    """A localcloud of `stack` for one module, whose IAM decisions the run reports."""
    with LocalCloud(stack, config_overrides=dict(config), time_scale=0.01) as running:
        yield running
        iam = running.emulator.iam
        IAM_DECISIONS.update(iam.decisions)
        # The happy paths and the failure scenarios alike run with no denial: a denial is a missing
        # permission in the program (or a gap in localcloud), never an expected outcome here.
        if not getattr(request.module, "IAM_DENIALS_EXPECTED", False):
            assert not iam.denials, "IAM denied:\n" + "\n".join(denial.message() for denial in iam.denials)


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    with running_cloud(request) as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if IAM_DECISIONS:
        counts = ", ".join(f"{outcome} {count:,}" for outcome, count in sorted(IAM_DECISIONS.items()))
        terminalreporter.write_line(f"IAM decisions in the e2e run: {counts}")
