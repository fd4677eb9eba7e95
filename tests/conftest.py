"""The whole run's report: what each pytest-xdist worker counted comes together here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.iam_decisions import IAM_DECISIONS, WORKER_OUTPUT_KEY, summary_line


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller reports
        worker_output[WORKER_OUTPUT_KEY] = dict(IAM_DECISIONS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    IAM_DECISIONS.update(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = summary_line()
    if line is not None:
        terminalreporter.write_line(line)
