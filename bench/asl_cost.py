"""What one execution of a state machine is billed for, counted from its Amazon States Language definition.

The walker follows the success path of a definition (StartAt, then Next until End or Succeed) and counts
what Step Functions bills and what it calls on the workflow's behalf. The billing rules it applies
(Step Functions developer guide, "Transitions",
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html, and
https://aws.amazon.com/step-functions/pricing/):

- a STANDARD execution is billed one state transition per state it enters (Succeed and Fail included);
- an EXPRESS execution is billed per request (execution) and duration, not per transition: the states it
  enters are counted apart, in `express_states`, for information only;
- a Map in Inline mode is one state; the states of every iteration are entered in the same execution;
- a Map in Distributed mode is billed one transition per child workflow execution it starts, and each
  child runs the item processor as an execution of its ProcessorConfig.ExecutionType;
- a startExecution task (fire-and-forget, .sync or .sync:2) starts one execution of the state machine it
  names, billed by that machine's type.

What a definition cannot say - how many items each Map iterates, and what the state machines that
startExecution tasks name look like - is the Workload. Retries, catches and Choice branches are not
walked: this is the cost of a run in which every step succeeds at the first attempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

StateMachineType = Literal["STANDARD", "EXPRESS"]
STANDARD: StateMachineType = "STANDARD"
EXPRESS: StateMachineType = "EXPRESS"
K = TypeVar("K")

LAMBDA_INVOKE = "lambda:invoke"
START_EXECUTION = "states:startExecution"
# arn:<partition>:states:::<service>:<action>[.sync | .sync:2 | .waitForTaskToken]
_INTEGRATION = re.compile(r"^arn:[\w-]+:states:::([\w-]+):(\w+)(?:\.\w+(?::\d+)?)?$")
_LAMBDA_FUNCTION = re.compile(r"^arn:[\w-]+:lambda:")


@dataclass(frozen=True)
class Machine:
    definition: Mapping[str, Any]
    type: StateMachineType


@dataclass(frozen=True)
class Workload:
    """map_items: Map state name -> items it iterates in one execution of the machine that holds it.
    machines: StateMachineArn -> the machine a startExecution task with that ARN starts."""

    map_items: Mapping[str, float]
    machines: Mapping[str, Machine] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """What executions cost in billable units; every count may be fractional once scaled."""

    standard_transitions: float = 0.0
    express_states: float = 0.0  # states entered in EXPRESS executions: not billed per transition
    # (type, machine): executions started, the root included. machine is the StateMachineArn a task
    # started, "<root>", or "<Map state name> child" for a Distributed Map's child executions.
    executions: Mapping[tuple[StateMachineType, str], float] = field(default_factory=dict)
    # FunctionName (or function ARN of a direct Lambda task) -> invocations.
    lambda_invocations: Mapping[str, float] = field(default_factory=dict)
    # "<service>:<action>" -> requests Step Functions makes for the workflow: one per Task state entered
    # (lambda:invoke, apigateway:invoke, dynamodb:updateItem, states:startExecution, ...) and one
    # s3:getObject per Distributed Map ItemReader.
    service_requests: Mapping[str, float] = field(default_factory=dict)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            standard_transitions=self.standard_transitions + other.standard_transitions,
            express_states=self.express_states + other.express_states,
            executions=_summed(self.executions, other.executions),
            lambda_invocations=_summed(self.lambda_invocations, other.lambda_invocations),
            service_requests=_summed(self.service_requests, other.service_requests),
        )

    def times(self, factor: float) -> Usage:
        return Usage(
            standard_transitions=self.standard_transitions * factor,
            express_states=self.express_states * factor,
            executions={key: value * factor for key, value in self.executions.items()},
            lambda_invocations={key: value * factor for key, value in self.lambda_invocations.items()},
            service_requests={key: value * factor for key, value in self.service_requests.items()},
        )

    def executions_of(self, machine_type: StateMachineType) -> float:
        return sum(count for (kind, _), count in self.executions.items() if kind == machine_type)


def _summed(left: Mapping[K, float], right: Mapping[K, float]) -> dict[K, float]:
    total = dict(left)
    for key, value in right.items():
        total[key] = total.get(key, 0.0) + value
    return total


def success_path(definition: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, state) of every state entered when each step succeeds, in order."""
    states: Mapping[str, Mapping[str, Any]] = definition["States"]
    path: list[tuple[str, Mapping[str, Any]]] = []
    name: str = definition["StartAt"]
    while True:
        if name not in states:
            raise ValueError(f"the success path goes to {name!r}, which is not a state")
        if any(entered == name for entered, _ in path):
            raise ValueError(f"the success path enters {name!r} twice: a loop has no fixed cost")
        state = states[name]
        if state["Type"] in ("Choice", "Fail"):
            raise ValueError(
                f"the success path reaches {state['Type']} state {name!r}: it has no single path"
            )
        path.append((name, state))
        if state["Type"] == "Succeed" or state.get("End"):
            return path
        name = state["Next"]


def execution_usage(machine: Machine, workload: Workload, *, label: str = "<root>", depth: int = 0) -> Usage:
    """The usage of one execution of `machine` on its success path, its child executions included."""
    if depth > 10:
        raise ValueError("state machines start each other more than 10 deep: a cycle?")
    started = Usage(executions={(machine.type, label): 1.0})
    return started + _path_usage(machine.definition, machine.type, workload, depth)


def _path_usage(
    definition: Mapping[str, Any], machine_type: StateMachineType, workload: Workload, depth: int
) -> Usage:
    usage = Usage()
    for name, state in success_path(definition):
        usage += _entered(machine_type)
        kind = state["Type"]
        if kind == "Task":
            usage += _task_usage(state, workload, depth)
        elif kind == "Map":
            usage += _map_usage(name, state, machine_type, workload, depth)
        elif kind == "Parallel":
            usage += _sum(_path_usage(branch, machine_type, workload, depth) for branch in state["Branches"])
    return usage


def _entered(machine_type: StateMachineType) -> Usage:
    if machine_type == STANDARD:
        return Usage(standard_transitions=1.0)
    return Usage(express_states=1.0)


def _sum(usages: Iterable[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total += usage
    return total


def integration(resource: str) -> str:
    """`lambda:invoke` for arn:aws:states:::lambda:invoke, `states:startExecution` for
    ...:states:startExecution.sync:2, `lambda:invoke` for a function ARN used directly."""
    if _LAMBDA_FUNCTION.match(resource):
        return LAMBDA_INVOKE
    match = _INTEGRATION.match(resource)
    if match is None:
        raise ValueError(f"Task resource {resource!r} is neither a service integration nor a function ARN")
    return f"{match.group(1)}:{match.group(2)}"


def _task_usage(state: Mapping[str, Any], workload: Workload, depth: int) -> Usage:
    resource: str = state["Resource"]
    action = integration(resource)
    usage = Usage(service_requests={action: 1.0})
    parameters: Mapping[str, Any] = state.get("Parameters") or {}
    if action == LAMBDA_INVOKE:
        function = resource if _LAMBDA_FUNCTION.match(resource) else parameters["FunctionName"]
        usage += Usage(lambda_invocations={function: 1.0})
    elif action == START_EXECUTION:
        arn = parameters["StateMachineArn"]
        if arn not in workload.machines:
            raise ValueError(f"a task starts {arn}, which the workload does not describe")
        usage += execution_usage(workload.machines[arn], workload, label=arn, depth=depth + 1)
    return usage


def _child_machine(processor: Mapping[str, Any]) -> Machine:
    config: Mapping[str, Any] = processor.get("ProcessorConfig") or {}
    return Machine(processor, EXPRESS if config.get("ExecutionType") == EXPRESS else STANDARD)


def distributed_children(machine: Machine) -> dict[str, Machine]:
    """ "<Map state name> child" -> the machine each child execution of that Distributed Map runs, for
    every Distributed Map on `machine`'s success path (the labels Usage.executions uses)."""
    children: dict[str, Machine] = {}
    for name, state in success_path(machine.definition):
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if (
            state.get("Type") == "Map"
            and (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED"
        ):
            child = _child_machine(processor)
            children[f"{name} child"] = child
            children.update(distributed_children(child))
    return children


def _map_usage(
    name: str,
    state: Mapping[str, Any],
    machine_type: StateMachineType,
    workload: Workload,
    depth: int,
) -> Usage:
    if name not in workload.map_items:
        raise ValueError(f"the workload does not say how many items Map state {name!r} iterates")
    if "ItemBatcher" in state:
        raise ValueError(f"Map state {name!r} batches items: child executions are not one per item")
    items = workload.map_items[name]
    processor: Mapping[str, Any] = state.get("ItemProcessor") or state["Iterator"]
    config: Mapping[str, Any] = processor.get("ProcessorConfig") or {}
    if config.get("Mode") != "DISTRIBUTED":
        return _path_usage(processor, machine_type, workload, depth).times(items)
    child = execution_usage(_child_machine(processor), workload, label=f"{name} child", depth=depth + 1)
    # One transition of the parent per child execution started, as the Transitions page says.
    usage = Usage(standard_transitions=items) if machine_type == STANDARD else Usage(express_states=items)
    usage += child.times(items)
    if "ItemReader" in state:
        usage += Usage(service_requests={integration(state["ItemReader"]["Resource"]): 1.0})
    return usage
