"""Docker-free Lambda for the embedded emulator: deployed handlers run in warm worker subprocesses.

LambdaRuntime gives moto's functions AWS's invocation semantics: a warm environment per function, code
and environment (execution_environment.py), reused while idle and discarded after a timeout or crash,
importing only from the function's deployed package, its layers (a Python layer's `python/` and
`python/lib/python3.x/site-packages`, in the function's order) and the runtime's SDK (runtime_sdk.py); a
concurrency cap per function (its reserved concurrency, else `concurrency_per_function`); asynchronous
invocations retried twice, then handed to on_failure and the function's dead-letter queue; every
invocation's logs written to the function's log group. `install()` routes moto's invocation paths here
(patches.py).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localcloud.core.activity_log import invocation_line
from localcloud.core.clients import DEFAULT_ACCOUNT_ID, emulator_client
from localcloud.services.elasticache.certificates import local_certificate_authority
from localcloud.services.iam.enforcement import record_service_decision
from localcloud.services.iam.policy_evaluation import AuthorizationRequest, NamedPolicy, evaluate
from localcloud.services.iam.role_sessions import RoleNotAssumableError, RoleSessions
from localcloud.services.lambda_ import patches
from localcloud.services.lambda_.execution_environment import (
    ExecutionEnvironment,
    InitTimedOutError,
    timed_out,
    trust_store,
)
from localcloud.services.lambda_.images import Images
from localcloud.services.lambda_.runtime_sdk import install_runtime_sdk

logger = logging.getLogger(__name__)

# The interpreter's own version: workers run this interpreter (python3.13, the functions' runtime).
LAMBDA_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
DEFAULT_CONCURRENCY_PER_FUNCTION = 8
LAMBDA_SERVICE_PRINCIPAL = "lambda.amazonaws.com"
# Lambda's synchronous response limit on the serialised payload, the figure its own error message states.
RESPONSE_PAYLOAD_LIMIT_BYTES = 6_291_556
# AWS retries a failed asynchronous invocation twice, with delays of about 1 and 2 minutes.
DEFAULT_ASYNC_RETRY_DELAYS_SECONDS: tuple[float, ...] = (0.2, 0.4)
# Variables a worker inherits from this process; everything else comes from the function.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

OnFailure = Callable[[dict[str, Any], "InvocationResult"], None]


def _role_not_assumable(refusal: RoleNotAssumableError) -> dict[str, str]:
    """Lambda's answer for a function whose role does not trust it: AWS refuses such a function outright."""
    return {
        "errorType": "InvalidParameterValueException",
        "errorMessage": f"The role defined for the function cannot be assumed by Lambda: {refusal.role_arn}",
    }


@dataclass(frozen=True)
class InvocationResult:
    """What an invocation returned: the handler's value, or Lambda's error payload."""

    payload: Any
    error_type: str | None
    error_message: str | None
    logs: str

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class LambdaRuntime:
    """Runs the emulator's Lambda functions in warm subprocesses with AWS's invocation semantics."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        concurrency_per_function: int = DEFAULT_CONCURRENCY_PER_FUNCTION,
        async_retry_delays_seconds: Sequence[float] = DEFAULT_ASYNC_RETRY_DELAYS_SECONDS,
        async_pool_size: int = 16,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.concurrency_per_function = concurrency_per_function
        self.async_retry_delays_seconds = tuple(async_retry_delays_seconds)
        self._code_root = Path(tempfile.mkdtemp(prefix="localcloud-lambda-"))
        self._runtime_sdk = install_runtime_sdk()
        # What the runtime provides: the machine's CAs and localcloud's, whose certificates the emulated
        # endpoints present (ElastiCache's TLS), so a handler verifies them with the default trust store.
        self._trust_store = trust_store(
            [local_certificate_authority().certificate_file], self._code_root / "trust-store.pem"
        )
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, ...], list[ExecutionEnvironment]] = {}
        self._workers: list[ExecutionEnvironment] = []
        self._images = Images()
        self._limits: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._async_pool = ThreadPoolExecutor(max_workers=async_pool_size, thread_name_prefix="lambda-async")
        self._async_in_flight = 0
        self._in_flight = 0
        self._closed = False
        self._role_sessions = RoleSessions(
            lambda service, region: emulator_client(endpoint_url, service, region)
        )
        atexit.register(self.shutdown)

    # -- installation into moto ---------------------------------------------------------------

    def install(self) -> None:
        """Route every moto Lambda invocation path through this runtime (process-global)."""
        patches.install(self)

    def shutdown(self) -> None:
        """Stop every worker and the async pool; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers, self._idle = self._workers, [], {}
        self._async_pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.kill()
        self._images.close()
        shutil.rmtree(self._code_root, ignore_errors=True)
        patches.uninstall(self)
        atexit.unregister(self.shutdown)

    @property
    def busy(self) -> bool:
        """True while any invocation (synchronous or queued asynchronous) is in flight."""
        with self._lock:
            return self._in_flight > 0 or self._async_in_flight > 0

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (tests use them to see warm reuse and the concurrency cap)."""
        with self._lock:
            return [worker.pid for worker in self._workers if worker.alive]

    # -- public invocation API -------------------------------------------------------------------

    def invoke(self, function_arn_or_name: str, region: str, event: Any) -> InvocationResult:
        """Invoke synchronously (RequestResponse) and return the handler's result or error."""
        return self.run(_find_function(function_arn_or_name, region), event)

    def invoke_async(
        self,
        function_arn_or_name: str,
        region: str,
        event: dict[str, Any],
        *,
        on_failure: OnFailure | None = None,
    ) -> Future[InvocationResult]:
        """Invoke as InvocationType=Event does: retry twice, then on_failure and the function's DLQ."""
        function = _find_function(function_arn_or_name, region)
        with self._lock:
            self._async_in_flight += 1
        try:
            return self._async_pool.submit(self._run_async, function, event, on_failure)
        except RuntimeError:  # pool shut down
            with self._lock:
                self._async_in_flight -= 1
            raise

    def _run_async(
        self, function: Any, event: dict[str, Any], on_failure: OnFailure | None
    ) -> InvocationResult:
        try:
            result = self.run(function, event)
            for delay_seconds in self.async_retry_delays_seconds:
                if not result.failed or self._closed:
                    break
                time.sleep(delay_seconds)
                result = self.run(function, event)
            if result.failed:
                self._give_up(function, event, result, on_failure)
            return result
        finally:
            with self._lock:
                self._async_in_flight -= 1

    def _give_up(
        self, function: Any, event: dict[str, Any], result: InvocationResult, on_failure: OnFailure | None
    ) -> None:
        if on_failure is not None:
            try:
                on_failure(event, result)
            except Exception:
                logger.exception("on_failure callback for %s raised", function.function_name)
        target_arn = (getattr(function, "localcloud_dead_letter_config", None) or {}).get("TargetArn")
        if target_arn:
            try:
                self._send_to_dead_letter_target(function, target_arn, event, result)
            except Exception:
                logger.exception(
                    "could not send a failed event of %s to %s", function.function_name, target_arn
                )
        elif on_failure is None:
            logger.warning(
                "async invocation of %s failed after retries (%s: %s); the function has no DeadLetterConfig",
                function.function_name,
                result.error_type,
                result.error_message,
            )

    def _send_to_dead_letter_target(
        self, function: Any, target_arn: str, event: dict[str, Any], result: InvocationResult
    ) -> None:
        # Lambda's DLQ message: body is the event; attributes say why (ErrorCode is the Invoke status).
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": (result.error_message or "")[:1000] or "-"},
        }
        self.send_to_target(function.function_arn, function.region, target_arn, json.dumps(event), attributes)

    def send_to_target(
        self,
        function_arn: str,
        function_region: str,
        target_arn: str,
        body: str,
        attributes: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Send a function's failure to a target Lambda accepts (an SQS queue or an SNS topic), by ARN, as
        the function's execution role: AWS sends dead letters and on-failure records with it, so the role
        needs sqs:SendMessage or sns:Publish on the target."""
        service, region, account, name = target_arn.split(":")[2:6]
        extra = {"MessageAttributes": attributes} if attributes else {}
        session = self._role_session(_find_function(function_arn, function_region))
        if service == "sqs":
            # AWS addresses the queue by its ARN: looking its URL up is not the role's call.
            queue_url = self.client("sqs", region).get_queue_url(
                QueueName=name, QueueOwnerAWSAccountId=account
            )["QueueUrl"]
            sqs = emulator_client(self.endpoint_url, "sqs", region, session)
            sqs.send_message(QueueUrl=queue_url, MessageBody=body, **extra)
        elif service == "sns":
            emulator_client(self.endpoint_url, "sns", region, session).publish(
                TopicArn=target_arn, Message=body, **extra
            )
        else:
            raise ValueError(
                f"unsupported failure target {target_arn}: Lambda sends to SQS queues and SNS topics"
            )

    def role_client(self, function_arn: str, region: str, service: str) -> Any:
        """A client signing as the function's execution role: what Lambda's pollers read a function's event
        source with (so the role needs, e.g., sqs:ReceiveMessage on its queue, as on AWS)."""
        function = _find_function(function_arn, region)
        return emulator_client(self.endpoint_url, service, region, self._role_session(function))

    def client(self, service: str, region: str) -> Any:
        """A client of its own (pollers keep it busy with long polls; see localcloud.core.clients)."""
        return emulator_client(self.endpoint_url, service, region)

    # -- execution ---------------------------------------------------------------------------------

    def run(self, function: Any, event: Any) -> InvocationResult:
        """Run one invocation of a moto LambdaFunction and write its logs to CloudWatch Logs."""
        request_id = str(uuid.uuid4())
        timeout_seconds = float(function.timeout)
        started = time.monotonic()
        with self._lock:
            self._in_flight += 1
        try:
            with self._concurrency_slot(function):
                response = self._call_worker(function, event, request_id, timeout_seconds)
        except RoleNotAssumableError as refusal:
            refused = _role_not_assumable(refusal)
            response = {"ok": False, "payload": json.dumps(refused), "logs": f"{refused['errorMessage']}\n"}
        finally:
            with self._lock:
                self._in_flight -= 1
        duration_ms = (time.monotonic() - started) * 1000
        if response["ok"] and len(response["payload"].encode()) > RESPONSE_PAYLOAD_LIMIT_BYTES:
            too_large = _response_too_large(response["payload"])
            response = {**response, "ok": False, "payload": json.dumps(too_large)}
        payload = json.loads(response["payload"])
        error_type = error_message = None
        if not response["ok"]:
            error = payload if isinstance(payload, dict) else {}
            error_type = str(error.get("errorType") or "Unhandled")
            error_message = str(error.get("errorMessage", ""))
        logs = (
            f"START RequestId: {request_id} Version: {function.version}\n"
            f"{response.get('logs', '')}"
            + (f"{error_message}\n" if error_type == "Sandbox.Timedout" else "")
            + f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {function.memory_size} MB\n"
        )
        _write_logs(function, request_id, logs)
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                invocation_line(
                    function.function_name,
                    duration_ms,
                    error_type=error_type,
                    error_message=error_message,
                    worker_logs=response.get("logs", ""),
                    payload=payload,
                )
            )
        return InvocationResult(
            payload=payload, error_type=error_type, error_message=error_message, logs=logs
        )

    def _concurrency_slot(self, function: Any) -> threading.BoundedSemaphore:
        reserved = function.reserved_concurrency
        limit = int(reserved) if reserved else self.concurrency_per_function
        key = (function.function_arn, max(1, limit))
        with self._lock:
            semaphore = self._limits.get(key)
            if semaphore is None:
                semaphore = self._limits[key] = threading.BoundedSemaphore(key[1])
        return semaphore

    def _call_worker(
        self, function: Any, event: Any, request_id: str, timeout_seconds: float
    ) -> dict[str, Any]:
        env = self._environment(function)
        key = (
            function.function_arn,
            function.code_sha_256,
            json.dumps(env, sort_keys=True),
            json.dumps(function.layers or [], sort_keys=True),
            function.handler,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda runtime has been shut down")
            idle = self._idle.setdefault(key, [])
            worker = idle.pop() if idle else None
        if worker is None:
            try:
                worker = self._start_environment(key, function, env, timeout_seconds)
            except InitTimedOutError:
                return timed_out(timeout_seconds)
        context = {
            "function_name": function.function_name,
            "function_version": str(function.version),
            "invoked_function_arn": function.function_arn,
            "memory_limit_in_mb": int(function.memory_size),
            "aws_request_id": request_id,
            "log_group_name": function.logs_group_name,
            "log_stream_name": _log_stream_name(function, worker.id),
            "timeout_seconds": timeout_seconds,
        }
        response = worker.call({"event": event, "context": context}, timeout_seconds)
        with self._lock:
            if worker.alive and not self._closed:
                self._idle.setdefault(key, []).append(worker)
            else:
                # A timed-out or crashed environment is discarded, as Lambda does.
                worker.kill()
                with contextlib.suppress(ValueError):
                    self._workers.remove(worker)
        return response

    def _start_environment(
        self, key: tuple[str, ...], function: Any, env: dict[str, str], timeout_seconds: float
    ) -> ExecutionEnvironment:
        """A new environment forked from the function's image (started, and its init run, on first need).

        The init is not part of the invocation's timeout, as on Lambda, but must end within it."""
        search_path = (self._code_dir(function), *self._layer_paths(function), self._runtime_sdk)
        worker = self._images.start_environment(key, search_path, function.handler, env, timeout_seconds)
        with self._lock:
            self._workers.append(worker)
        return worker

    def _environment(self, function: Any) -> dict[str, str]:
        env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
        env.update(
            {
                "AWS_REGION": function.region,
                "AWS_DEFAULT_REGION": function.region,
                **self._role_session(function),
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
                "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
                "LAMBDA_TASK_ROOT": str(self._code_dir(function)),
                "_HANDLER": str(function.handler),
                "TZ": ":UTC",
                "SSL_CERT_FILE": str(self._trust_store),
            }
        )
        env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
        # Set last: the function must talk to the emulator, and there is no X-Ray daemon locally.
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        # StartSyncExecution's `sync-` host prefix cannot be put in front of a loopback address.
        env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
        env["POWERTOOLS_TRACE_DISABLED"] = "1"
        return env

    def service_may_invoke(self, function_arn: str, region: str, service: str, source_arn: str) -> bool:
        """Whether the function's resource policy lets `service` (s3.amazonaws.com, sns.amazonaws.com, ...)
        invoke it for `source_arn`, as Lambda checks before a trigger's invocation."""
        return self.may_invoke(function_arn, region, service, "lambda:InvokeFunction", source_arn, {})

    def may_invoke(  # noqa: PLR0917 - the parts of one authorization question
        self,
        function_arn: str,
        region: str,
        principal: str,
        action: str,
        source_arn: str | None,
        context: dict[str, Any],
    ) -> bool:
        """Whether the function's resource policy allows `principal` (a service such as
        apigateway.amazonaws.com, or "*" for anyone, e.g. a public function URL's caller) the `action`;
        every decision is recorded with the emulator's IAM decisions."""
        function = _find_function(function_arn, region)
        account = function.function_arn.split(":")[4]
        statements = [_as_aws_writes_it(statement) for statement in function.policy.statements or []]
        policy = NamedPolicy("function policy", {"Version": "2012-10-17", "Statement": statements})
        service = principal if principal.endswith(".amazonaws.com") else None
        request = AuthorizationRequest(
            principal_arn=principal,
            # an anonymous caller is judged by the resource policy alone, as AWS judges public access
            principal_account=account,
            action=action,
            resource=function.function_arn,
            service_principal=service,
            context={
                **({"aws:SourceArn": source_arn, "aws:SourceAccount": account} if source_arn else {}),
                **context,
            },
        )
        decision = evaluate(request, [], policy if statements else None)
        record_service_decision(principal, action, request.resource, decision)
        return decision.allowed

    def _role_session(self, function: Any) -> dict[str, str]:
        """The execution role's session credentials, as the Lambda service assumes the role: the emulator
        authenticates and authorizes every call the handler makes as that role (iam/enforcement.py).
        Lambda refreshes a warm environment's credentials; a worker keeps its own for its life."""
        return self._role_sessions.credentials(
            function.role, LAMBDA_SERVICE_PRINCIPAL, function.function_name
        )

    def _code_dir(self, function: Any) -> Path:
        return self._unpacked(function.code_sha_256, function.code_bytes)

    def _layer_paths(self, function: Any) -> list[Path]:
        """The import paths a function's layers add, in the order the function lists them."""
        paths = []
        for layer in function.layers or []:
            version = _find_layer_version(layer["Arn"])
            root = self._unpacked(version.code_sha_256, version.code_bytes)
            python = root / "python"
            paths += [python / "lib" / LAMBDA_PYTHON / "site-packages", python]
        return paths

    def _unpacked(self, code_sha_256: str, code_bytes: bytes) -> Path:
        """A zip unpacked once per content: functions sharing a package (or a layer) share the directory."""
        # CodeSha256 is base64: it may hold "/", so name the directory by a hex digest of it.
        target = self._code_root / hashlib.sha256(code_sha_256.encode()).hexdigest()[:16]
        if not target.is_dir():
            staging = self._code_root / f".{target.name}.{uuid.uuid4().hex}"
            with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
                archive.extractall(staging)
            try:
                staging.rename(target)
            except OSError:  # another thread extracted the same code first
                shutil.rmtree(staging, ignore_errors=True)
        return target


# -- moto lookups and log writing ------------------------------------------------------------------


def _find_function(function_arn_or_name: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend  # noqa: PLC0415

    account_id = DEFAULT_ACCOUNT_ID
    if function_arn_or_name.startswith("arn:"):
        parts = function_arn_or_name.split(":")
        region, account_id = parts[3], parts[4]
    return get_backend(account_id, region).get_function(function_arn_or_name)


def _as_aws_writes_it(statement: dict[str, Any]) -> dict[str, Any]:
    """moto keeps AddPermission's FunctionUrlAuthType and InvokedViaFunctionUrl as statement keys; AWS
    writes them into the statement's Condition, which is how they are evaluated."""
    written = {key: value for key, value in statement.items() if key not in _URL_PERMISSION_KEYS}
    condition = {operator: dict(pairs) for operator, pairs in (statement.get("Condition") or {}).items()}
    if "FunctionUrlAuthType" in statement:
        auth_type = statement["FunctionUrlAuthType"]
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = auth_type
    if statement.get("InvokedViaFunctionUrl"):
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if condition:
        written["Condition"] = condition
    return written


_URL_PERMISSION_KEYS = ("FunctionUrlAuthType", "InvokedViaFunctionUrl")


def _response_too_large(payload: str) -> dict[str, str]:
    return {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": (
            f"Response payload size ({len(payload.encode())} bytes) exceeded maximum allowed payload size "
            f"({RESPONSE_PAYLOAD_LIMIT_BYTES} bytes)."
        ),
    }


def _find_layer_version(layer_version_arn: str) -> Any:
    from moto.awslambda.utils import get_backend  # noqa: PLC0415

    region, account_id = layer_version_arn.split(":")[3:5]
    # The API's GetLayerVersionByArn gives a download URL only; the bytes live in the backend's storage.
    version = get_backend(account_id, region)._layers.get_layer_version_by_arn(layer_version_arn)
    if version is None:
        raise LookupError(f"layer version {layer_version_arn} does not exist")
    return version


def _log_stream_name(function: Any, worker_id: str) -> str:
    today = datetime.now(UTC)
    return f"{today:%Y/%m/%d}/[{function.version}]{worker_id}"


def _write_logs(function: Any, request_id: str, logs: str) -> None:
    # One stream per invocation keeps concurrent invocations' lines apart; AWS uses one per environment.
    backend = function.logs_backend
    backend.ensure_log_group(function.logs_group_name)
    stream = _log_stream_name(function, request_id.replace("-", ""))
    backend.create_log_stream(function.logs_group_name, stream)
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms, "message": line} for line in logs.splitlines() if line]
    if events:
        backend.put_log_events(function.logs_group_name, stream, events)
