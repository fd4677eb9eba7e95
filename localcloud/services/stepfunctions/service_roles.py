"""Step Functions calls services as the state machine's role, as AWS does.

moto's interpreter builds its service integrations' clients with `boto_client_for(region, service,
state_credentials)` (Lambda invoke, DynamoDB, SQS, SNS, EventBridge, states:startExecution(.sync),
aws-sdk:* tasks, a Distributed Map's ItemReader and ResultWriter) and signs them with a fixed key the
emulator cannot attribute to anyone. `install()` replaces that function in every module that imported
it: while an emulator enforces IAM, a task's client signs with a session of the role in
`state_credentials` (the execution's `roleArn`; Map iterations, Parallel branches and Distributed Map
children evaluate in frames of the parent's environment, so they carry the same role), assumed as
states.amazonaws.com through `RoleSessions`, and the emulator authorizes each call against that role's
policies (iam/enforcement.py).

A role the service may not assume (missing, or its trust policy does not name states.amazonaws.com)
fails the task, not the interpreter: the client factory raises AccessDenied as a botocore ClientError,
which every integration already turns into a TaskFailed event naming the role, and the refusal is
counted as an IAM denial.

moto runs a Distributed Map's child executions in-process, without the calls Step Functions makes as the
role to start and watch them; `authorize_distributed_map_children()` authorizes those actions per Map
Run instead.

Limit: a Task's own `Credentials.RoleArn` is assumed the same way (by states.amazonaws.com); AWS has the
execution role assume it, so its trust policy names the execution role instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.core.clients import SharedClients
from localcloud.services.iam import enforcement
from localcloud.services.iam.enforcement import Denial, IamEnforcement
from localcloud.services.iam.request_authorization import Check
from localcloud.services.iam.role_sessions import RoleNotAssumableError, RoleSessions

logger = logging.getLogger(__name__)

STATES_SERVICE_PRINCIPAL = "states.amazonaws.com"
# One session per role, whichever machine runs with it: sessions are cached for the emulator's life.
SESSION_NAME = "StepFunctions"
_LOOPBACK = "127.0.0.1"

# The modules that import `boto_client_for` by name; the factory imports every service task's module.
_CALLER_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)


def _interpreter_config() -> Config:
    """moto's own client settings for the interpreter: no botocore retries (a task's Retry block decides,
    and counts, every attempt), no parameter validation (ASL parameters arrive in their JSON types) and
    no read timeout a task's own TimeoutSeconds could not override (a Lambda task may run 15 minutes)."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (  # noqa: PLC0415
        TimeoutSeconds,
    )

    return Config(
        parameter_validation=False,
        retries={"max_attempts": 0, "total_max_attempts": 1},
        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
    )


class MachineRoleClients:
    """One emulator's clients for the interpreter: one per (role, region, service), signing with a session
    of the role. boto3 clients are thread-safe and slow to build (model loading and method generation:
    about a tenth of the emulator's CPU under the events benchmark when moto built one per task)."""

    def __init__(self, endpoint_url: str, iam: IamEnforcement) -> None:
        self.endpoint_url = endpoint_url
        self._iam = iam
        # Reading the trust policy and assuming the role are the service's own calls: control plane.
        self._sessions = RoleSessions(SharedClients(endpoint_url))
        self._config = _interpreter_config()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, role_arn: str | None, region: str, service: str) -> Any:
        """A client signing as `role_arn`'s session; a role Step Functions cannot assume raises AccessDenied
        (ClientError), so the task fails with it in the execution history."""
        if not role_arn:
            raise self._refuse("", "the execution names no role")
        key = (role_arn, region, service)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        client = self._new_client(service, region, self._credentials(role_arn))
        with self._lock:
            return self._clients.setdefault(key, client)

    def authorize(self, role_arn: str | None, checks: Sequence[Check]) -> None:
        """Authorize what the service does as the role without a request of its own (a Distributed Map
        starting and watching its child executions); AccessDenied (ClientError) when refused."""
        if not role_arn:
            raise self._refuse("", "the execution names no role")
        denial = enforcement.authorize_session(self._credentials(role_arn)["AWS_ACCESS_KEY_ID"], checks)
        if denial is not None:
            raise _access_denied(denial.message(), denial.action.split(":", 1)[-1])

    def _credentials(self, role_arn: str) -> dict[str, str]:
        try:
            return self._sessions.credentials(role_arn, STATES_SERVICE_PRINCIPAL, SESSION_NAME)
        except RoleNotAssumableError as refused:
            # RoleSessions chains the IAM lookup's NoSuchEntity when the role does not exist.
            reason = (
                "the role does not exist"
                if refused.__cause__ is not None
                else f"its trust policy does not allow {STATES_SERVICE_PRINCIPAL} to assume it"
            )
            raise self._refuse(role_arn, reason) from refused

    def _new_client(self, service: str, region: str, credentials: Mapping[str, str]) -> Any:
        # boto3-stubs type boto3.client per literal service name; `service` is any str, so the result is Any
        new_client: Any = boto3.client
        client = new_client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            config=self._config,
        )
        client.meta.events.register("after-call", _ensure_request_id)
        # Over the port, not localcloud/core/in_process.py: run on the interpreter's own thread, its calls
        # held the GIL while the Lambda workers waited for answers (batch 1,608 -> 1,768 rows/s over the
        # port; the audit ingest's 1 KB p50 1.5-2 ms worse in-process).
        return client

    def _refuse(self, role_arn: str, reason: str) -> ClientError:
        """STS's refusal, counted as the IAM denial it is, shaped as the ClientError the integrations map."""
        denial = Denial(STATES_SERVICE_PRINCIPAL, "sts:AssumeRole", role_arn or "*", reason)
        self._iam.record("denied", denial)
        logger.warning("Step Functions cannot act as its role: %s", denial.message())
        return _access_denied(denial.message(), "AssumeRole")


def _access_denied(message: str, operation: str) -> ClientError:
    # The keys the integrations' error mapping reads (botocore's TypedDict also wants HTTP headers).
    response: Any = {
        "Error": {"Code": "AccessDenied", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": str(uuid.uuid4())},
    }
    return ClientError(response, operation)


def _ensure_request_id(parsed: Any = None, **_: Any) -> None:
    """Give a response the request id AWS always sends: moto's query-protocol errors (an SNS or SQS
    AccessDenied among them) carry none, and moto's SNS integration reads it to word a task's failure (a
    KeyError there ends the whole execution instead of failing the task)."""
    if isinstance(parsed, dict):
        metadata = parsed.setdefault("ResponseMetadata", {})
        if not metadata.get("RequestId"):
            metadata["RequestId"] = str(uuid.uuid4())


_lock = threading.Lock()
_current: MachineRoleClients | None = None
_current_owner: IamEnforcement | None = None


def machine_role_clients() -> MachineRoleClients | None:
    """The running emulator's clients (built at its first task), or None while no emulator enforces IAM.

    Keyed on the emulator's IamEnforcement: each emulator resets moto, so sessions and clients of the
    previous one (its STS sessions, its port) must not outlive it."""
    global _current, _current_owner  # noqa: PLW0603 - moto's interpreter is process-global too
    iam = enforcement.active()
    port = os.environ.get("MOTO_PORT")
    if iam is None or not port:
        return None
    with _lock:
        if _current is None or _current_owner is not iam:
            _current = MachineRoleClients(f"http://{_LOOPBACK}:{port}", iam)
            _current_owner = iam
        return _current


def authorize_distributed_map_children() -> None:
    """A Distributed Map's child executions are started and watched by Step Functions as the machine's
    role: states:StartExecution on the machine itself, states:DescribeExecution and StopExecution on
    `execution:<machine>/<label>:<id>`. moto runs the children in-process without those calls, so they
    are authorized once per Map Run before it starts; a refusal fails the Map Run with the AccessDenied."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (  # noqa: PLC0415
        distributed_iteration_component as dic,
    )

    original = dic.DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        clients = machine_role_clients()
        if clients is not None:
            machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
            children = eval_input.map_run_record.map_state_machine_arn.replace(
                ":stateMachine:", ":execution:", 1
            )
            child = f"{children}:{uuid.uuid4()}"
            clients.authorize(
                env.aws_execution_details.role_arn,
                [
                    Check("states:StartExecution", machine),
                    Check("states:DescribeExecution", child),
                    Check("states:StopExecution", child),
                ],
            )
        original(self, env, eval_input)

    dic.DistributedIterationComponent._map_run = _map_run  # type: ignore[method-assign]


def install() -> None:
    """Replace moto's `boto_client_for` with one signing as the execution's role (process-global)."""
    from moto.core.models import botocore_stubber  # noqa: PLC0415 - moto is slow to import
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    original = boto_client.boto_client_for
    unenforced: dict[tuple[str, str, str, bool], Any] = {}
    unenforced_lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        clients = machine_role_clients()
        if clients is not None:
            return clients.client(getattr(state_credentials, "role_arn", None), region, service)
        # No emulator enforces IAM (moto on its own): moto's client, built once per target.
        key = (region, service, os.environ.get("MOTO_PORT", ""), bool(botocore_stubber.enabled))
        with unenforced_lock:
            if key not in unenforced:
                unenforced[key] = original(region, service, state_credentials)
            return unenforced[key]

    for name in _CALLER_MODULES:
        importlib.import_module(name)
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
    authorize_distributed_map_children()
