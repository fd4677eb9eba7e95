"""What `up` shows happening: request, invocation and moto NotImplemented lines, and where they go."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.core.activity_log import (
    invocation_line,
    not_implemented_line,
    request_line,
    show_activity,
    worker_traceback,
)

WORKER_LOGS = (
    '{"level":"INFO","message":"starting"}\n'
    "Traceback (most recent call last):\n"
    '  File "/code/handlers/batch/trigger.py", line 174, in lambda_handler\n'
    "    return handle_records(S3Event(event).records, dependencies())\n"
    "KeyError: 'Records'\n"
)


def test_a_request_line_names_method_path_status_and_duration_but_not_the_query() -> None:
    # GIVEN a request whose query carries a signature
    # WHEN it is logged
    line = request_line("GET", "/lambda-url/us-east-1/fn/rules?X-Amz-Signature=abc123", 403, 2.6)
    # THEN the line says what happened and leaves the signature out
    assert line == "gateway GET /lambda-url/us-east-1/fn/rules -> 403 in 3 ms"


def test_a_successful_invocation_is_one_line() -> None:
    line = invocation_line(
        "orders-fn", 120.4, error_type=None, error_message=None, worker_logs=WORKER_LOGS, payload={"ok": 1}
    )
    assert line == "lambda orders-fn ok in 120 ms"


def test_a_failed_invocation_ends_with_the_workers_traceback() -> None:
    # GIVEN an invocation whose handler raised (the worker printed the traceback among its logs)
    # WHEN it is logged
    line = invocation_line(
        "trigger-fn",
        79.4,
        error_type="KeyError",
        error_message="'Records'",
        worker_logs=WORKER_LOGS,
        payload={"errorType": "KeyError"},
    )
    # THEN the first line says which function failed how, and the traceback follows, indented
    first, *trace = line.splitlines()
    assert first == "lambda trigger-fn failed in 79 ms: KeyError: 'Records'"
    assert trace[0] == "    Traceback (most recent call last):"
    assert trace[-1] == "    KeyError: 'Records'"
    assert not any('"level"' in trace_line for trace_line in trace)


def test_the_payloads_stack_trace_stands_in_when_the_logs_have_no_traceback() -> None:
    payload = {"errorType": "ValueError", "stackTrace": ['  File "/code/app.py", line 3, in handler']}
    assert worker_traceback("no traceback here\n", payload) == [
        "Traceback (most recent call last):",
        '  File "/code/app.py", line 3, in handler',
    ]


def test_a_timeout_has_no_traceback_to_show() -> None:
    line = invocation_line(
        "slow-fn",
        3000,
        error_type="Sandbox.Timedout",
        error_message="Task timed out after 3.00 seconds",
        worker_logs="",
        payload={"errorType": "Sandbox.Timedout"},
    )
    assert line == "lambda slow-fn failed in 3000 ms: Sandbox.Timedout: Task timed out after 3.00 seconds"


def test_moto_not_implemented_becomes_one_line_naming_the_operation() -> None:
    # GIVEN werkzeug's report of moto's NotImplementedError (a whole server traceback)
    message = (
        "Error on request:\nTraceback (most recent call last):\n"
        '  File "moto/core/responses.py", line 483, in call_action\n'
        "NotImplementedError: The validate_state_machine_definition action has not been implemented"
    )
    # WHEN it is shortened
    line = not_implemented_line(message)
    # THEN one line names the API operation moto lacks
    assert line is not None
    assert "\n" not in line
    assert "moto has not implemented ValidateStateMachineDefinition" in line


def test_other_server_errors_keep_their_traceback() -> None:
    message = "Error on request:\nTraceback (most recent call last):\nTypeError: unsupported operand"
    assert not_implemented_line(message) is None


@pytest.fixture
def quiet_root() -> Iterator[None]:
    root, activity = logging.getLogger(), logging.getLogger("localcloud")
    levels = root.level, activity.level
    yield
    root.setLevel(levels[0])
    activity.setLevel(levels[1])


@pytest.mark.usefixtures("quiet_root")
def test_activity_goes_to_the_log_file_when_one_is_named(tmp_path: Path) -> None:
    # GIVEN up's activity sent to a log file
    log_file = tmp_path / "logs" / "up.log"
    handler = show_activity(log_file)
    try:
        # WHEN the gateway logs a request at INFO
        logging.getLogger("localcloud.services.apigateway.gateway").info("gateway GET /x -> 404 in 1 ms")
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    # THEN the file has the line, time-stamped
    written = log_file.read_text(encoding="utf-8")
    assert written.rstrip().endswith(" gateway GET /x -> 404 in 1 ms")


@pytest.mark.usefixtures("quiet_root")
def test_activity_goes_to_the_terminal_without_a_log_file(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN up's activity with no log file named
    handler = show_activity(None)
    try:
        # WHEN the runtime logs an invocation, and a library something below a warning
        logging.getLogger("localcloud.services.lambda_.runtime").info("lambda fn ok in 5 ms")
        logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    # THEN the terminal shows localcloud's line (on stderr, beside up's own output) and not the library's
    shown = capsys.readouterr().err
    assert shown.rstrip().endswith(" lambda fn ok in 5 ms")
    assert "Found credentials" not in shown
