"""Fixes for moto 5.2.5's Step Functions interpreter (the LocalStack-derived ASL parser).

Each fix is a small function; `apply()` installs all of them once. They replace private methods of
moto's parser, so `apply()` refuses any moto other than the exact version they were written against
(localcloud.core.moto_version).

JSONata is not patched: moto stubs its evaluator (LocalStack runs a JVM) and no definition of this
program uses `QueryLanguage: JSONata`. Plugging in the pure-Python `jsonata-python` is the fix if one
ever does.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import threading
import time
import uuid
import weakref
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel

from localcloud.core.moto_version import applied_once
from localcloud.services.stepfunctions import express_item_processors, service_roles

_operation_models: dict[tuple[str, str], OperationModel | None] = {}
_botocore_session = botocore.session.get_session()


def _operation_model(service: str, action_snake: str) -> OperationModel | None:
    key = (service, action_snake)
    if key not in _operation_models:
        try:
            service_model = _botocore_session.get_service_model(service)
        except Exception:  # an integration moto knows but botocore does not: leave the keys alone
            _operation_models[key] = None
        else:
            _operation_models[key] = next(
                (
                    service_model.operation_model(name)
                    for name in service_model.operation_names
                    if xform_name(name) == action_snake
                ),
                None,
            )
    return _operation_models[key]


def fix_parameter_normalisation() -> None:
    """Make `states:startExecution.sync(:2)` (and every aws-sdk integration) see boto's key casing.

    moto ships `StateTaskService._normalise_parameters/_normalise_response` as `pass` stubs, so the
    parser, written for LocalStack where they map ASL keys (`StateMachineArn`) to botocore's shape
    keys (`stateMachineArn`), fails with KeyError 'StateMachineArn'. This restores LocalStack's
    behaviour using botocore's own operation shapes.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service as sts,
    )

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if operation is not None and operation.input_shape is not None:
            self._to_boto_request(parameters, operation.input_shape)

    def _normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if operation is not None and operation.output_shape is not None:
            self._from_boto_response(response, operation.output_shape)

    sts.StateTaskService._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    sts.StateTaskService._normalise_response = _normalise_response  # type: ignore[method-assign]


def fix_unnamed_executions() -> None:
    """Give an execution started without a name a uuid, as AWS does.

    moto's parser backend passes `name=None` through: every unnamed execution gets the ARN
    `...:execution:<machine>:None`, and the second one is treated as an idempotent repeat of the first.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


def fix_datetimes_in_sdk_results() -> None:
    """Render datetimes in aws-sdk integration results as ISO-8601 strings, as Step Functions does.

    Results such as `s3:copyObject`'s LastModified reach the execution output as `datetime` objects;
    `describe_execution` then fails to serialise the output and answers HTTP 500.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service as sts,
    )

    original = sts.StateTaskService._from_boto_response_value

    def _from_boto_response_value(response_value: Any) -> Any:
        if isinstance(response_value, datetime.datetime):
            return response_value.isoformat()
        if isinstance(response_value, dict):
            return {key: _from_boto_response_value(value) for key, value in response_value.items()}
        if isinstance(response_value, list):
            return [_from_boto_response_value(value) for value in response_value]
        return original(response_value)

    sts.StateTaskService._from_boto_response_value = staticmethod(_from_boto_response_value)  # type: ignore[method-assign]


def fix_execution_start_time_in_context() -> None:
    """Give `$$.Execution.StartTime` as the ISO-8601 string AWS documents, not a datetime.

    moto puts the execution's datetime into the context object; any Task whose Parameters use it
    (e.g. a DynamoDB putItem of the start time) then fails with "Object of type datetime is not JSON
    serializable" instead of running.
    """
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker  # noqa: PLC0415

    original = ExecutionWorker._get_evaluation_environment

    def _get_evaluation_environment(self: Any) -> Any:
        environment = original(self)
        execution: Any = environment.states.context_object.context_object_data["Execution"]
        started = execution.get("StartTime")
        if isinstance(started, datetime.datetime):
            iso = started.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
            execution["StartTime"] = iso.replace("+00:00", "Z")
        return environment

    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment  # type: ignore[method-assign]


def fix_distributed_map_failure_tolerance() -> None:
    """Fail a Distributed Map whose failed items exceed its tolerated failure count / percentage.

    moto counts failed child executions but then reports the Map Run as SUCCEEDED whatever the count,
    so a batch whose chunks failed would merge and report success. AWS fails the Map state with
    States.ExceedToleratedFailureThreshold when failures exceed ToleratedFailureCount or
    ToleratedFailurePercentage (both default to 0).
    """
    from moto.stepfunctions.parser.api import (  # noqa: PLC0415
        HistoryEventType,
        TaskFailedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: PLC0415
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: PLC0415
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: PLC0415
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (  # noqa: PLC0415
        distributed_iteration_component as dic,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415

    original = dic.DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        items = eval_input.map_run_record.item_counter
        failed = items.failed.get() + items.timed_out.get()
        total = max(items.total.get(), 1)
        tolerated_count = eval_input.tolerated_failure_count or 0
        tolerated_percentage = eval_input.tolerated_failure_percentage or 0.0
        # moto stores an unset threshold as 0, the same as "tolerate none": a threshold applies when set
        # (> 0); with neither set, any failure fails the run.
        exceeded = (
            (tolerated_count > 0 and failed > tolerated_count)
            or (tolerated_percentage > 0 and 100.0 * failed / total > tolerated_percentage)
            or (tolerated_count == 0 and tolerated_percentage == 0 and failed > 0)
        )
        if exceeded:
            error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                    event_type=HistoryEventType.TaskFailed,
                    # moto's EventDetails TypedDict is total, yet moto itself sets one key at a time.
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=error,
                            cause=(
                                f"The specified tolerated failure threshold was exceeded: {failed} of "
                                f"{items.total.get()} items failed"
                            ),
                        )
                    ),
                )
            )

    dic.DistributedIterationComponent._map_run = _map_run  # type: ignore[method-assign]


SYNC_EXECUTION_TIMEOUT_SECONDS = 300  # an EXPRESS execution's limit
# A waiting StartSyncExecution is woken by its execution's end (`_ended`); it also looks at the status
# this often, for an end that does not pass through moto's `terminated` (a stop).
SYNC_STATUS_RECHECK_SECONDS = 0.25


def add_start_sync_execution() -> None:
    """StartSyncExecution for EXPRESS machines (moto 5.2.5 has none): start, wait, answer the result.

    Shaped like AWS's reply (status SUCCEEDED | FAILED | TIMED_OUT, output, error, cause, dates); a
    STANDARD machine is refused as AWS refuses it. Clients must not add the `sync-` host prefix to a
    loopback endpoint: localcloud's Lambda environment sets AWS_DISABLE_HOST_PREFIX_INJECTION.
    """
    from moto.core.exceptions import AWSError  # noqa: PLC0415
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    class StateMachineTypeNotSupportedError(AWSError):
        TYPE = "StateMachineTypeNotSupported"
        STATUS = 400

    def start_sync_execution(self: Any) -> Any:
        backend = self.stepfunction_backend
        arn = self._get_param("stateMachineArn")
        machine = backend.describe_state_machine(arn)
        if machine.type != "EXPRESS":
            raise StateMachineTypeNotSupportedError(
                "This operation is not supported by this type of state machine"
            )
        execution = backend.start_execution(
            arn, self._get_param("name") or str(uuid.uuid4()), self._get_param("input", if_none="{}")
        )
        deadline = time.monotonic() + SYNC_EXECUTION_TIMEOUT_SECONDS
        ended = _ended(execution)
        while str(execution.status).endswith("RUNNING") and (left := deadline - time.monotonic()) > 0:
            ended.wait(min(left, SYNC_STATUS_RECHECK_SECONDS))
        status = str(getattr(execution.status, "value", execution.status))
        response: dict[str, Any] = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": arn,
            "name": execution.name,
            "startDate": execution.start_date,
            "stopDate": execution.stop_date or datetime.datetime.now(tz=datetime.UTC),
            "status": "TIMED_OUT" if status == "RUNNING" else status,
            "input": execution.execution_input,
            "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100},
        }
        if status == "SUCCEEDED":
            output = execution.output
            response["output"] = output if isinstance(output, str) or output is None else json.dumps(output)
        if execution.error is not None:
            response["error"] = execution.error
        if execution.cause is not None:
            response["cause"] = execution.cause
        return ActionResult(response)

    StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]


def reuse_parsed_definitions() -> None:
    """Parse each state machine definition once, not once per execution.

    moto's ExecutionWorker runs the ANTLR parser over the definition for every execution: about a fifth
    of the emulator's CPU under the events benchmark (an EXPRESS execution per event). The parsed
    program is declarations only; every execution keeps its state in its own Environment, so one parse
    serves all executions of a definition, concurrent ones included.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker  # noqa: PLC0415

    @functools.lru_cache(maxsize=256)
    def parsed(definition: str) -> Any:
        return AmazonStateLanguageParser.parse(definition)[0]

    def get_evaluation_entrypoint(self: Any) -> Any:
        return parsed(self._evaluation_details.state_machine_details.definition)

    ExecutionWorker._get_evaluation_entrypoint = get_evaluation_entrypoint  # type: ignore[method-assign]


def parse_json_paths_once() -> None:
    """Compile each JSONPath once, not at every use.

    moto's interpreter compiles a state's paths (InputPath, OutputPath, `.$` parameters, ResultPath)
    with jsonpath_ng's `parse` each time a state evaluates them, and `parse` builds a new PLY parser
    every call: about 2 % of the emulator's CPU under the events benchmark. A compiled path holds no
    data: `find` and `update_or_create` read it and work on the document they are given.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.utils import json_path  # noqa: PLC0415

    json_path.parse = functools.lru_cache(maxsize=1024)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=1024)(result_path.parse)


# Notified whenever an execution ends: a .sync task waiting for one looks again at once.
_EXECUTION_ENDED = threading.Condition()
# Set when one execution ends: a StartSyncExecution waits on its own execution's (eight requests
# sleeping 2 ms at a time cost the events benchmark's one GIL about 500 wake-ups per execution).
_ended_events: weakref.WeakKeyDictionary[Any, threading.Event] = weakref.WeakKeyDictionary()
_ended_events_lock = threading.Lock()


def _ended(execution: Any) -> threading.Event:
    """The event a StartSyncExecution waits on, registered before it first looks at the status: an end
    that comes after that look finds the event here and sets it."""
    with _ended_events_lock:
        event = _ended_events.get(execution)
        if event is None:
            event = _ended_events[execution] = threading.Event()
        return event


def _set_ended(execution: Any) -> None:
    """Wake the StartSyncExecution waiting on `execution`, if any (other executions get no event)."""
    with _ended_events_lock:
        event = _ended_events.get(execution)
    if event is not None:
        event.set()


class _SyncTaskClock:
    """The `time` module as moto's .sync integrations see it: their sleep between two checks of the
    child execution (moto's fixed 0.5 s) ends early when any execution ends. The check itself is still
    moto's DescribeExecution as the machine's role (IAM-checked); only the idle wait is shortened, so a
    parent notices its child's end in milliseconds instead of a quarter of a second on average."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        with _EXECUTION_ENDED:
            _EXECUTION_ENDED.wait(seconds)


def finish_sync_waits_when_executions_end() -> None:
    """A .sync task (startExecution.sync:2, the batch workflow's chunk processors) sees its child end at
    once instead of on moto's next half-second poll."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication  # noqa: PLC0415

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original(self)
        _set_ended(self.execution)
        with _EXECUTION_ENDED:
            _EXECUTION_ENDED.notify_all()

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    callback.time = _SyncTaskClock()  # type: ignore[assignment]


@applied_once
def apply() -> None:
    """Install every fix (idempotent); raises if moto is not the version the fixes were written for."""
    fix_parameter_normalisation()
    fix_unnamed_executions()
    fix_datetimes_in_sdk_results()
    fix_execution_start_time_in_context()
    fix_distributed_map_failure_tolerance()
    add_start_sync_execution()
    express_item_processors.apply()
    reuse_parsed_definitions()
    parse_json_paths_once()
    finish_sync_waits_when_executions_end()
    # Service integrations sign as the machine's role, one cached client per role and service.
    service_roles.install()
    # moto logs every failure a state raises at ERROR with the whole state's repr, caught or not; in
    # Step Functions those are execution history events (describe_execution/get_execution_history).
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)
