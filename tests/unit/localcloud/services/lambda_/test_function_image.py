"""A function's init runs once, in its image, and its execution environments are forked from that state;
functions sharing a package are forked from one import of its dependencies."""

from __future__ import annotations

import io
import os
import textwrap
import threading
import uuid
import zipfile
from pathlib import Path

from localcloud.services.lambda_.runtime import InvocationResult, LambdaRuntime
from tests.unit.localcloud.conftest import RECORD_HELPER, REGION, Deployed, wait_for

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
    # GIVEN a runtime of its own (the module's keeps running; moto's state is per process, so it shares the
    # emulator's functions) with a function's warm environment
    fn = deploy(CRASHES_WHEN_ASKED)
    runtime = LambdaRuntime(emulator.endpoint_url)
    warm = runtime.invoke(fn.name, REGION, {}).payload
    assert not process_is_gone(warm["pid"]) and not process_is_gone(warm["parent"])
    # WHEN the runtime shuts down
    runtime.shutdown()
    # THEN neither the environment nor the image it was forked from is left
    assert process_is_gone(warm["pid"])
    assert process_is_gone(warm["parent"])


# A package as a stack ships it: handlers beside an installed distribution (its RECORD names its modules).
# The dependency records where it was imported and what GREETING_STYLE said then.
SHARED_DEPENDENCY = """
    import os
    STYLE = os.environ.get("GREETING_STYLE")
    IMPORTED_IN = os.getpid()
    record(["dependency imported", IMPORTED_IN, STYLE])
"""
GREETS = """
    import os
    import greeting

    def handler(event, context):
        return {
            "style": greeting.STYLE,
            "imported_in": greeting.IMPORTED_IN,
            "image": os.getppid(),
            "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "region": os.environ["AWS_REGION"],
        }
"""


def package(sources: dict[str, str], files: dict[str, str] | None = None) -> bytes:
    """A deployment package built once: Python sources (each given the record helper) and other files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in sources.items():
            archive.writestr(name, RECORD_HELPER + textwrap.dedent(source))
        for name, text in (files or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def deploy_package(emulator, role, code: bytes, tmp_path: Path, **env: str) -> Deployed:
    """A function (`app.handler`) of this exact package: functions deployed from the same bytes share it."""
    name = f"fn-{uuid.uuid4().hex[:10]}"
    record_file = tmp_path / "records.jsonl"  # one file for every function of the package
    arn = emulator.client("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code},
        Timeout=10,
        Environment={"Variables": {"RECORD_FILE": str(record_file), **env}},
    )["FunctionArn"]
    return Deployed(name=name, arn=arn, record_file=record_file)


GREETING_PACKAGE = package(
    {"app.py": GREETS, "greeting/__init__.py": SHARED_DEPENDENCY},
    {"greeting-1.0.dist-info/RECORD": "greeting/__init__.py,,\ngreeting-1.0.dist-info/RECORD,,\n"},
)


def test_functions_sharing_a_package_are_forked_from_one_import_of_its_dependencies(
    emulator, role_arn, tmp_path
):
    # GIVEN three functions deployed from one package, the first of them already invoked (its image
    # imported the package's dependency itself)
    first, second, third = (deploy_package(emulator, role_arn, GREETING_PACKAGE, tmp_path) for _ in range(3))
    emulator.lambda_runtime.invoke(first.name, REGION, {})
    # WHEN the other two are invoked
    results = [emulator.lambda_runtime.invoke(fn.name, REGION, {}).payload for fn in (second, third)]
    # THEN each ran as itself, in an image of its own
    assert [result["function"] for result in results] == [second.name, third.name]
    assert results[0]["image"] != results[1]["image"]
    # AND both images were forked after one more import of the dependency, made before either existed
    imports = [entry for entry in first.records() if entry[0] == "dependency imported"]
    assert len(imports) == 2
    assert {result["imported_in"] for result in results} == {imports[1][1]}
    assert imports[1][1] not in {result["image"] for result in results}


def test_a_function_whose_environment_differs_in_what_the_dependencies_read_gets_an_import_of_its_own(
    emulator, role_arn, tmp_path
):
    # GIVEN functions of one package whose dependency reads GREETING_STYLE at import, the first invoked
    def deployed(**env: str) -> Deployed:
        return deploy_package(emulator, role_arn, GREETING_PACKAGE, tmp_path, **env)

    formal = [deployed(GREETING_STYLE="formal") for _ in range(2)]
    casual, unset = deployed(GREETING_STYLE="casual"), deployed()
    emulator.lambda_runtime.invoke(formal[0].name, REGION, {})
    # WHEN the others are invoked
    others = (formal[1], casual, unset)
    seen = {fn.name: emulator.lambda_runtime.invoke(fn.name, REGION, {}).payload for fn in others}
    # THEN each saw its own value (or its absence) of what the dependency read, as its own init would have
    assert [seen[fn.name]["style"] for fn in others] == ["formal", "casual", None]
    # AND the import each was forked after was made with that value
    imports = {entry[1]: entry[2] for entry in formal[0].records() if entry[0] == "dependency imported"}
    assert [imports[seen[fn.name]["imported_in"]] for fn in others] == [
        "formal",
        "casual",
        None,
    ]
