"""A stand-in for the X-Ray provider behind a Powertools Tracer: it records what a trace would keep.

The handler tests run with tracing disabled (no X-Ray daemon), and then no decorator adds anything, so a
handler that records a secret would pass unnoticed. Swapping the tracer's provider for this one runs the
decorators for real and keeps each subsegment's name and metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools import Tracer


@dataclass
class RecordingSubsegment:
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value

    def put_annotation(self, key: str, value: Any) -> None:
        """Annotations are indexed names and flags (ColdStart, Service), never responses."""

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """Errors are not what these tests look for."""


@dataclass
class RecordingProvider:
    subsegments: list[RecordingSubsegment] = field(default_factory=list)

    @contextmanager
    def in_subsegment(self, name: str, **kwargs: Any) -> Iterator[RecordingSubsegment]:
        subsegment = RecordingSubsegment(name)
        self.subsegments.append(subsegment)
        yield subsegment

    def recorded(self) -> dict[str, Any]:
        """Every metadata value any subsegment kept, by key."""
        return {key: value for sub in self.subsegments for key, value in sub.metadata.items()}


def record_traces(tracer: Tracer, monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    """Make `tracer`'s decorators trace into a RecordingProvider for the rest of the test."""
    provider = RecordingProvider()
    monkeypatch.setattr(tracer, "provider", provider)
    return provider
