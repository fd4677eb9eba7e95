"""The embedded AWS: moto's threaded server on a loopback port, with localcloud's Lambda runtime.

moto keeps its backends in module globals, so there is one emulator per process at a time; start()
resets every backend, so each emulator begins empty.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from types import TracebackType
from typing import Any

import boto3
import requests
from botocore.config import Config

from localcloud import dynamodb_patches, s3_patches, sfn_patches
from localcloud.lambda_runtime import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, LambdaRuntime
from localcloud.sqs_poller import disable_moto_sqs_triggers
from localcloud.stream_poller import DynamoDbStreamPoller

HOST = "127.0.0.1"


def _list_moto_modules_once() -> None:
    """moto's server lists its package directory (a listdir and ~150 isdir calls) to route every request;
    the list never changes while the process runs. Idempotent."""
    from moto import backends  # noqa: PLC0415 - moto is slow to import

    if not isinstance(backends.list_of_moto_modules, functools.partial):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.partial(iter, modules)


class Emulator:
    """Start/stop moto's server in this process; hand out boto3 clients bound to it."""

    def __init__(self, *, concurrency_per_function: int = 8) -> None:
        self._concurrency_per_function = concurrency_per_function
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._lambda_runtime: LambdaRuntime | None = None
        self._stream_poller: DynamoDbStreamPoller | None = None
        self._lock = threading.Lock()
        self._previous_moto_port: str | None = None
        # boto3 clients are thread-safe and slow to build (~50-250 ms: model loading): one per service/region.
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._endpoint_url

    @property
    def lambda_runtime(self) -> LambdaRuntime:
        if self._lambda_runtime is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._lambda_runtime

    @property
    def stream_poller(self) -> DynamoDbStreamPoller:
        if self._stream_poller is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._stream_poller

    def start(self) -> str:
        """Start moto on a free port, patch it, install the Lambda runtime; return the endpoint URL."""
        with self._lock:
            if self._endpoint_url is not None:
                return self._endpoint_url
            from moto.core.config import default_user_config  # noqa: PLC0415 - moto is slow to import
            from moto.server import ThreadedMotoServer  # noqa: PLC0415

            sfn_patches.apply()
            s3_patches.apply()
            dynamodb_patches.apply()
            _list_moto_modules_once()
            # werkzeug logs every request at INFO: thousands of lines per demo run.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            # Port 0: the OS picks a free port, with no window for another process to take it.
            server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            endpoint_url = f"http://{host}:{port}"
            # The Step Functions interpreter calls other services at localhost:$MOTO_PORT.
            self._previous_moto_port = os.environ.get("MOTO_PORT")
            os.environ["MOTO_PORT"] = str(port)
            requests.post(f"{endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
            runtime = LambdaRuntime(endpoint_url, concurrency_per_function=self._concurrency_per_function)
            runtime.install()
            # localcloud's SqsEventSourcePoller owns SQS -> Lambda delivery (see sqs_poller.py).
            disable_moto_sqs_triggers()
            # ... and its DynamoDbStreamPoller DynamoDB stream -> Lambda delivery (see stream_poller.py).
            self._stream_poller = DynamoDbStreamPoller(runtime).start()
            self._server, self._endpoint_url, self._lambda_runtime = server, endpoint_url, runtime
            return endpoint_url

    def stop(self) -> None:
        """Stop the Lambda workers and the server; idempotent."""
        with self._lock:
            if self._stream_poller is not None:
                self._stream_poller.stop()
                self._stream_poller = None
            if self._lambda_runtime is not None:
                self._lambda_runtime.shutdown()
            if self._server is not None:
                self._server.stop()
                if self._previous_moto_port is None:
                    os.environ.pop("MOTO_PORT", None)
                else:
                    os.environ["MOTO_PORT"] = self._previous_moto_port
            self._server = self._endpoint_url = self._lambda_runtime = None
            with self._clients_lock:
                self._clients.clear()

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for `service` in `region` that talks to this emulator (shared, thread-safe)."""
        key = (service, region)
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=DUMMY_ACCESS_KEY_ID,
                    aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
                    config=Config(retries={"max_attempts": 2, "mode": "standard"}),
                )
            return client

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
