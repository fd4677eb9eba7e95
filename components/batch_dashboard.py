"""The batch dashboard of one region, as the seed's MultiRegionBatchDashboard shows it (a pure function)."""

from __future__ import annotations

from typing import Any

from components.system_dashboard import metric_widget
from handlers.batch.contract import (
    FILES_IGNORED_INACTIVE,
    FILES_MISSING_AT_RECONCILIATION,
    FILES_PROCESSED,
    FILES_RECONCILED,
    FILES_SPLIT,
    INVALID_ROWS,
    METRICS_NAMESPACE,
    METRICS_SERVICE,
    MISSING_FINANCIALS,
    ROWS_WRITTEN,
    VALID_ROWS,
)

EXECUTION_METRICS = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")


def _widget(title: str, metrics: list[list[Any]], region: str, column: int, row: int) -> dict[str, Any]:
    return metric_widget(title, metrics, region=region, column=column, row=row)


def _files(metric: str) -> list[Any]:
    # Powertools Metrics publishes every batch metric with the dimension service=<METRICS_SERVICE>.
    return [METRICS_NAMESPACE, metric, "service", METRICS_SERVICE]


def _executions(state_machine_arn: str) -> list[list[Any]]:
    return [["AWS/States", metric, "StateMachineArn", state_machine_arn] for metric in EXECUTION_METRICS]


def dashboard_body(*, region: str, main_state_machine_arn: str) -> dict[str, Any]:
    """Files split / processed / reconciled / ignored, the workflow's executions and its chunks' rows
    (the chunk processor runs as the workflow's Distributed Map children), in `region`."""
    return {
        "widgets": [
            _widget("Input files split", [_files(FILES_SPLIT)], region, 0, 0),
            _widget("Files processed", [_files(FILES_PROCESSED)], region, 12, 0),
            _widget("Batch workflow executions", _executions(main_state_machine_arn), region, 0, 6),
            _widget(
                "Chunk rows: valid / invalid / missing financials / written",
                [_files(VALID_ROWS), _files(INVALID_ROWS), _files(MISSING_FINANCIALS), _files(ROWS_WRITTEN)],
                region,
                12,
                6,
            ),
            _widget(
                "Files reconciled / missing after failover",
                [_files(FILES_RECONCILED), _files(FILES_MISSING_AT_RECONCILIATION)],
                region,
                0,
                12,
            ),
            _widget("Uploads ignored (region not active)", [_files(FILES_IGNORED_INACTIVE)], region, 12, 12),
        ]
    }
