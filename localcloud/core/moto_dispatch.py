"""moto's server without the per-request work that never changes its answers.

Every request to the emulator goes through werkzeug's request handler and moto's dispatcher. Four costs
there depend on nothing a request carries, and under the events benchmark they took about a fifth of the
emulator's one core:

- werkzeug's development server closes every connection after one response ("Connection: close"),
  because http.server cannot skip a body the application left unread before the next request line. So
  every call from a Lambda worker, the interpreter's integrations or the CLI opened a TCP connection
  and the server started a thread for it. `KeepAliveRequestHandler` keeps HTTP/1.1 connections open
  when it can skip the rest of the body itself (a Content-Length body; a chunked one still closes);
  an idle connection is closed after IDLE_CONNECTION_SECONDS.
- moto lists a response class's methods with `inspect.getmembers` on every call to find the action's
  method (`method_names_from_class`); `action_lookup()` answers the same question ("is this name a
  function of the class?") for the one name asked, from the class as it is now.
- moto runs every service's Flask app in debug mode, and in debug mode Flask's form parsing creates a
  new class for each request (`attach_enctype_error_multidict`, a helper for a browser upload without
  multipart encoding): half of moto's request set-up. `without_debug_helpers` turns debug off and keeps
  the two settings debug implied (exceptions reach the server, a missing form key raises), so errors
  are answered and logged as before.
- moto's server lists its package directory (a listdir and ~150 isdir calls) to route every request;
  that list cannot change while the process runs.

Each is installed once per process; none changes what a request is answered.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from werkzeug.serving import WSGIRequestHandler

from localcloud.core.moto_version import applied_once

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# How long a kept-alive connection may wait for its next request. botocore checks a pooled connection
# is still open before reusing it, so closing idle ones only costs the client a new connection.
IDLE_CONNECTION_SECONDS = 120.0
# A body the application left unread is skipped (read and dropped) up to this size; a larger one closes
# the connection instead, as werkzeug always does.
MAX_SKIPPED_BODY_BYTES = 64 * 1024 * 1024


class _BodyReader:
    """The request body as the application reads it (at most Content-Length bytes), remembering how
    much is left so the handler can skip it before reading the connection's next request."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, reader: Callable[[int], bytes], size: int | None) -> bytes:
        """What `reader` returns for at most `size` (all, when negative or None) of the bytes left."""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = reader(size) if size else b""
        self.remaining -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def skip_rest(self) -> bool:
        """Read and drop what the application left; False when the connection cannot be reused."""
        if self.remaining > MAX_SKIPPED_BODY_BYTES:
            return False
        while self.remaining:
            if not self.read(min(self.remaining, 1 << 16)):
                return False  # the client sent less than it announced
        return True


class _ConnectionAtEnd:
    """A stand-in connection always readable at its end (the read side of a pipe whose write side is
    closed), for werkzeug's after-response drain of a kept connection."""

    def __init__(self) -> None:
        self._read_fd, write_fd = os.pipe()
        os.close(write_fd)

    def fileno(self) -> int:
        return self._read_fd


_AT_END = _ConnectionAtEnd()


class KeepAliveRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler keeping HTTP/1.1 connections open (see the module doc); combined with
    moto's handler by `keep_alive_handler`, which gives each server its own set of open connections."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_SECONDS  # socketserver applies it to the connection's socket
    # A response leaves in two writes (headers, then body). On a kept connection, Nagle's algorithm holds
    # the body until the client acknowledges the headers, and the client delays that ACK by up to 40 ms:
    # each sequential call of a Lambda's took ~45 ms (one events POST, one client: 120 -> 34 ms).
    disable_nagle_algorithm = True
    open_connections: ClassVar[set[socket.socket]] = set()
    open_connections_lock: ClassVar[threading.Lock] = threading.Lock()
    _body: _BodyReader | None = None
    _connection: Any = None  # the real connection and its reader while werkzeug has stand-ins
    _rfile: Any = None

    def setup(self) -> None:
        super().setup()
        with self.open_connections_lock:
            self.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.open_connections_lock:
            self.open_connections.discard(self.connection)
        super().finish()

    @classmethod
    def end_connections(cls) -> None:
        """Make every open connection's thread end after its current request: the server's close waits
        for them, and an idle one would otherwise wait IDLE_CONNECTION_SECONDS for a request."""
        with cls.open_connections_lock:
            connections = list(cls.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed meanwhile
                connection.shutdown(socket.SHUT_RD)

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        self._body = None
        length = environ.get("CONTENT_LENGTH", "")
        if not environ.get("wsgi.input_terminated"):  # chunked: werkzeug's own closing path
            if not length:
                self._body = _BodyReader(environ["wsgi.input"], 0)
            elif length.isdigit():
                self._body = _BodyReader(environ["wsgi.input"], int(length))
                environ["wsgi.input"] = self._body
        if self._body is not None:
            # After the response, werkzeug reads whatever the socket holds within 10 ms and drops it
            # (safe only when the connection closes): on a kept connection that is the next request.
            # Its reader gets a connection at its end instead; the rest of the body is ours to skip.
            self._connection, self._rfile = self.connection, self.rfile
            self.connection, self.rfile = _AT_END, io.BytesIO()
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug sends "Connection: close" with every response; with a body we can skip, the connection
        # stays (http.server decides from the request: HTTP/1.1 without "Connection: close").
        if keyword.lower() == "connection" and value.lower() == "close" and self._body is not None:
            return
        super().send_header(keyword, value)

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            body, self._body = self._body, None
            if body is not None:
                self.connection, self.rfile = self._connection, self._rfile
            if body is None or not body.skip_rest():
                self.close_connection = True

    def log_error(self, format: str, *args: Any) -> None:
        if args and isinstance(args[0], TimeoutError):
            return  # an idle kept-alive connection timing out: closed, nothing went wrong
        super().log_error(format, *args)


def keep_alive_handler(base: type[WSGIRequestHandler]) -> type[KeepAliveRequestHandler]:
    """`base` (moto's MotoRequestHandler) keeping connections open, with its own set of them."""
    fields = {"open_connections": set(), "open_connections_lock": threading.Lock()}
    return type(f"KeepAlive{base.__name__}", (KeepAliveRequestHandler, base), fields)


class _FunctionNames:
    """The names of a class's functions, for `in` only: whether `name` is a function of the class now
    (what `inspect.getmembers(cls, inspect.isfunction)` lists, without listing every member)."""

    def __init__(self, owner: type) -> None:
        self._owner = owner

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._owner, name, None))


def action_lookup() -> None:
    """moto's `call_action` asks `action in method_names_from_class(cls)` and nothing else of the list."""
    from moto.core import responses  # noqa: PLC0415 - moto is slow to import

    responses.method_names_from_class = _FunctionNames  # type: ignore[assignment]


def without_debug_helpers(create_backend_app: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's backend app factory, its apps out of Flask's debug mode with debug's error handling."""

    def create(service: Any) -> Any:
        app = create_backend_app(service)
        app.config["PROPAGATE_EXCEPTIONS"] = True  # as in debug: the server answers 500 and logs it
        app.config["TRAP_BAD_REQUEST_ERRORS"] = True
        app.debug = False
        return app

    return create


def list_moto_modules_once() -> None:
    from moto import backends  # noqa: PLC0415 - moto is slow to import

    if not isinstance(backends.list_of_moto_modules, functools.partial):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.partial(iter, modules)


@applied_once
def apply() -> None:
    """Install the dispatch fixes (idempotent); the keep-alive handler is the server's to choose."""
    action_lookup()
    list_moto_modules_once()
