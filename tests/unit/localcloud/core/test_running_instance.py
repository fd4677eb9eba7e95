"""The state file through which `outputs` and `invoke` find a running `up`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.core.running_instance import (
    NotRunningError,
    RunningInstance,
    live_instance,
    read_state,
    remove_state,
    write_state,
)


def instance(pid: int) -> RunningInstance:
    return RunningInstance(
        pid=pid,
        stack="local",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        gateway_url="http://127.0.0.1:40000",
        outputs={"transformInputBucket": "transform-input-1", "regions": ["us-east-1", "us-west-2"]},
    )


def exited_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_what_up_writes_is_what_outputs_reads(tmp_path: Path) -> None:
    # GIVEN a live instance's state written
    state_file = tmp_path / "build" / "instance.json"
    write_state(instance(os.getpid()), state_file)
    # WHEN another command reads it
    # THEN it has the endpoint, the gateway and the outputs as written
    assert read_state(state_file) == instance(os.getpid())
    assert [path.name for path in state_file.parent.iterdir()] == ["instance.json"]  # no staging left


def test_nothing_running_is_one_actionable_line(tmp_path: Path) -> None:
    with pytest.raises(NotRunningError, match=r"not running .*python -m localcloud up") as missing:
        read_state(tmp_path / "instance.json")
    assert "\n" not in str(missing.value)


def test_a_file_left_by_a_dead_instance_is_not_a_running_one(tmp_path: Path) -> None:
    # GIVEN a state file whose process has exited without removing it (SIGKILL)
    state_file = tmp_path / "instance.json"
    dead = exited_pid()
    write_state(instance(dead), state_file)
    # WHEN it is read
    # THEN nothing is running, and the message names the dead pid
    with pytest.raises(NotRunningError, match=f"pid {dead}"):
        read_state(state_file)
    assert live_instance(state_file) is None


def test_a_corrupt_file_says_so(tmp_path: Path) -> None:
    state_file = tmp_path / "instance.json"
    state_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(NotRunningError, match="not a localcloud state file"):
        read_state(state_file)


def test_an_instance_removes_only_its_own_state_file(tmp_path: Path) -> None:
    # GIVEN the state file of another live instance
    state_file = tmp_path / "instance.json"
    write_state(instance(os.getpid()), state_file)
    # WHEN an instance with another pid stops
    remove_state(state_file, pid=os.getpid() + 1)
    # THEN the file stays; its owner removes it
    assert state_file.exists()
    remove_state(state_file, pid=os.getpid())
    assert not state_file.exists()
