"""A TCP proxy on 127.0.0.1 that a test can cut: what a database restart looks like to its clients.

Point a process's ``SHIPTRACK_DATABASE_URL`` at :attr:`TcpProxy.port` instead of PostgreSQL's. While
the proxy is up it passes bytes both ways. :meth:`TcpProxy.cut` closes every connection at once
(both sides: the server rolls back what was under way, the client sees its connection reset) and
stops listening, so new connections are refused; :meth:`TcpProxy.restore` listens again on the
same port. The real PostgreSQL server, shared with other test sessions, is never touched.

The proxy runs its own event loop in a thread, like the fakes of ``tests.fakes.server``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

#: Bytes read at once from either side.
CHUNK = 65536


class TcpProxy:
    """Forwards connections on ``127.0.0.1:port`` to ``target_host:target_port`` (loopback only)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(target_host)).is_loopback:
            raise ValueError(f"tests only talk to 127.0.0.0/8, not {target_host}")
        self.target = (target_host, target_port)
        self.port = 0
        #: How many connections the proxy has accepted and forwarded.
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.WriteTransport] = set()

    # lifecycle

    def start(self) -> TcpProxy:
        """Listen on a free port of 127.0.0.1."""
        self._thread.start()
        self._call(self._listen())
        return self

    def close(self) -> None:
        """Cut everything and stop the proxy's thread."""
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def cut(self) -> None:
        """Close every connection (no goodbye on either side) and refuse new ones."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        self._call(self._listen())

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The database "restarting" for the duration of the block."""
        self.cut()
        try:
            yield
        finally:
            self.restore()

    def url(self, database_url: str) -> str:
        """``database_url`` (a PostgreSQL URL of the target) going through this proxy."""
        from sqlalchemy.engine import make_url

        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    # inside the proxy's loop

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            # abort(): no FIN, no flush: the peers learn of it the way they would of a crash.
            transport.abort()
        self._transports.clear()
        for link in list(self._links):
            link.cancel()
        if self._links:
            await asyncio.wait(self._links)
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = asyncio.current_task()
        assert link is not None
        # Held from the moment it is accepted, not only once its upstream is open: a cut (or
        # close()) while the upstream is still being opened ends this connection too, and no end
        # of it is ever left unreferenced and open (for the garbage collector to find unclosed).
        self._links.add(link)
        ends: list[asyncio.WriteTransport] = [writer.transport]
        self._transports.add(writer.transport)
        try:
            if self._server is None:  # accepted in the instant of a cut
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            ends.append(upstream_writer.transport)
            self._transports.add(upstream_writer.transport)
            self.connections += 1
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            for transport in ends:
                transport.abort()
                self._transports.discard(transport)
            self._links.discard(link)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
        sink.transport.abort()


@contextlib.contextmanager
def proxying(database_url: str) -> Iterator[TcpProxy]:
    """A started proxy in front of the PostgreSQL server of ``database_url``, closed at the end."""
    from sqlalchemy.engine import make_url

    parsed = make_url(database_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    try:
        yield proxy
    finally:
        proxy.close()
