"""The whole run's report: what each pytest-xdist worker counted comes together here. botocore's data
files are parsed, and its event names renamed, once per test process, whose collector runs at the
emulator's thresholds, and the e2e modules that share a deployment go to one worker."""

from __future__ import annotations

import functools
import gc
from typing import Any

import botocore.hooks
import botocore.loaders
import botocore.session
import pytest
from xdist.scheduler import LoadFileScheduling

from localcloud.core.emulator import GC_THRESHOLDS
from localcloud.core.termination import exit_untraced
from tests.e2e.conftest import SHARED_STACK_MODULES
from tests.e2e.iam_decisions import IAM_DECISIONS, WORKER_OUTPUT_KEY, summary_line

# moto's mock_aws clears boto3's default session, so every test's first client of a service built a new
# session whose loader parsed that service's model (megabytes of JSON) again: about half of the handler
# tests' time. Sessions of one process now share a loader per data path, as one session's clients do.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

# Each new client's event system renames its event names (botocore's EVENT_ALIASES) and keeps the answers
# for itself alone: with fresh clients in every test, half of the ~85,000 renamings in the batch handler
# tests were first ones. Aliasers of the default table now share one memo, as one client's calls do.
_SHARED_ALIAS_NAMES: dict[str, str] = {}
_aliaser_init = botocore.hooks.EventAliaser.__init__


def _aliaser_sharing_default_names(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
    _aliaser_init(self, event_emitter, event_aliases)
    if self._event_aliases == botocore.hooks.EVENT_ALIASES:  # a client's is a copy of its session's
        self._alias_name_cache = _SHARED_ALIAS_NAMES


botocore.hooks.EventAliaser.__init__ = _aliaser_sharing_default_names  # type: ignore[method-assign]

# A test process holds what the emulator's does (moto's backends, programs built under mocks, often an
# emulator in this very process): CPython's default thresholds made its collector a quarter of a program
# build's time (localcloud/core/emulator.py).
gc.set_threshold(*GC_THRESHOLDS)


SHARED_STACK_SCOPE = "tests/e2e: the shared local stack"


class SharedStackScheduling(LoadFileScheduling):
    """`--dist loadfile`, with the modules of the shared e2e deployment as one unit of work: one worker
    runs them one after another on one deployment instead of each module deploying its own."""

    def _split_scope(self, nodeid: str) -> str:
        module = super()._split_scope(nodeid)
        return SHARED_STACK_SCOPE if module in SHARED_STACK_MODULES else module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    return SharedStackScheduling(config, log) if config.getvalue("dist") == "loadfile" else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller reports
        worker_output[WORKER_OUTPUT_KEY] = dict(IAM_DECISIONS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    IAM_DECISIONS.update(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # After pytest's own last collection (which reports unraisable exceptions): a test process holds what
    # an emulator's does, and the interpreter's shutdown collections over it took ~5 s per process.
    exit_untraced()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = summary_line()
    if line is not None:
        terminalreporter.write_line(line)
