"""`python -m demos` (what `make demo` runs) and `python -m localcloud up|outputs|invoke` as a user runs
them: separate processes, real output, real exit codes; how localcloud's CLI reads `--config`; and every
shell example of README.md and docs/, run as written against `up`.

One `up` serves every check of the running instance (deploying takes most of a minute on two cores); the
last one stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.core.cli import STATE_FILE_VARIABLE
from localcloud.core.cli_io import config_overrides

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
UP_READY_SECONDS = 600.0  # a deployment, on a loaded two-core CI machine
LOG_LINE_SECONDS = 30.0  # a line the gateway or the runtime logs after answering
STOP_SECONDS = 120.0
COMMAND_SECONDS = 120.0
REDIS_SERVERS = {"valkey-server", "redis-server"}


def test_demo_deploys_drives_every_system_and_exits_zero() -> None:
    # WHEN a user runs the demo (its own process: moto's state is per process)
    finished = subprocess.run(
        [sys.executable, "-m", "demos"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # THEN it showed the deployment, the outputs and each check, and passed
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "+ Function" in finished.stdout
    assert re.search(r"^\s+transformUploadUrl\s+http://127\.0\.0\.1:\d+/", finished.stdout, re.MULTILINE)
    assert re.search(r"^\s+artifactBuildsUrl\s+http://127\.0\.0\.1:\d+/", finished.stdout, re.MULTILINE)
    assert "demo doors: passed" in finished.stdout
    assert "demo transform: passed" in finished.stdout
    assert "demo artifacts: passed" in finished.stdout
    assert "demo batch: passed" in finished.stdout
    assert "demo failover: passed" in finished.stdout
    assert "demo audit: passed" in finished.stdout
    assert "demo events: passed" in finished.stdout
    assert "[FAILED]" not in finished.stdout


def test_config_overrides_take_pulumi_style_keys() -> None:
    assert config_overrides(["transformBatchSize=5", "aws:region=us-west-2"], "regionflow") == {
        "regionflow:transformBatchSize": "5",
        "aws:region": "us-west-2",
    }
    with pytest.raises(SystemExit, match="key=value"):
        config_overrides(["transformBatchSize"], "regionflow")


@pytest.mark.parametrize(
    "command",
    [("localcloud", "up", "--port", "0"), ("demos",)],
    ids=["up", "demo"],
)
def test_a_bad_config_value_is_one_line_not_a_traceback(command: tuple[str, ...]) -> None:
    # WHEN a user starts `up` or the demo with a value the program refuses
    finished = subprocess.run(
        [sys.executable, "-m", *command, "--config", "transformBatchSize=abc"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    # THEN it stops with the program's own message, on one line, and a usage error's exit code
    assert finished.returncode == 2, finished.stderr[-3000:]
    (line,) = finished.stderr.splitlines()
    assert line.startswith("error: config key regionflow:transformBatchSize = 'abc' is not allowed: ")


# ---- one `up` for the checks below -------------------------------------------------------------------
def wait_for(condition: Callable[[], Any], *, timeout_seconds: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout_seconds:.0f} s")
        time.sleep(0.1)


def child_processes(parent_pid: int) -> dict[int, str]:
    """The live (not zombie) children of `parent_pid`, by pid, with their command names (Linux /proc)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == parent_pid and state != "Z":
            children[int(entry.name)] = name
    return children


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class RunningUp:
    """A `python -m localcloud up` started as a user starts it, with its own state file, log file and
    TMPDIR (so every temporary directory it makes can be checked for after it stops)."""

    process: subprocess.Popen[str]
    root: Path
    started_children: dict[int, str] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.root / "instance.json"

    @property
    def log_file(self) -> Path:
        return self.root / "up.log"

    @property
    def temp_dir(self) -> Path:
        return self.root / "tmp"

    def stdout(self) -> str:
        return (self.root / "stdout.txt").read_text(encoding="utf-8")

    def stderr(self) -> str:
        return (self.root / "stderr.txt").read_text(encoding="utf-8")

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def localcloud(self, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Another command of the CLI, in its own process, pointed at this instance."""
        return subprocess.run(
            [sys.executable, "-m", "localcloud", *arguments, "--state-file", str(self.state_file)],
            cwd=REPO_ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )

    def logged(self, pattern: str) -> re.Match[str]:
        """The first line of the log file matching `pattern`, once it is there."""
        matched: re.Match[str] = wait_for(
            lambda: re.search(pattern, self.log(), re.MULTILINE),
            timeout_seconds=LOG_LINE_SECONDS,
            what=f"line matching {pattern!r} in {self.log_file}",
        )
        return matched


@pytest.fixture(scope="module")
def running_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUp]:
    root = tmp_path_factory.mktemp("localcloud-up")
    (root / "tmp").mkdir()
    with (root / "stdout.txt").open("w") as stdout, (root / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "up",
                "--state-file",
                str(root / "instance.json"),
                "--log-file",
                str(root / "up.log"),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "TMPDIR": str(root / "tmp")},
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
    up = RunningUp(process, root)
    try:
        wait_for(
            lambda: up.state_file.exists() or process.poll() is not None,
            timeout_seconds=UP_READY_SECONDS,
            what="state file from `up`",
        )
        assert process.poll() is None, (
            f"up exited {process.returncode}:\n{up.stdout()[-3000:]}{up.stderr()[-3000:]}"
        )
        yield up
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        # Whatever a failed stop left behind must not outlive the test run.
        for pid in up.started_children:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_up_prints_an_endpoint_other_tools_reach_with_the_printed_credentials(
    running_up: RunningUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the `export` lines `up` printed, pasted into a shell with no AWS settings of its own
    exports = dict(re.findall(r"^export (AWS_[A-Z_]+)=(\S+)$", running_up.stdout(), re.MULTILINE))
    assert set(exports) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    # WHEN a boto3 client is made from the environment alone, as the aws CLI would be
    s3 = boto3.session.Session().client("s3")
    # THEN it reaches the emulator of that `up`, with the stack's resources
    buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    assert running_up.state()["outputs"]["transformInputBucket"] in buckets
    assert exports["AWS_ENDPOINT_URL"] == running_up.state()["endpoint_url"]


def test_outputs_reads_the_running_instance_as_pulumi_stack_output_does(running_up: RunningUp) -> None:
    # GIVEN a running `up`
    # WHEN a user asks another process for its outputs: all, one, one as JSON
    every = running_up.localcloud("outputs")
    one = running_up.localcloud("outputs", "transformInputBucket")
    as_json = running_up.localcloud("outputs", "regions", "--json")
    # THEN each is answered from the running stack
    outputs = running_up.state()["outputs"]
    assert every.returncode == 0, every.stderr
    bucket = outputs["transformInputBucket"]
    assert re.search(rf"^\s+transformInputBucket\s+{bucket}$", every.stdout, re.MULTILINE)
    assert one.stdout == f"{bucket}\n"
    assert json.loads(as_json.stdout) == outputs["regions"] == ["us-east-1", "us-west-2"]


def batch_trigger(running_up: RunningUp) -> str:
    name: str = running_up.state()["outputs"]["batchTriggerFunctions"]["us-east-1"]
    return name


def test_invoke_runs_a_function_and_shows_its_result_and_log_tail(
    running_up: RunningUp, tmp_path: Path
) -> None:
    # GIVEN the batch trigger and S3's test event (which it answers without starting anything)
    function = batch_trigger(running_up)
    event = tmp_path / "s3-test-event.json"
    event.write_text(json.dumps({"Event": "s3:TestEvent"}), encoding="utf-8")
    # WHEN a user invokes it from another process
    invoked = running_up.localcloud("invoke", function, "--event", str(event))
    # THEN the handler's result is printed, with Lambda's log tail, and the invocation is logged
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"started": [], "duplicates": [], "ignored": []}
    assert "REPORT RequestId:" in invoked.stderr
    running_up.logged(rf"^\S+ lambda {re.escape(function)} ok in \d+ ms$")


def test_a_failed_invocation_shows_the_workers_traceback(running_up: RunningUp) -> None:
    # GIVEN an event the batch trigger cannot read (no Records: S3Event raises KeyError), from stdin
    function = batch_trigger(running_up)
    # WHEN a user invokes it
    invoked = running_up.localcloud("invoke", function, "--event", "-", stdin="{}")
    # THEN the command fails with Lambda's error payload, and the log shows the worker's traceback
    assert invoked.returncode == 1
    assert json.loads(invoked.stdout)["errorType"] == "KeyError"
    assert f"error: {function} failed" in invoked.stderr
    failure = running_up.logged(rf"^\S+ lambda {re.escape(function)} failed in \d+ ms: KeyError: 'Records'$")
    next_line = running_up.log()[failure.end() :].split("\n")[1]
    assert next_line == "    Traceback (most recent call last):"


def test_requests_at_the_gateway_are_logged_without_their_query(running_up: RunningUp) -> None:
    # GIVEN a request to an API the gateway does not serve, with a token in its query
    url = f"{running_up.state()['gateway_url']}/restapis/none/v1/nowhere?token=s3cret"
    # WHEN it is answered
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(url, timeout=30)
    # THEN the log has method, path, status and duration, and not the token
    assert answered.value.code == 404
    running_up.logged(r"^\S+ gateway GET /restapis/none/v1/nowhere -> 404 in \d+ ms$")
    assert "s3cret" not in running_up.log()


# ---- README's and docs/' shell examples, run as written against this `up` --------------------------------
DOCUMENTS = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
FENCE = re.compile(r"^(?P<indent> *)```(?P<language>[^`\s]*)\s*$")
# Right above a shell block: `skip (why)` never runs it here (nothing of it becomes a test); `needs aws
# (why)` says it calls the aws CLI, which `make awscli` installs in a venv of its own.
MARKER = re.compile(r"^<!-- docs-test: (?P<verdict>skip|needs aws) \((?P<reason>.+)\) -->$")
EXAMPLE_SECONDS = 180.0  # the slowest block uploads 3 MB to the audit API and starts two batches


@dataclass(frozen=True)
class Example:
    """A fenced block of a document, with the docs-test marker right above it, if any."""

    document: Path
    line: int  # its opening fence's, from 1
    language: str
    script: str
    verdict: str | None = None
    reason: str = ""

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(REPO_ROOT)}:{self.line}"


def fenced_blocks(document: Path) -> tuple[list[Example], list[str]]:
    """Every fenced block of `document`, and its problems: a fence never closed, a marker that is not
    right above a shell block or not of MARKER's form."""
    lines = document.read_text(encoding="utf-8").splitlines()
    where = document.relative_to(REPO_ROOT)
    blocks: list[Example] = []
    problems: list[str] = []
    marker: tuple[int, re.Match[str]] | None = None
    number = 0
    while number < len(lines):
        text = lines[number]
        opening = FENCE.match(text)
        if "docs-test" in text and text.lstrip().startswith("<!--"):
            if marker is not None:
                problems.append(f"{where}:{marker[0]}: the marker stands above no block")
            matched = MARKER.match(text.strip())
            marker = (number + 1, matched) if matched else None
            if matched is None:
                problems.append(f"{where}:{number + 1}: not a marker: {text.strip()}")
        elif opening:
            closing = next(
                (end for end in range(number + 1, len(lines)) if lines[end].strip() == "```"), None
            )
            if closing is None:
                problems.append(f"{where}:{number + 1}: the fence is never closed")
                break
            indent = len(opening["indent"])
            script = "".join(f"{body[indent:]}\n" for body in lines[number + 1 : closing])
            verdict, reason = (marker[1]["verdict"], marker[1]["reason"]) if marker else (None, "")
            if marker is not None and opening["language"] not in SHELL_LANGUAGES:
                problems.append(f"{where}:{marker[0]}: the marker stands above a {opening['language']} block")
            blocks.append(Example(document, number + 1, opening["language"], script, verdict, reason))
            marker = None
            number = closing
        elif text.strip() and marker is not None:
            problems.append(f"{where}:{marker[0]}: the marker is not right above a block")
            marker = None
        number += 1
    if marker is not None:
        problems.append(f"{where}:{marker[0]}: the marker stands above no block")
    return blocks, problems


def shell_examples() -> list[Any]:
    """Every shell block of the documents the examples test runs: all but those marked `skip`, which
    cannot run against `up` (each marker says why; the test above checks every marker stands above a
    block). `needs aws` blocks run with the aws CLI `make awscli` installs."""
    return [
        pytest.param(example, id=example.name)
        for document in DOCUMENTS
        for example in fenced_blocks(document)[0]
        if example.language in SHELL_LANGUAGES and example.verdict != "skip"
    ]


def aws_cli_directory() -> Path:
    """Where the aws CLI README's examples call is (AWS_CLI, else build/awscli as `make awscli` makes it)."""
    aws = Path(os.environ.get("AWS_CLI", REPO_ROOT / "build" / "awscli" / "bin" / "aws"))
    if not os.access(aws, os.X_OK):
        raise RuntimeError(f"no aws CLI at {aws}: run `make awscli` (or set AWS_CLI)")
    return aws.parent


def scratch_checkout(directory: Path) -> Path:
    """`directory` made to look like the repository's root (its top-level entries linked, build/ and the
    hidden ones excepted): an example runs as from the root, and what it writes stays out of the tree."""
    for entry in REPO_ROOT.iterdir():
        if entry.name != "build" and not entry.name.startswith("."):
            (directory / entry.name).symlink_to(entry)
    return directory


def example_environment(up: RunningUp) -> dict[str, str]:
    """The second shell README's examples assume: no AWS settings of its own, `up`'s export lines pasted,
    the venv active; and this `up`'s state file for `python -m localcloud outputs`."""
    exports = dict(re.findall(r"^export (AWS_[A-Z_]+)=(\S+)$", up.stdout(), re.MULTILINE))
    venv_bin = Path(sys.executable).parent
    own = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **own,
        **exports,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        STATE_FILE_VARIABLE: str(up.state_file),
        "VIRTUAL_ENV": str(venv_bin.parent),
        "PATH": os.pathsep.join((str(venv_bin), str(aws_cli_directory()), own.get("PATH", os.defpath))),
    }


def test_every_block_of_readme_and_docs_names_its_language_and_every_marker_its_shell_block() -> None:
    # GIVEN README.md and docs/*.md
    found = [fenced_blocks(document) for document in DOCUMENTS]
    blocks = [block for document_blocks, _ in found for block in document_blocks]
    # THEN every fence is closed and every docs-test marker stands right above the shell block it excuses
    assert [problem for _, problems in found for problem in problems] == []
    # AND every block names its language, so no shell example hides from the test below as plain text
    assert [block.name for block in blocks if not block.language] == []
    # AND every shell fence is one of the blocks the test below runs or reports
    shell_fences = [
        line
        for document in DOCUMENTS
        for line in document.read_text(encoding="utf-8").splitlines()
        if (fence := FENCE.match(line)) and fence["language"] in SHELL_LANGUAGES
    ]
    assert len(shell_fences) == len([block for block in blocks if block.language in SHELL_LANGUAGES]) > 0


@pytest.mark.parametrize("example", shell_examples())
def test_every_shell_example_of_readme_and_docs_runs_as_written_against_up(
    example: Example, running_up: RunningUp, tmp_path: Path
) -> None:
    # GIVEN a shell block of README.md or docs/ (outputs read by the block itself, as a user reads them)
    # WHEN it runs as written with bash -euo pipefail, from a copy of the repository's root, in the shell
    # README describes: `up`'s export lines pasted, the venv active
    finished = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", "-c", example.script],
        cwd=scratch_checkout(tmp_path),
        env=example_environment(running_up),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_SECONDS,
        check=False,
    )
    # THEN every command in it succeeded, including the checks it makes of what it promises
    assert finished.returncode == 0, (
        f"{example.name} exited {finished.returncode}:\n{example.script}"
        f"--- stdout\n{finished.stdout[-3000:]}\n--- stderr\n{finished.stderr[-3000:]}"
        f"\n--- up's log\n{running_up.log()[-3000:]}"
    )


def test_sigterm_stops_up_as_ctrl_c_does(running_up: RunningUp) -> None:
    # GIVEN the running `up` (last in this module: it stops it), its Redis server and Lambda workers,
    # and the temporary directories it made
    children = child_processes(running_up.process.pid)
    running_up.started_children.update(children)
    assert REDIS_SERVERS & set(children.values()), children
    assert any(running_up.temp_dir.iterdir())
    # WHEN it is sent SIGTERM (what a service manager, `timeout` or `kill` sends)
    running_up.process.send_signal(signal.SIGTERM)
    code = running_up.process.wait(timeout=STOP_SECONDS)
    # THEN it stopped as on Ctrl-C: every process it started is gone, every temporary directory removed,
    # its state file too, so other commands say nothing runs
    assert code == 0, running_up.stderr()[-3000:]
    assert running_up.stdout().rstrip().endswith("Stopping.")
    assert [pid for pid in children if process_alive(pid)] == []
    assert sorted(path.name for path in running_up.temp_dir.iterdir()) == []
    assert not running_up.state_file.exists()
    after = running_up.localcloud("outputs")
    assert after.returncode == 1
    assert after.stderr.startswith("error: localcloud is not running")
