"""`python -m localcloud`'s commands, in process: arguments, `outputs` and `invoke` against a state file,
one-line errors. (A real `up` with them: tests/e2e/test_cli.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.config import ConfigMissingError

from localcloud.core.cli import build_parser, main
from localcloud.core.cli_up import connection_text, program_refusal, publish
from localcloud.core.cloud import LocalCloud
from localcloud.core.running_instance import DEFAULT_STATE_FILE, RunningInstance, read_state, write_state
from localcloud.core.stack_files import PROJECT_DIR


def running_instance(pid: int) -> RunningInstance:
    return RunningInstance(
        pid=pid,
        stack="local",
        region="us-west-2",
        endpoint_url="http://127.0.0.1:4566",
        gateway_url="http://127.0.0.1:40000",
        outputs={"transformInputBucket": "transform-input-1", "regions": ["us-east-1", "us-west-2"]},
    )


def test_up_takes_localstacks_port_unless_told_and_publishes_under_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOCALCLOUD_STATE_FILE", raising=False)
    args = build_parser().parse_args(["up", "--stack", "primary", "--config", "a=1"])
    assert (args.command, args.stack, args.config) == ("up", "primary", ["a=1"])
    assert args.port is None  # 4566, or a free port when it is taken
    assert args.log_file is None
    assert args.state_file == DEFAULT_STATE_FILE


def test_localcloud_state_file_names_the_state_file_of_every_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN a shell that names its localcloud's state file once
    monkeypatch.setenv("LOCALCLOUD_STATE_FILE", str(tmp_path / "instance.json"))
    # WHEN any command is parsed without --state-file, and one with it
    parsed = [build_parser().parse_args(command) for command in (["up"], ["outputs"], ["invoke", "fn"])]
    told = build_parser().parse_args(["outputs", "--state-file", "other.json"])
    # THEN each reads the named file, and --state-file still wins
    assert {args.state_file for args in parsed} == {tmp_path / "instance.json"}
    assert told.state_file == Path("other.json")


def test_a_port_outside_tcps_range_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["up", "--port", "70000"])
    assert refused.value.code == 2
    assert "a port is 0 to 65535" in capsys.readouterr().err


def test_outputs_and_invoke_take_their_arguments() -> None:
    outputs = build_parser().parse_args(["outputs", "regions", "--json"])
    assert (outputs.name, outputs.json) == ("regions", True)
    invoke = build_parser().parse_args(["invoke", "fn", "--event", "e.json", "--region", "us-west-2"])
    assert (invoke.function, invoke.event, invoke.region) == ("fn", Path("e.json"), "us-west-2")


def test_outputs_prints_one_value_of_the_running_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a running instance's state file
    state_file = tmp_path / "instance.json"
    write_state(running_instance(os.getpid()), state_file)
    # WHEN a user asks for one output
    code = main(["outputs", "transformInputBucket", "--state-file", str(state_file)])
    # THEN its value is printed as it is
    assert code == 0
    assert capsys.readouterr().out == "transform-input-1\n"


def test_outputs_loads_neither_the_emulator_nor_an_aws_sdk(tmp_path: Path) -> None:
    # GIVEN a running instance's state file
    state_file = tmp_path / "instance.json"
    write_state(running_instance(os.getpid()), state_file)
    # WHEN `python -m localcloud outputs` answers in a fresh interpreter (README's examples run it often)
    script = (
        "import sys\n"
        "from localcloud.core.cli import main\n"
        f"code = main(['outputs', 'regions', '--state-file', {str(state_file)!r}])\n"
        "heavy = {'boto3', 'botocore', 'moto', 'pulumi'}\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & heavy))\n"
        "sys.exit(code)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    # THEN it printed the output having imported none of them (a second of CPU at each call)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ['["us-east-1", "us-west-2"]', "[]"]


def test_outputs_with_nothing_running_is_one_line_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["outputs", "--state-file", str(tmp_path / "instance.json")])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: localcloud is not running")
    assert error.count("\n") == 1


def test_invoke_refuses_an_event_file_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a running instance and an event file that is not JSON
    state_file = tmp_path / "instance.json"
    write_state(running_instance(os.getpid()), state_file)
    event = tmp_path / "event.json"
    event.write_text("{'single': 'quotes'}", encoding="utf-8")
    # WHEN it is invoked with it
    code = main(["invoke", "fn", "--event", str(event), "--state-file", str(state_file)])
    # THEN nothing is sent and one line says why
    assert code == 1
    assert capsys.readouterr().err.startswith(f"error: --event {event} is not JSON")


def test_up_tells_other_tools_the_endpoint_and_credentials() -> None:
    lines = connection_text(running_instance(os.getpid())).splitlines()
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4566" in lines
    assert "export AWS_ACCESS_KEY_ID=test" in lines
    assert "export AWS_SECRET_ACCESS_KEY=test" in lines
    assert "export AWS_DEFAULT_REGION=us-west-2" in lines


def test_a_second_up_leaves_a_live_instances_state_file_alone(tmp_path: Path) -> None:
    # GIVEN the state file of another live instance (this process's parent stands for it)
    state_file = tmp_path / "instance.json"
    write_state(running_instance(os.getppid()), state_file)
    # WHEN this one publishes itself there
    publish(running_instance(os.getpid()), state_file)
    # THEN `outputs` and `invoke` keep finding the first
    assert read_state(state_file).pid == os.getppid()


def refused_config() -> None:
    raise ValueError("config key regionflow:transformBatchSize = 'abc' is not allowed")


def test_a_program_refusing_its_config_is_one_line() -> None:
    # GIVEN the errors a program raises for config it refuses (its own ValueError, raised by code in the
    # project, and Pulumi's for a missing key)
    with pytest.raises(ValueError, match="is not allowed") as own:
        refused_config()
    missing = ConfigMissingError("regionflow:regions", False)
    # WHEN up reports them
    # THEN each is its message, no traceback
    assert program_refusal(own.value) == "config key regionflow:transformBatchSize = 'abc' is not allowed"
    assert program_refusal(missing) == str(missing)


def test_localclouds_own_faults_keep_their_traceback() -> None:
    # GIVEN a ValueError raised inside localcloud, and one the program did not raise itself
    with pytest.raises(ValueError, match="time_scale") as localcloud_fault:
        LocalCloud(time_scale=5)
    with pytest.raises(TypeError) as program_bug:
        len(5)  # type: ignore[arg-type]
    # THEN neither is taken for a refused config
    assert program_refusal(localcloud_fault.value) is None
    assert program_refusal(program_bug.value) is None
