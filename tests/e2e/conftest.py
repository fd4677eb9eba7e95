"""One localcloud per test module: the real program (stack `local`, or the module's own) on the embedded AWS.

moto keeps its state per process, so a localcloud must stop before another emulator starts.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from localcloud.core.cloud import LocalCloud
from tests.e2e.browser import chrome, save_artifacts
from tests.e2e.iam_decisions import IAM_DECISIONS

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


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebDriver]:
    """A headless chromium (downloads in tmp_path/downloads); a failed test keeps a screenshot."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chrome(downloads) as driver:
        yield driver
        report = getattr(request.node, "call_report", None)
        if report is not None and report.failed:
            kept = save_artifacts(driver, request.node.nodeid)
            report.sections.append(("browser artifacts", "\n".join(str(path) for path in kept)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    # The `browser` fixture reads the call phase's outcome at teardown to keep a failing page's screenshot.
    report = yield
    if call.when == "call":
        item.call_report = report  # type: ignore[attr-defined]
    return report
