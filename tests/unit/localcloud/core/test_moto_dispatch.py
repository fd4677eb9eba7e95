"""moto's server keeps connections open and finds actions without listing classes, answering the same."""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from http.client import HTTPConnection, HTTPResponse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from flask import Flask, request
from werkzeug.exceptions import BadRequestKeyError

from localcloud.core import moto_dispatch
from localcloud.core.clients import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from localcloud.core.emulator import HOST, Emulator
from tests.unit.localcloud.conftest import REGION

LIST_QUEUES = b"Action=ListQueues&Version=2012-11-05"


def signed_headers(port: int, body: bytes) -> dict[str, str]:
    """SigV4 headers of a ListQueues POST with `body`, signed with the control plane's key."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}:{port}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials(DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY), "sqs", REGION).add_auth(request)
    return dict(request.headers.items())


def raw_request(port: int, body: bytes, *, path: str = "/", chunked: bool = False) -> bytes:
    """A signed POST with `body` as bytes on the wire: with its Content-Length, or chunked."""
    headers = signed_headers(port, body)
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        headers["Content-Length"] = str(len(body))
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode() + body


class Responses:
    """Reads the responses of one connection in turn through one buffer (a buffer per response would
    swallow the start of the next one when both have arrived)."""

    def __init__(self, connection: socket.socket) -> None:
        self._buffer = connection.makefile("rb")

    def makefile(self, *_: object, **__: object) -> Responses:
        return self  # what HTTPResponse reads from: this connection's one buffer

    def __getattr__(self, name: str) -> object:
        return getattr(self._buffer, name)

    def close(self) -> None:
        """HTTPResponse closes its file after each response; the buffer outlives it."""

    def next(self) -> tuple[int, bytes, dict[str, str]]:
        """The next response: status, body and headers (lower-case names)."""
        response = HTTPResponse(self)  # type: ignore[arg-type]
        response.begin()
        body = response.read()
        return response.status, body, {name.lower(): value for name, value in response.getheaders()}


@pytest.fixture
def connection(emulator: Emulator) -> Iterator[socket.socket]:
    sock = socket.create_connection((HOST, emulator.port), timeout=30)
    yield sock
    sock.close()


def test_one_connection_carries_request_after_request(emulator: Emulator) -> None:
    # GIVEN one HTTP/1.1 connection to the emulator's port
    client = HTTPConnection(HOST, emulator.port, timeout=30)
    statuses = []
    # WHEN three calls are made on it, one after another
    for _ in range(3):
        client.request("POST", "/", body=LIST_QUEUES, headers=signed_headers(emulator.port, LIST_QUEUES))
        response = client.getresponse()
        response.read()
        statuses.append((response.status, response.will_close, response.getheader("Connection")))
    client.close()
    # THEN each is answered, and none asks the client to close (werkzeug alone closes after each)
    assert statuses == [(200, False, None)] * 3


def test_a_request_sent_before_the_previous_answer_is_answered_not_dropped(
    emulator: Emulator, connection: socket.socket
) -> None:
    # GIVEN two calls written at once on one connection (the second in the socket while the first is
    # answered, where werkzeug's after-response drain used to throw it away)
    connection.sendall(raw_request(emulator.port, LIST_QUEUES) * 2)
    # WHEN both answers are read
    responses = Responses(connection)
    first, second = responses.next(), responses.next()
    # THEN both are ListQueues answers
    assert [first[0], second[0]] == [200, 200]
    assert b"<ListQueuesResponse" in first[1]
    assert b"<ListQueuesResponse" in second[1]


def test_a_kept_connections_answers_are_not_held_for_the_clients_delayed_ack(
    emulator: Emulator, connection: socket.socket
) -> None:
    # GIVEN a connection answered once and kept open
    connection.sendall(raw_request(emulator.port, LIST_QUEUES))
    assert Responses(connection).next()[0] == 200
    # WHEN the server's end of it is found
    server_ends = [
        end
        for handler in moto_dispatch.KeepAliveRequestHandler.__subclasses__()
        for end in list(handler.open_connections)
        if end.fileno() != -1 and end.getpeername() == connection.getsockname()
    ]
    # THEN Nagle's algorithm is off there: a response's body (its second write) leaves at once instead of
    # waiting for the client to acknowledge the headers, which clients delay by up to 40 ms
    assert [end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0 for end in server_ends] == [True]


def test_a_body_the_server_does_not_read_is_skipped_before_the_next_request(
    emulator: Emulator, connection: socket.socket
) -> None:
    # GIVEN a request to a path no service routes (answered 404 without reading its 5,000-byte body),
    # then a ListQueues on the same connection
    responses = Responses(connection)
    connection.sendall(raw_request(emulator.port, b"x" * 5000, path="/no/such/route"))
    unrouted = responses.next()
    connection.sendall(raw_request(emulator.port, LIST_QUEUES))
    # WHEN the second answer is read
    listed = responses.next()
    # THEN the first was refused and the second answered as if it came alone: the body did not leak
    # into the next request line
    assert unrouted[0] == 404
    assert listed[0] == 200
    assert b"<ListQueuesResponse" in listed[1]


def test_a_chunked_request_is_answered_and_its_connection_closed(
    emulator: Emulator, connection: socket.socket
) -> None:
    # GIVEN a ListQueues whose body is sent chunked (no Content-Length: the server cannot skip it)
    connection.sendall(raw_request(emulator.port, LIST_QUEUES, chunked=True))
    # WHEN it is answered
    status, body, headers = Responses(connection).next()
    # THEN the answer is ListQueues' and says the connection closes, and it does
    assert status == 200
    assert b"<ListQueuesResponse" in body
    assert headers.get("connection") == "close"
    assert connection.recv(1) == b""


class _Handlers:
    """A response class stand-in: functions, a static method, a class method, a property and a value."""

    def list_queues(self) -> str:
        return "listed"

    @staticmethod
    def helper() -> None:
        return None

    @classmethod
    def create(cls) -> None:
        return None

    @property
    def region(self) -> str:
        return "us-east-1"

    limit = 10


class _MoreHandlers(_Handlers):
    def send_message(self) -> str:
        return "sent"


@pytest.mark.parametrize(
    "name", ["list_queues", "send_message", "helper", "create", "region", "limit", "missing", "__init__"]
)
def test_an_action_is_found_exactly_when_moto_would_list_it_as_a_function(name: str) -> None:
    # GIVEN a subclass inheriting functions, a static method, a class method, a property and a value
    listed = [member for member, _ in inspect.getmembers(_MoreHandlers, predicate=inspect.isfunction)]
    # WHEN the name is looked up the new way
    found = name in moto_dispatch._FunctionNames(_MoreHandlers)
    # THEN it is found exactly when moto's listing holds it
    assert found == (name in listed)


def test_a_method_added_to_a_class_later_is_found() -> None:
    # GIVEN the lookup of a class made before a method is added to it (as localcloud's patches add
    # actions to moto's response classes)
    class Late:
        pass

    names = moto_dispatch._FunctionNames(Late)
    assert "start_sync_execution" not in names

    def start_sync_execution(self: object) -> None:
        return None

    # WHEN the method is added
    Late.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]
    # THEN the same lookup finds it: nothing was cached
    assert "start_sync_execution" in names


def plain_app(service: str) -> Flask:
    """A backend app as moto's factory leaves it: debug on."""
    app = Flask(f"moto-{service}")
    app.debug = True

    @app.route("/files", methods=["POST"])
    def files_type() -> str:
        return type(request.files).__qualname__

    @app.route("/broken", methods=["POST"])
    def broken() -> str:
        raise RuntimeError("a backend bug")

    @app.route("/form", methods=["POST"])
    def form_key() -> str:
        return request.form["missing"]

    return app


def test_backend_apps_parse_forms_without_a_class_per_request() -> None:
    # GIVEN a backend app from the factory, out of debug mode
    app = moto_dispatch.without_debug_helpers(plain_app)("sqs")
    # WHEN a form is posted to it
    answer = app.test_client().post("/files", data={"Action": "ListQueues"})
    # THEN its files are Flask's own multidict, not debug mode's per-request subclass of it
    assert answer.get_data(as_text=True) == "ImmutableMultiDict"
    in_debug = plain_app("sqs").test_client().post("/files", data={"Action": "ListQueues"})
    assert in_debug.get_data(as_text=True) == "attach_enctype_error_multidict.<locals>.newcls"


def test_backend_app_errors_still_reach_the_server_as_in_debug_mode() -> None:
    # GIVEN a backend app from the factory
    client = moto_dispatch.without_debug_helpers(plain_app)("sqs").test_client()
    # WHEN a view raises, or reads a form key the request lacks
    # THEN the exception reaches the WSGI server (which answers 500 and logs it), as in debug mode
    with pytest.raises(RuntimeError, match="a backend bug"):
        client.post("/broken")
    with pytest.raises(BadRequestKeyError):
        client.post("/form", data={"other": "x"})
