"""The e2e tests' localclouds: the real program (stack `local`, or a module's own) on the embedded AWS.

Modules on the default configuration share one deployment per test process (`shared_stack`); a module
with a configuration of its own deploys it for itself. moto keeps its state per process, so the shared
one stops as soon as the next test is another module's, and is deployed again when next needed. Each
sharing module leaves the stack idle and as it found it; its IAM denials are its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from localcloud.core.cloud import LocalCloud
from localcloud.services.iam.enforcement import IamEnforcement
from tests.e2e.browser import chrome, save_artifacts
from tests.e2e.iam_decisions import IAM_DECISIONS

# Two receives before the DLQ and compressed visibility timeouts so a failing message reaches it in
# seconds; ten chunks for a 1,000-row file (the fan-out and the in-order merge are exercised, not one
# chunk); 150 hosts per region so a build's regional sync is quick, and one receive before a build
# request's DLQ.
E2E_CONFIG = {
    "regionflow:transformMaxReceiveCount": "2",
    "regionflow:batchRecordsPerChunk": "100",
    "regionflow:artifactHostsPerRegion": "150",
    "regionflow:artifactMaxReceiveCount": "1",
}
# The modules whose tests use the default `cloud`: pytest-xdist hands them to one worker together
# (tests/conftest.py), so they share one deployment.
SHARED_STACK_MODULES = frozenset(
    f"tests/e2e/test_{name}_e2e.py" for name in ("artifacts", "audit", "batch", "events", "iam", "transform")
)


class SharedStack:
    """The default-configuration localcloud of this test process, deployed on first use."""

    def __init__(self) -> None:
        self._cloud: LocalCloud | None = None
        self._accounted: Counter[str] = Counter()

    def cloud(self) -> LocalCloud:
        if self._cloud is None:
            self._cloud = LocalCloud("local", config_overrides=dict(E2E_CONFIG), time_scale=0.01).start()
            self._accounted = Counter()
        return self._cloud

    def account_iam_decisions(self) -> None:
        """Add the decisions made since the last call to the run's report."""
        if self._cloud is not None:
            decisions = self._cloud.emulator.iam.decisions
            IAM_DECISIONS.update(decisions - self._accounted)
            self._accounted = Counter(decisions)

    def stop(self) -> None:
        if self._cloud is not None:
            self.account_iam_decisions()
            cloud, self._cloud = self._cloud, None
            cloud.stop()


SHARED_STACK = SharedStack()


def assert_no_denial(request: pytest.FixtureRequest, iam: IamEnforcement, earlier: list[object]) -> None:
    """The happy paths and the failure scenarios alike run with no denial: a denial is a missing
    permission in the program (or a gap in localcloud), never an expected outcome here."""
    if getattr(request.module, "IAM_DENIALS_EXPECTED", False):
        return
    seen = {id(denial) for denial in earlier}
    denials = [denial for denial in iam.denials if id(denial) not in seen]
    assert not denials, "IAM denied:\n" + "\n".join(denial.message() for denial in denials)


@contextmanager
def running_cloud(
    request: pytest.FixtureRequest, stack: str = "local", config: Mapping[str, str] = E2E_CONFIG
) -> Iterator[LocalCloud]:
    """A localcloud of `stack` for one module alone, whose IAM decisions the run reports."""
    with LocalCloud(stack, config_overrides=dict(config), time_scale=0.01) as running:
        yield running
        iam = running.emulator.iam
        IAM_DECISIONS.update(iam.decisions)
        assert_no_denial(request, iam, earlier=[])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    # The shared stack stops as soon as the next test is not one of its modules': moto's state is per
    # process, and any other emulator or mock_aws test in this process would find it (and its IAM) there.
    result = yield
    if nextitem is None or module_of(nextitem) not in SHARED_STACK_MODULES:
        SHARED_STACK.stop()
    return result


def module_of(item: pytest.Item) -> str:
    return str(item.path.relative_to(item.config.rootpath))


@pytest.fixture(scope="session")
def shared_stack() -> Iterator[SharedStack]:
    yield SHARED_STACK
    SHARED_STACK.stop()


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest, shared_stack: SharedStack) -> Iterator[LocalCloud]:
    """The shared default-configuration localcloud, left idle by the module, with its denials checked."""
    running = shared_stack.cloud()
    earlier: list[object] = list(running.emulator.iam.denials)  # kept alive, so no id is reused
    yield running
    running.wait_idle()
    shared_stack.account_iam_decisions()
    assert_no_denial(request, running.emulator.iam, earlier)


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
