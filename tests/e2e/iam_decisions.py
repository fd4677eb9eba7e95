"""Every IAM decision the e2e run's emulators made, by outcome: counted per module (conftest.py), sent
from each pytest-xdist worker to the controller, and reported once at the end (tests/conftest.py)."""

from __future__ import annotations

from collections import Counter

IAM_DECISIONS: Counter[str] = Counter()
WORKER_OUTPUT_KEY = "iam_decisions"


def summary_line() -> str | None:
    if not IAM_DECISIONS:
        return None
    counts = ", ".join(f"{outcome} {count:,}" for outcome, count in sorted(IAM_DECISIONS.items()))
    return f"IAM decisions in the e2e run: {counts}"
