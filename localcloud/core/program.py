"""Run __main__.py under a `pulumi.runtime.Mocks` implementation and return the stack's exports.

The unit tests pass a recording mock; the same runner serves any Mocks that really provisions. The
Pulumi CLI is not needed: the stack's config comes from `localcloud.core.stack_files`.
"""

from __future__ import annotations

import runpy
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pulumi
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from localcloud.core.stack_files import PROJECT_DIR, load_stack_config, project_name

# set_mocks and the config store are process-global: one program run at a time.
_RUN_LOCK = threading.Lock()


@runtime_checkable
class RegistrationObserver(Protocol):
    """Mocks that want each resource's URN: Mocks.new_resource is not told it, nor the resource's parent."""

    def registered(self, urn: str, typ: str, name: str, custom: bool, resource_id: str) -> None: ...


STACK_TYPE = "pulumi:pulumi:Stack"


class ExportCapturingMonitor(MockMonitor):
    """MockMonitor that keeps RegisterResourceOutputs, which is where stack exports arrive, and tells a
    RegistrationObserver mocks each resource's URN once it is created.

    The URN told is the engine's: its type is the whole chain of parent types (the stack's left out),
    `outer$inner$type`. MockMonitor's own URNs name the immediate parent's type only."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered_outputs: dict[str, dict[str, Any]] = {}
        self._qualified_types: dict[str, str] = {}  # MockMonitor's URN -> the engine's qualified type
        self._types_lock = threading.Lock()  # resources register on several threads

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        with self._types_lock:
            parent_type = self._qualified_types.get(request.parent)
            qualified = f"{parent_type}${request.type}" if parent_type else request.type
            self._qualified_types[response.urn] = qualified
        if isinstance(self.mocks, RegistrationObserver):
            stack_and_project = "::".join(response.urn.split("::", 2)[:2])
            urn = f"{stack_and_project}::{qualified}::{request.name}"
            self.mocks.registered(urn, request.type, request.name, bool(request.custom), response.id)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.registered_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


@contextmanager
def _without_stack_traces() -> Iterator[None]:
    """Pulumi's SDK walks the Python stack (every frame's source line, and a file URI of each) for every
    resource it registers, to tell the engine where the resource was declared: a tenth of a program's run.
    A mock monitor never reads it, so while a program runs here the SDK sends the empty trace it sends
    when it finds no frame of the user's."""
    collect = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = collect


def run_program(
    mocks: pulumi.runtime.Mocks,
    *,
    stack: str,
    project_dir: Path = PROJECT_DIR,
    config_overrides: Mapping[str, str] | None = None,
    config_stack: str | None = None,
) -> dict[str, Any]:
    """Execute the program with the stack's config (update, not preview) and return its exports.

    config_overrides take "namespace:key" -> value, like `pulumi config set` before an update;
    config_stack runs `stack` with another stack file's config (a new stack copied from an old one).
    """
    config = {**load_stack_config(config_stack or stack, project_dir), **(config_overrides or {})}
    program = str(project_dir / "__main__.py")

    def execute() -> None:
        runpy.run_path(program, run_name="__main__")

    return run_inline_program(mocks, execute, stack=stack, config=config, project=project_name(project_dir))


def run_inline_program(
    mocks: pulumi.runtime.Mocks,
    program: Callable[[], None],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """Execute `program` (any function declaring resources) as a stack update; return its exports.

    project defaults to the name in the Pulumi.yaml of localcloud's project directory."""
    project = project or project_name()
    with _RUN_LOCK, _without_stack_traces():
        pulumi.runtime.set_all_config(dict(config or {}), [])
        monitor = ExportCapturingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        # set_mocks created and finished its own root Stack, so exports made later would never be
        # registered: start from no root and run the program inside a Stack of our own, as the
        # language host does. Tasks left by set_mocks' Stack belong to another loop: drop them.
        settings.ROOT.set(None)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        _sync_await(run_in_stack(program))
        stack_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
        return dict(monitor.registered_outputs.get(stack_urn, {}))
