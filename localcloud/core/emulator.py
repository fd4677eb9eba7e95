"""The embedded AWS: moto's threaded server on a loopback port, patched, with IAM enforced on every call
(services/iam/enforcement.py), Route 53 ARC and S3 Multi-Region Access Points on the same port
(services/route53recoverycontrol/, services/s3control/),
localcloud's Lambda runtime and its event source pollers.

moto keeps its backends in module globals, so there is one emulator per process at a time; start()
resets every backend, so each emulator begins empty.

The endpoint's port: a free one by default (tests run many emulators); `up` asks for 4566, LocalStack's,
so tools configured for LocalStack reach it, and takes a free port when 4566 is taken.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
import sys
import threading
from types import TracebackType
from typing import Any

import requests

from localcloud.core import backend_lookups, in_process, moto_dispatch
from localcloud.core.activity_log import not_implemented_line
from localcloud.core.browser_cors import backend_apps_with_aws_cors, preflight_route
from localcloud.core.clients import SharedClients
from localcloud.core.server_routes import add_route
from localcloud.services.cognitoidp import patches as cognito_patches
from localcloud.services.dynamodb import attribute_values
from localcloud.services.dynamodb import patches as dynamodb_patches
from localcloud.services.ec2 import patches as ec2_patches
from localcloud.services.iam import enforcement as iam_enforcement
from localcloud.services.iam.enforcement import IamEnforcement
from localcloud.services.kms import patches as kms_patches
from localcloud.services.lambda_ import patches as lambda_patches
from localcloud.services.lambda_.event_sources.dynamodb_streams import DynamoDbStreamPoller
from localcloud.services.lambda_.event_sources.pollers import EventSourcePollers
from localcloud.services.lambda_.runtime import LambdaRuntime
from localcloud.services.route53recoverycontrol import server as arc_server
from localcloud.services.route53recoverycontrol.models import ArcBackend
from localcloud.services.s3 import notification_permissions
from localcloud.services.s3 import patches as s3_patches
from localcloud.services.s3control import multi_region_access_points
from localcloud.services.sns import patches as sns_patches
from localcloud.services.sqs import patches as sqs_patches
from localcloud.services.stepfunctions import patches as stepfunctions_patches
from localcloud.services.stepfunctions import state_size

HOST = "127.0.0.1"
_LISTEN_BACKLOG = 128  # werkzeug's own
_SWITCH_INTERVAL_SECONDS = 0.001  # CPython's default is 0.005
# The collector's thresholds (CPython's are 700, 10, 10) for a process holding moto's backends, a deployed
# stack and the Pulumi SDK's objects: hundreds of thousands of long-lived objects, which the collector
# traversed again and again. The demo's process: 39.4-44.6 -> 37.0-41.1 CPU-s; the tests' program builds
# under mocks (tests/conftest.py uses these too): a quarter less. Reference counting still frees at once
# what no cycle holds.
GC_THRESHOLDS = (10_000, 20, 20)


class PortInUseError(RuntimeError):
    """The port asked for is taken (and no other will do)."""


class NotImplementedAsOneLine(logging.Filter):
    """werkzeug logs each moto NotImplementedError as a 40-line server traceback: one line says it all
    (what moto lacks). Any other server error keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = not_implemented_line(record.getMessage())
        if line is not None:
            record.msg, record.args, record.exc_info = line, (), None
        return True


_NOT_IMPLEMENTED_FILTER = NotImplementedAsOneLine()


def _listening_socket(port: int) -> socket.socket:
    """A socket listening on HOST:port (0: a free port, chosen by the OS with no window for another
    process to take it). Bound here, not by werkzeug, which answers a taken port with sys.exit(1) in the
    server's thread, where moto's ThreadedMotoServer.start() then waits forever."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As werkzeug does: a restarted `up` rebinds its port while old connections sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
        listener.listen(_LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def endpoint_socket(port: int, *, free_port_if_taken: bool = False) -> socket.socket:
    """A socket listening on HOST:port, or on a free port when `port` is taken and free_port_if_taken;
    else PortInUseError."""
    try:
        return _listening_socket(port)
    except OSError as refused:
        if refused.errno not in {errno.EADDRINUSE, errno.EACCES} or port == 0:
            raise
        if free_port_if_taken:
            return _listening_socket(0)
        raise PortInUseError(
            f"port {port} on {HOST} is not available ({refused.strerror}): stop what holds it or choose "
            "another port"
        ) from None


class _MotoServer:
    """moto's server (its dispatcher and request handler, as ThreadedMotoServer runs them, the handler
    keeping connections open: moto_dispatch.py) serving on a socket localcloud bound, in a daemon
    thread."""

    def __init__(self, listener: socket.socket) -> None:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - moto is slow to import
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server  # noqa: PLC0415

        app = DomainDispatcherApplication(
            backend_apps_with_aws_cors(moto_dispatch.without_debug_helpers(create_backend_app))
        )
        self._handler = moto_dispatch.keep_alive_handler(MotoRequestHandler)
        self.app = app
        # werkzeug serves a dup of the descriptor it is given: this one is closed once it has it.
        self._server = make_server(
            HOST,
            0,
            app,
            threaded=True,
            request_handler=self._handler,
            fd=listener.fileno(),
        )
        listener.close()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localcloud-moto", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._handler.end_connections()
        self._server.server_close()
        self._thread.join()


class Emulator:
    """Start/stop moto's server in this process; hand out boto3 clients bound to it."""

    def __init__(
        self, *, concurrency_per_function: int = 8, port: int = 0, free_port_if_taken: bool = False
    ) -> None:
        """port 0 takes a free port; another is taken as asked, or, when free_port_if_taken and that port
        is in use, a free one instead (see `port` after start())."""
        self._concurrency_per_function = concurrency_per_function
        self.requested_port = port
        self._free_port_if_taken = free_port_if_taken
        self._server: _MotoServer | None = None
        self._endpoint_url: str | None = None
        self._lambda_runtime: LambdaRuntime | None = None
        self._event_sources: EventSourcePollers | None = None
        self._clients: SharedClients | None = None
        self._lock = threading.Lock()
        self._previous_moto_port: str | None = None
        self._previous_switch_interval = sys.getswitchinterval()
        self._previous_gc_thresholds = gc.get_threshold()
        self._iam: IamEnforcement | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._endpoint_url

    @property
    def port(self) -> int:
        """The endpoint's port (the one asked for, unless it was taken and a free one would do)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return int(self._server.port)

    @property
    def lambda_runtime(self) -> LambdaRuntime:
        if self._lambda_runtime is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._lambda_runtime

    @property
    def event_sources(self) -> EventSourcePollers:
        """The SQS and DynamoDB stream pollers that invoke mapped functions."""
        if self._event_sources is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._event_sources

    @property
    def iam(self) -> IamEnforcement:
        """The IAM decisions this emulator has made: counts by outcome and the latest denials."""
        if self._iam is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._iam

    @property
    def stream_poller(self) -> DynamoDbStreamPoller:
        return self.event_sources.dynamodb_streams

    def start(self) -> str:
        """Start moto on its port, patch it, install the Lambda runtime; return the endpoint URL."""
        with self._lock:
            if self._endpoint_url is not None:
                return self._endpoint_url
            from moto.core.config import default_user_config  # noqa: PLC0415 - moto is slow to import

            stepfunctions_patches.apply()
            state_size.apply()
            s3_patches.apply()
            notification_permissions.apply()
            dynamodb_patches.apply()
            attribute_values.apply()
            sqs_patches.apply()
            sns_patches.apply()
            cognito_patches.apply()
            kms_patches.apply()
            ec2_patches.apply()
            add_route(preflight_route)
            moto_dispatch.apply()
            backend_lookups.apply()
            # werkzeug logs every request at INFO: thousands of lines per demo run.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            logging.getLogger("werkzeug").addFilter(_NOT_IMPLEMENTED_FILTER)
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            server = _MotoServer(
                endpoint_socket(self.requested_port, free_port_if_taken=self._free_port_if_taken)
            )
            server.start()
            port = server.port
            endpoint_url = f"http://{HOST}:{port}"
            # The Step Functions interpreter calls other services at localhost:$MOTO_PORT.
            self._previous_moto_port = os.environ.get("MOTO_PORT")
            os.environ["MOTO_PORT"] = str(port)
            requests.post(f"{endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
            # localcloud's own clients (pollers, replicators, interpreter, runtime) skip loopback HTTP.
            in_process.serve(endpoint_url, server.app)
            # One GIL serves the Lambda workers' requests and localcloud's own threads, which now do their
            # moto work themselves (in_process): shorter slices keep the workers' answers from waiting
            # behind them (the 100,000-row batch: 1,270-1,410 rows/s at the default 5 ms, 1,608 at 1 ms).
            self._previous_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)
            self._previous_gc_thresholds = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
            self._iam = IamEnforcement()
            iam_enforcement.install(self._iam)
            arc_server.install(ArcBackend(endpoint_url))
            multi_region_access_points.install(multi_region_access_points.MultiRegionAccessPoints())
            runtime = LambdaRuntime(endpoint_url, concurrency_per_function=self._concurrency_per_function)
            runtime.install()
            # localcloud's pollers own SQS and DynamoDB stream -> Lambda delivery (see event_sources/).
            lambda_patches.disable_sqs_triggers()
            self._event_sources = EventSourcePollers(runtime).start()
            self._server, self._endpoint_url, self._lambda_runtime = server, endpoint_url, runtime
            self._clients = SharedClients(endpoint_url)
            return endpoint_url

    def stop(self) -> None:
        """Stop the pollers, the Lambda workers and the server; idempotent."""
        with self._lock:
            if self._event_sources is not None:
                self._event_sources.stop()
                self._event_sources = None
            if self._lambda_runtime is not None:
                self._lambda_runtime.shutdown()
            if self._iam is not None:
                iam_enforcement.uninstall(self._iam)
            arc_server.uninstall()
            multi_region_access_points.uninstall()
            if self._server is not None:
                if self._endpoint_url is not None:
                    in_process.withdraw(self._endpoint_url)
                self._server.stop()
                sys.setswitchinterval(self._previous_switch_interval)
                gc.set_threshold(*self._previous_gc_thresholds)
                if self._previous_moto_port is None:
                    os.environ.pop("MOTO_PORT", None)
                else:
                    os.environ["MOTO_PORT"] = self._previous_moto_port
            self._server = self._endpoint_url = self._lambda_runtime = None
            self._clients = None

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for `service` in `region` that talks to this emulator (shared, thread-safe)."""
        if self._clients is None:
            raise RuntimeError("the emulator is not running; call Emulator.start() first")
        return self._clients(service, region)

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
