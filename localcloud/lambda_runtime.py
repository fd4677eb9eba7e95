"""Docker-free Lambda for the embedded emulator: deployed handlers run in warm worker subprocesses.

Hook point: moto funnels every invocation (the Invoke API, S3 and SNS notifications, SQS/DynamoDB
stream/Kinesis event source mappings, and Step Functions' `lambda:invoke`, which calls the Invoke
API) into `moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored,
logs)`. `LambdaRuntime.install()` replaces it with a call into a pool of warm workers
(localcloud/lambda_worker.py) started with this interpreter, so a handler imports its third-party
packages from the project's venv and its own code from the function's zip only.

moto's `lambda.use_docker` setting stays at its default (True): the "simple" backend it switches to
only overrides the Invoke API, so notifications and stream triggers would bypass this runtime.

moto runs S3 and SNS notifications synchronously inside put_object/publish and swallows their errors.
AWS invokes those asynchronously, retries twice, then gives up to the function's dead-letter queue;
`install()` reroutes both call sites (and Invoke with InvocationType=Event) to `invoke_async`, which
does exactly that.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

LOG = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"
DUMMY_ACCESS_KEY_ID = "test"
DUMMY_SECRET_ACCESS_KEY = "test"  # noqa: S105 - the emulator accepts any credentials
DEFAULT_CONCURRENCY_PER_FUNCTION = 8
# AWS retries a failed asynchronous invocation twice, with delays of about 1 and 2 minutes.
DEFAULT_ASYNC_RETRY_DELAYS_SECONDS: tuple[float, ...] = (0.2, 0.4)
WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
_STDERR_TAIL_LINES = 50
# Variables a worker inherits from this process; everything else comes from the function.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

OnFailure = Callable[[dict[str, Any], "InvocationResult"], None]


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


class _Worker:
    """One warm execution environment: a subprocess that has imported the handler (after the first call)."""

    def __init__(self, code_dir: Path, handler: str, env: dict[str, str]) -> None:
        self.id = uuid.uuid4().hex
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running our own worker script
            [sys.executable, "-I", str(WORKER_SCRIPT), str(code_dir), handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=code_dir,
        )
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        threading.Thread(
            target=self._drain_stderr, name=f"lambda-worker-stderr-{self.id}", daemon=True
        ).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _drain_stderr(self) -> None:
        stream = self._process.stderr
        assert stream is not None
        for line in iter(stream.readline, b""):
            self._stderr_tail.append(line.decode("utf-8", "replace"))

    def call(self, request: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        stdin: IO[bytes] | None = self._process.stdin
        stdout: IO[bytes] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write((json.dumps(request) + "\n").encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            return self._exited()
        ready, _, _ = select.select([stdout], [], [], timeout_seconds)
        if not ready:
            self.kill()
            return {
                "ok": False,
                "payload": json.dumps(
                    {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {timeout_seconds:.2f} seconds",
                    }
                ),
                "logs": "",
            }
        line = stdout.readline()
        if not line:
            return self._exited()
        response: dict[str, Any] = json.loads(line)
        return response

    def _exited(self) -> dict[str, Any]:
        code = self._process.wait()
        return {
            "ok": False,
            "payload": json.dumps(
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"Runtime exited with error: exit status {code}",
                }
            ),
            "logs": "".join(self._stderr_tail),
        }

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._process.kill()
        with contextlib.suppress(Exception):
            self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()


# moto calls the patched methods on its own models: they find the installed runtime here.
_active_runtime: LambdaRuntime | None = None
_originals: dict[str, Any] = {}


def active_runtime() -> LambdaRuntime:
    if _active_runtime is None:
        raise RuntimeError(
            "no localcloud LambdaRuntime is installed; call LambdaRuntime(...).install() first"
        )
    return _active_runtime


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
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, ...], list[_Worker]] = {}
        self._workers: list[_Worker] = []
        self._limits: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._async_pool = ThreadPoolExecutor(max_workers=async_pool_size, thread_name_prefix="lambda-async")
        self._async_in_flight = 0
        self._in_flight = 0
        self._closed = False
        atexit.register(self.shutdown)

    # -- installation into moto ---------------------------------------------------------------

    def install(self) -> None:
        """Route every moto Lambda invocation path through this runtime (process-global)."""
        global _active_runtime  # noqa: PLW0603 - moto's models are process-global too
        _patch_moto_once()
        _active_runtime = self

    def shutdown(self) -> None:
        """Stop every worker and the async pool; idempotent."""
        global _active_runtime  # noqa: PLW0603
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers, self._idle = self._workers, [], {}
        self._async_pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.kill()
        shutil.rmtree(self._code_root, ignore_errors=True)
        if _active_runtime is self:
            _active_runtime = None
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
                LOG.exception("on_failure callback for %s raised", function.function_name)
        target_arn = (getattr(function, "localcloud_dead_letter_config", None) or {}).get("TargetArn")
        if target_arn:
            try:
                self._send_to_dead_letter_target(target_arn, event, result)
            except Exception:
                LOG.exception("could not send a failed event of %s to %s", function.function_name, target_arn)
        elif on_failure is None:
            LOG.warning(
                "async invocation of %s failed after retries (%s: %s); the function has no DeadLetterConfig",
                function.function_name,
                result.error_type,
                result.error_message,
            )

    def _send_to_dead_letter_target(
        self, target_arn: str, event: dict[str, Any], result: InvocationResult
    ) -> None:
        # Lambda's DLQ message: body is the event; attributes say why (ErrorCode is the Invoke status).
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": (result.error_message or "")[:1000] or "-"},
        }
        self.send_to_target(target_arn, json.dumps(event), attributes)

    def send_to_target(
        self, target_arn: str, body: str, attributes: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Send a message to a failure target Lambda accepts (an SQS queue or an SNS topic), by ARN."""
        service, region, account, name = target_arn.split(":")[2:6]
        extra = {"MessageAttributes": attributes} if attributes else {}
        if service == "sqs":
            sqs = self.client("sqs", region)
            queue_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=body, **extra)
        elif service == "sns":
            self.client("sns", region).publish(TopicArn=target_arn, Message=body, **extra)
        else:
            raise ValueError(
                f"unsupported failure target {target_arn}: Lambda sends to SQS queues and SNS topics"
            )

    def client(self, service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=DUMMY_ACCESS_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
            config=Config(retries={"max_attempts": 2}),
        )

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
        finally:
            with self._lock:
                self._in_flight -= 1
        duration_ms = (time.monotonic() - started) * 1000
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
            function.handler,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda runtime has been shut down")
            idle = self._idle.setdefault(key, [])
            worker = idle.pop() if idle else None
        if worker is None:
            worker = _Worker(self._code_dir(function), function.handler, env)
            with self._lock:
                self._workers.append(worker)
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

    def _environment(self, function: Any) -> dict[str, str]:
        env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
        env.update(
            {
                "AWS_REGION": function.region,
                "AWS_DEFAULT_REGION": function.region,
                "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
                "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
                "LAMBDA_TASK_ROOT": str(self._code_dir(function)),
                "_HANDLER": str(function.handler),
                "TZ": ":UTC",
            }
        )
        env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
        # Set last: the function must talk to the emulator, and there is no X-Ray daemon locally.
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        # StartSyncExecution's `sync-` host prefix cannot be put in front of a loopback address.
        env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
        env["POWERTOOLS_TRACE_DISABLED"] = "1"
        return env

    def _code_dir(self, function: Any) -> Path:
        # CodeSha256 is base64: it may hold "/", so name the directory by a hex digest of it.
        digest = hashlib.sha256(function.code_sha_256.encode()).hexdigest()[:16]
        target = self._code_root / f"{function.function_name}-{digest}"
        if not target.is_dir():
            staging = self._code_root / f".{target.name}.{uuid.uuid4().hex}"
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(staging)
            try:
                staging.rename(target)
            except OSError:  # another thread extracted the same code first
                shutil.rmtree(staging, ignore_errors=True)
        return target


# -- moto lookups and log writing --------------------------------------------------------------------


def _find_function(function_arn_or_name: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend  # noqa: PLC0415

    account_id = DEFAULT_ACCOUNT_ID
    if function_arn_or_name.startswith("arn:"):
        parts = function_arn_or_name.split(":")
        region, account_id = parts[3], parts[4]
    return get_backend(account_id, region).get_function(function_arn_or_name)


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


# -- moto patches --------------------------------------------------------------------------------------

_PATCH_LOCK = threading.Lock()


def _patch_moto_once() -> None:
    with _PATCH_LOCK:
        if _originals:
            return
        from moto.awslambda import models as lambda_models  # noqa: PLC0415
        from moto.s3 import notifications  # noqa: PLC0415
        from moto.sns import models as sns_models  # noqa: PLC0415

        function_class = lambda_models.LambdaFunction
        _originals["init"] = function_class.__init__
        _originals["update_configuration"] = function_class.update_configuration
        _originals["get_configuration"] = function_class.get_configuration
        _originals["invoke"] = function_class.invoke
        _originals["subscription_publish"] = sns_models.Subscription.publish

        function_class._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
        function_class.__init__ = _function_init  # type: ignore[method-assign]
        function_class.update_configuration = _update_configuration  # type: ignore[method-assign]
        function_class.get_configuration = _get_configuration  # type: ignore[method-assign]
        function_class.invoke = _function_invoke  # type: ignore[method-assign]
        # /moto-api/data.json getattr()s every public attribute; DockerModel.docker_client would try to
        # reach a Docker daemon and turn the whole dashboard into HTTP 500.
        function_class.docker_client = property(_no_docker)  # type: ignore[assignment,method-assign]
        notifications._invoke_awslambda = _s3_notification_to_lambda
        sns_models.Subscription.publish = _sns_subscription_publish  # type: ignore[method-assign]


def _no_docker(self: Any) -> Any:
    raise AttributeError("localcloud runs Lambda without Docker")


def _function_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
    _originals["init"](self, account_id, spec, region, version)
    # moto ignores DeadLetterConfig and LoggingConfig; localcloud needs both.
    self.localcloud_dead_letter_config = spec.get("DeadLetterConfig") or {}
    self.localcloud_logging_config = spec.get("LoggingConfig") or {}
    _apply_logging_config(self)


def _apply_logging_config(function: Any) -> None:
    log_group = (getattr(function, "localcloud_logging_config", None) or {}).get("LogGroup")
    function.logs_group_name = log_group or f"/aws/lambda/{function.function_name}"


def _update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "DeadLetterConfig" in config_updates:
        self.localcloud_dead_letter_config = config_updates["DeadLetterConfig"] or {}
    if "LoggingConfig" in config_updates:
        self.localcloud_logging_config = config_updates["LoggingConfig"] or {}
        _apply_logging_config(self)
    result: dict[str, Any] = _originals["update_configuration"](self, config_updates)
    return result


def _get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = _originals["get_configuration"](self, on_create)
    if getattr(self, "localcloud_dead_letter_config", None):
        config["DeadLetterConfig"] = self.localcloud_dead_letter_config
    config["LoggingConfig"] = {"LogFormat": "Text", **getattr(self, "localcloud_logging_config", {})}
    config["LoggingConfig"].setdefault("LogGroup", self.logs_group_name)
    return config


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    if isinstance(event, str | bytes):
        with contextlib.suppress(ValueError):
            event = json.loads(event)
    result = active_runtime().run(self, {} if event is None else event)
    return json.dumps(result.payload), result.failed, result.logs


def _function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
    headers: Mapping[str, str] = request_headers or {}
    if headers.get("x-amz-invocation-type") == "Event":
        # moto would run an Event invocation inline; AWS queues it and answers 202 at once.
        event = json.loads(body) if body else {}
        active_runtime().invoke_async(self.function_arn, self.region, event)
        return b""
    result: str | bytes = _originals["invoke"](self, body, request_headers, response_headers)
    if response_headers.get("x-amz-function-error"):
        response_headers["x-amz-function-error"] = "Unhandled"
    return result


def _s3_notification_to_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    # Replaces moto.s3.notifications._invoke_awslambda, which moto runs inside put_object and whose
    # failures it discards; S3 invokes asynchronously, so retries and the DLQ apply.
    try:
        active_runtime().invoke_async(fn_arn, region_name, event_body)
    except Exception:
        LOG.exception("S3 notification to %s could not be queued", fn_arn)


def _sns_subscription_publish(  # noqa: PLR0917 - mirrors moto's Subscription.publish
    self: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    if self.protocol != "lambda":
        _originals["subscription_publish"](
            self,
            message,
            message_id,
            subject,
            message_attributes,
            group_id,
            deduplication_id,
            message_structure,
        )
        return
    # moto's own path invokes inline with a canned event (TopicArn "arn:aws:sns:EXAMPLE"); SNS invokes
    # asynchronously with the real topic, message id and attributes.
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
        message_attributes, message
    ):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    event = {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": self.arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": self.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": _sns_lambda_attributes(message_attributes or {}),
                },
            }
        ]
    }
    try:
        active_runtime().invoke_async(self.endpoint, self.endpoint.split(":")[3], event)
    except Exception:
        LOG.exception("SNS delivery to %s could not be queued", self.endpoint)


def _sns_lambda_attributes(attributes: dict[str, Any]) -> dict[str, dict[str, str]]:
    converted = {}
    for name, value in attributes.items():
        data_type = value.get("DataType") or value.get("Type") or "String"
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            text = raw if isinstance(raw, str) else base64.b64encode(raw).decode()
        else:
            text = str(value.get("StringValue", value.get("Value", "")))
        converted[name] = {"Type": data_type, "Value": text}
    return converted
