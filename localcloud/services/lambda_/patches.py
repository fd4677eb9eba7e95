"""moto's Lambda invocation paths, rerouted through localcloud's runtime (runtime.py).

moto funnels every invocation (the Invoke API, S3 and SNS notifications, SQS/DynamoDB stream/Kinesis
event source mappings, and Step Functions' `lambda:invoke`, which calls the Invoke API) into
`moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)`; `install()`
replaces it with a call into the installed LambdaRuntime's warm workers. moto's `lambda.use_docker`
setting stays at its default (True): the "simple" backend it switches to only overrides the Invoke API, so
notifications and stream triggers would bypass the runtime.

The other paths are rerouted so that they behave as AWS's do:
- S3 and SNS notifications: moto runs them synchronously inside put_object/publish and swallows their
  errors; AWS invokes asynchronously, retries twice, then gives up to the function's dead-letter queue.
  Both call sites (and Invoke with InvocationType=Event) go to `LambdaRuntime.invoke_async`.
- SQS event source mappings: moto invokes inside send_message, ignores BatchSize and never retries or
  redrives; `disable_sqs_triggers()` turns that path off (event_sources/sqs.py delivers instead).
- DynamoDB stream mappings created at LATEST: `remember_latest_start_positions()` notes where each starts
  (the stream's length at creation), which moto does not keep.
- Functions keep their DeadLetterConfig and LoggingConfig, which moto ignores.
- Invoke refuses a request payload over Lambda's limits, as AWS does with RequestTooLargeException (413):
  6 MB for a synchronous invocation, 1 MB for an asynchronous one (moto accepts any size).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import threading
import types
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, Protocol

from localcloud.core.moto_version import require_supported_moto
from localcloud.services.dynamodb import streams

logger = logging.getLogger(__name__)

# Invoke's request payload limits, in bytes of the request body (the figures AWS's error states).
SYNC_REQUEST_LIMIT_BYTES = 6_291_456
ASYNC_REQUEST_LIMIT_BYTES = 1_048_576


class _Result(Protocol):
    @property
    def payload(self) -> Any: ...

    @property
    def failed(self) -> bool: ...

    @property
    def logs(self) -> str: ...


class Runtime(Protocol):
    """What the patches need of the installed runtime (runtime.LambdaRuntime)."""

    def run(self, function: Any, event: Any) -> _Result: ...

    def invoke_async(self, function_arn_or_name: str, region: str, event: dict[str, Any]) -> Future[Any]: ...

    def service_may_invoke(self, function_arn: str, region: str, service: str, source_arn: str) -> bool: ...


# moto calls the patched methods on its own models: they find the installed runtime here.
_active_runtime: Runtime | None = None
_originals: dict[str, Any] = {}
_PATCH_LOCK = threading.Lock()


def install(runtime: Runtime) -> None:
    """Route every moto Lambda invocation path through `runtime` (process-global)."""
    global _active_runtime  # noqa: PLW0603 - moto's models are process-global too
    _patch_moto_once()
    _active_runtime = runtime


def uninstall(runtime: Runtime) -> None:
    """Forget `runtime` if it is the installed one (the patches stay, finding no runtime)."""
    global _active_runtime  # noqa: PLW0603
    if _active_runtime is runtime:
        _active_runtime = None


def active_runtime() -> Runtime:
    if _active_runtime is None:
        raise RuntimeError(
            "no localcloud LambdaRuntime is installed; call LambdaRuntime(...).install() first"
        )
    return _active_runtime


_DECODED_PACKAGES_KEPT = 4  # megabytes each, twice (base64 and bytes): the few a deployment reuses
_SYS_WITHOUT_PAYLOAD_SIZE = types.SimpleNamespace(getsizeof=lambda payload: 0)


def _patch_moto_once() -> None:
    with _PATCH_LOCK:
        if _originals:
            return
        require_supported_moto(__name__)
        from moto.awslambda import models as lambda_models  # noqa: PLC0415 - moto is slow to import
        from moto.awslambda import responses as lambda_responses  # noqa: PLC0415
        from moto.s3 import notifications  # noqa: PLC0415
        from moto.sns import models as sns_models  # noqa: PLC0415

        function_class = lambda_models.LambdaFunction
        _originals["init"] = function_class.__init__
        _originals["update_configuration"] = function_class.update_configuration
        _originals["get_configuration"] = function_class.get_configuration
        _originals["invoke"] = function_class.invoke
        _originals["subscription_publish"] = sns_models.Subscription.publish
        _originals["zipfile_content"] = lambda_models._zipfile_content

        function_class._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
        # moto refuses a synchronous result once sys.getsizeof(payload) passes 6,000,000 (object overhead
        # included: below AWS's limit); the runtime applies AWS's limit to the serialised payload instead.
        lambda_responses.sys = _SYS_WITHOUT_PAYLOAD_SIZE  # type: ignore[assignment]
        function_class.__init__ = _function_init  # type: ignore[method-assign]
        lambda_models._zipfile_content = _zipfile_content
        function_class.update_configuration = _update_configuration  # type: ignore[method-assign]
        function_class.get_configuration = _get_configuration  # type: ignore[method-assign]
        function_class.invoke = _function_invoke  # type: ignore[method-assign]
        # /moto-api/data.json getattr()s every public attribute; DockerModel.docker_client would try to
        # reach a Docker daemon and turn the whole dashboard into HTTP 500.
        function_class.docker_client = property(_no_docker)  # type: ignore[assignment,method-assign]
        notifications._invoke_awslambda = _s3_notification_to_lambda
        sns_models.Subscription.publish = _sns_subscription_publish  # type: ignore[method-assign]


@functools.lru_cache(maxsize=_DECODED_PACKAGES_KEPT)
def _zipfile_content(zipfile_content: str | bytes) -> tuple[bytes, int, str, str]:
    """moto's decoding of a CreateFunction or UpdateFunctionCode ZipFile (base64, then SHA-256), once per
    content: a stack's functions often ship one package of megabytes (the local stack's 47 functions, one
    6.7 MB zip), and decoding and hashing it took ~40 ms a function. The answer is immutable."""
    decoded: tuple[bytes, int, str, str] = _originals["zipfile_content"](zipfile_content)
    return decoded


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


def _request_too_large(body: str | bytes | None, asynchronous: bool) -> None:
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415 - moto is slow to import

    size = len(body.encode() if isinstance(body, str) else body or b"")
    limit = ASYNC_REQUEST_LIMIT_BYTES if asynchronous else SYNC_REQUEST_LIMIT_BYTES
    if size > limit:
        error = JsonRESTError(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation (got {size} bytes)",
        )
        error.code = 413
        raise error


def _function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
    headers: Mapping[str, str] = request_headers or {}
    _request_too_large(body, asynchronous=headers.get("x-amz-invocation-type") == "Event")
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
        runtime = active_runtime()
        bucket_arn = event_body["Records"][0]["s3"]["bucket"]["arn"]
        if not runtime.service_may_invoke(fn_arn, region_name, "s3.amazonaws.com", bucket_arn):
            logger.warning(
                "S3 may not invoke %s for %s (no permission in its policy): dropped", fn_arn, bucket_arn
            )
            return
        runtime.invoke_async(fn_arn, region_name, event_body)
    except Exception:
        logger.exception("S3 notification to %s could not be queued", fn_arn)


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
        runtime, region = active_runtime(), self.endpoint.split(":")[3]
        if not runtime.service_may_invoke(self.endpoint, region, "sns.amazonaws.com", self.topic.arn):
            logger.warning(
                "SNS may not invoke %s for %s (no permission in its policy)", self.endpoint, self.topic.arn
            )
            return
        runtime.invoke_async(self.endpoint, region, event)
    except Exception:
        logger.exception("SNS delivery to %s could not be queued", self.endpoint)


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


# -- SQS and DynamoDB stream event source mappings ----------------------------------------------------

_sqs_patch_lock = threading.Lock()


def disable_sqs_triggers() -> None:
    """Stop moto from invoking mapped functions inside send_message (idempotent, process-global).

    moto keeps a queue's mappings in `Queue.lambda_event_source_mappings` and walks it in add_message;
    a property that always reads as empty turns that path off while create/list/delete of mappings in
    moto's Lambda API keep working.
    """
    from moto.sqs.models import Queue  # noqa: PLC0415 - moto is slow to import

    with _sqs_patch_lock:
        if isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property):
            return
        require_supported_moto(__name__)
        Queue.lambda_event_source_mappings = property(  # type: ignore[assignment]
            lambda self: {}, lambda self, value: None
        )


_start_positions: dict[str, int] = {}  # mapping uuid -> index of its first record in the shard
_start_patch_lock = threading.Lock()


def latest_start_position(mapping_uuid: str) -> int | None:
    """Where a DynamoDB stream mapping created at LATEST starts reading: the shard's length when it was
    created (None for mappings made before remember_latest_start_positions ran)."""
    return _start_positions.get(mapping_uuid)


def remember_latest_start_positions() -> None:
    """Record, for each stream mapping as it is created, the shard's length then: a poller may only see
    the mapping after the next writes, and LATEST means "from the records written after it". Idempotent."""
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415 - moto is slow to import

    with _start_patch_lock:
        original = LambdaBackend.create_event_source_mapping
        if getattr(original, "localcloud_patched", False):
            return
        require_supported_moto(__name__)

        def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
            esm: Any = original(self, spec)
            if streams.is_dynamodb_stream(esm.event_source_arn):
                shard = streams.stream_shard(esm.event_source_arn)
                _start_positions[esm.uuid] = len(shard.items) if shard is not None else 0
            return esm

        create_event_source_mapping.localcloud_patched = True  # type: ignore[attr-defined]
        LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
