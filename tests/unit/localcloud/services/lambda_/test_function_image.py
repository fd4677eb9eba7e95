"""A function's init runs once, in its image, and its execution environments are forked from that state."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from localcloud.services.lambda_.runtime import InvocationResult
from tests.unit.localcloud.conftest import REGION, Deployed, wait_for

# Each invocation records its process, then waits for the test to open the gate (create GATE_FILE): the
# invocations the test starts before opening it are all in flight at once, each in an environment of its own.
GATED_INIT_AND_HANDLER = """
    import os, time
    print("init: rules loaded")
    record(["init", os.getpid()])

    def handler(event, context):
        record(["invoked", os.getpid()])
        while not os.path.exists(os.environ["GATE_FILE"]):
            time.sleep(0.01)
        return {"pid": os.getpid(), "parent": os.getppid()}
"""


def invoke_together(emulator, fn: Deployed, gate: Path, count: int) -> list[InvocationResult]:
    """`count` invocations in flight at once (the handler waits at the gate until all have arrived)."""

    def invoked() -> int:
        return sum(entry[0] == "invoked" for entry in fn.records())

    already = invoked()
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(emulator.lambda_runtime.invoke(fn.name, REGION, {})))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    wait_for(lambda: invoked() - already >= count, what=f"{count} invocations in flight")
    gate.touch()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == count
    return results


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_functions_environments_are_forked_from_its_one_init(emulator, deploy, tmp_path):
    # GIVEN a function whose init records its process
    gate = tmp_path / "gate"
    fn = deploy(GATED_INIT_AND_HANDLER, env={"GATE_FILE": str(gate)})
    # WHEN three invocations are in flight at once
    results = invoke_together(emulator, fn, gate, 3)
    # THEN they ran in three environments, all children of the one process that ran the init, once
    assert not any(result.failed for result in results)
    pids = {result.payload["pid"] for result in results}
    parents = {result.payload["parent"] for result in results}
    inits = [entry for entry in fn.records() if entry[0] == "init"]
    assert len(pids) == 3
    assert len(inits) == 1
    assert parents == {inits[0][1]}
    assert parents != {os.getpid()}


def test_each_environments_first_invocation_logs_the_init_output(emulator, deploy, tmp_path):
    # GIVEN a function whose init prints a line
    gate = tmp_path / "gate"
    fn = deploy(GATED_INIT_AND_HANDLER, env={"GATE_FILE": str(gate)})
    # WHEN two environments each run their first invocation
    results = invoke_together(emulator, fn, gate, 2)
    # THEN each invocation's log holds the init's line, as each environment's first log on Lambda does
    assert [result.logs.count("init: rules loaded") for result in results] == [1, 1]
    # AND a warm environment's next invocation does not repeat it
    gate.touch()
    again = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    assert "init: rules loaded" not in again.logs


FAILS_ITS_FIRST_INIT = """
    import os, time
    record(["init", os.getpid()])
    if sum(1 for _ in open(os.environ["RECORD_FILE"])) == 1:
        raise RuntimeError("the rules table is not there yet")

    def handler(event, context):
        record(["invoked", os.getpid()])
        while not os.path.exists(os.environ["GATE_FILE"]):
            time.sleep(0.01)
        return os.getpid()
"""


def test_a_failed_init_fails_the_first_invocation_is_retried_by_the_next_and_run_by_each_new_environment(
    emulator, deploy, tmp_path
):
    # GIVEN a function whose first init fails (its later ones succeed)
    gate = tmp_path / "gate"
    gate.touch()
    fn = deploy(FAILS_ITS_FIRST_INIT, env={"GATE_FILE": str(gate)})
    # WHEN it is invoked twice
    first = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    second = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    # THEN the first invocation reports the init's failure and the second, in the same environment, retries it
    assert first.error_type == "Runtime.ImportModuleError"
    assert "the rules table is not there yet" in (first.error_message or "")
    assert "RuntimeError: the rules table is not there yet" in first.logs
    assert not second.failed
    assert [entry[0] for entry in fn.records()] == ["init", "init", "invoked"]
    assert fn.records()[0][1] == second.payload
    # AND a new environment runs an init of its own (a failed init is not copied)
    gate.unlink()
    results = invoke_together(emulator, fn, gate, 2)
    assert not any(result.failed for result in results)
    assert [entry[0] for entry in fn.records()].count("init") == 3


LEAVES_A_THREAD_RUNNING = """
    import os, threading, time
    record(["init", os.getpid()])
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()

    def handler(event, context):
        record(["invoked", os.getpid()])
        while not os.path.exists(os.environ["GATE_FILE"]):
            time.sleep(0.01)
        return threading.active_count()
"""


def test_an_init_that_leaves_a_thread_running_gives_each_environment_its_own_init(emulator, deploy, tmp_path):
    # GIVEN a function whose init starts a thread (a forked copy of it would have lost the thread)
    gate = tmp_path / "gate"
    fn = deploy(LEAVES_A_THREAD_RUNNING, env={"GATE_FILE": str(gate)})
    # WHEN two invocations are in flight at once
    results = invoke_together(emulator, fn, gate, 2)
    # THEN each environment ran the init itself and has its thread
    assert [result.payload for result in results] == [2, 2]
    inits = {entry[1] for entry in fn.records() if entry[0] == "init"}
    invoked = {entry[1] for entry in fn.records() if entry[0] == "invoked"}
    assert len(inits) == 2
    assert inits == invoked


SLOW_FIRST_INIT = """
    import os, time
    record("init")
    if sum(1 for _ in open(os.environ["RECORD_FILE"])) == 1:
        time.sleep(30)

    def handler(event, context):
        return "ready"
"""


def test_an_init_that_outlasts_the_timeout_times_the_invocation_out_and_the_next_starts_afresh(
    emulator, deploy
):
    # GIVEN a function with a 1 s timeout whose first init takes 30 s
    fn = deploy(SLOW_FIRST_INIT, timeout=1)
    # WHEN it is invoked twice
    first = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    second = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    # THEN the first times out, and the second runs in a fresh environment whose init succeeds
    assert first.error_type == "Sandbox.Timedout"
    assert first.error_message == "Task timed out after 1.00 seconds"
    assert (second.failed, second.payload) == (False, "ready")
    assert fn.records() == ["init", "init"]


CRASHES_WHEN_ASKED = """
    import os
    record(["init", os.getpid()])

    def handler(event, context):
        if event.get("crash"):
            os._exit(3)
        return {"pid": os.getpid(), "parent": os.getppid()}
"""


def test_a_crashed_environment_reports_its_exit_status_and_the_next_is_forked_afresh(emulator, deploy):
    # GIVEN a function that exits with status 3 when asked
    fn = deploy(CRASHES_WHEN_ASKED)
    before = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    # WHEN an invocation crashes its environment
    crashed = emulator.lambda_runtime.invoke(fn.name, REGION, {"crash": True})
    after = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    # THEN it fails as Lambda reports a runtime exit, and the environment is gone (killed and reaped)
    assert (crashed.error_type, crashed.error_message) == (
        "Runtime.ExitError",
        "Runtime exited with error: exit status 3",
    )
    assert process_is_gone(before.payload["pid"])
    # AND the next invocation runs in a new environment forked from the same init
    assert after.payload["pid"] != before.payload["pid"]
    assert after.payload["parent"] == before.payload["parent"]
    assert [entry[0] for entry in fn.records()] == ["init"]


def test_shutting_the_runtime_down_ends_the_images_and_their_environments(emulator, deploy):
    # GIVEN a function with a warm environment
    fn = deploy(CRASHES_WHEN_ASKED)
    warm = emulator.lambda_runtime.invoke(fn.name, REGION, {}).payload
    assert not process_is_gone(warm["pid"]) and not process_is_gone(warm["parent"])
    # WHEN the runtime shuts down
    emulator.lambda_runtime.shutdown()
    # THEN neither the environment nor the image it was forked from is left
    assert process_is_gone(warm["pid"])
    assert process_is_gone(warm["parent"])
