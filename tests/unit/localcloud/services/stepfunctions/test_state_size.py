"""Step Functions passes at most 256 KiB (262,144 bytes of UTF-8 JSON) between states, as AWS measures it:
a state output of exactly the limit passes, one byte more fails with States.DataLimitExceeded."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from localcloud.core.emulator import Emulator
from localcloud.services.stepfunctions.state_size import STATE_LIMIT_BYTES, state_size
from tests.unit.localcloud.conftest import REGION, role_with

ASSUME_STATES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def run_pass_state(emulator: Emulator, result: Any) -> dict[str, Any]:
    """Run a one-state machine whose Pass state outputs `result`; the finished execution."""
    sfn = emulator.client("stepfunctions", REGION)
    machine = sfn.create_state_machine(
        name=f"size-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(
            {"StartAt": "Emit", "States": {"Emit": {"Type": "Pass", "Result": result, "End": True}}}
        ),
        roleArn=role_with(emulator, [], trust=ASSUME_STATES),
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    pytest.fail(f"{execution_arn} still RUNNING")


def test_a_state_output_of_exactly_the_limit_passes_and_one_byte_more_fails(emulator: Emulator) -> None:
    # GIVEN outputs of exactly 262,144 bytes and one more (a JSON string: two bytes of quotes)
    at_limit, over_limit = "x" * (STATE_LIMIT_BYTES - 2), "x" * (STATE_LIMIT_BYTES - 1)
    assert (state_size(at_limit), state_size(over_limit)) == (
        STATE_LIMIT_BYTES,
        STATE_LIMIT_BYTES + 1,
    )

    # WHEN each is a state's output THEN the first passes and the second fails as AWS fails it
    assert run_pass_state(emulator, at_limit)["status"] == "SUCCEEDED"
    failed = run_pass_state(emulator, over_limit)
    assert (failed["status"], failed.get("error")) == ("FAILED", "States.DataLimitExceeded")


def test_a_state_is_measured_as_compact_json(emulator: Emulator) -> None:
    # GIVEN 8,500 small fields: 255,001 bytes as compact JSON, 271,999 with json.dumps' default spacing
    fields = {f"field{index:05d}": "v" * 14 for index in range(8_500)}
    compact = len(json.dumps(fields, separators=(",", ":")))
    assert compact <= STATE_LIMIT_BYTES < len(json.dumps(fields))

    # WHEN they are a state's output THEN the state passes, as it does on AWS
    assert run_pass_state(emulator, fields)["status"] == "SUCCEEDED"
