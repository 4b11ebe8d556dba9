"""Running an aiohttp application on 127.0.0.1 in a background thread, for a test to talk to."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler


@dataclass
class Recorded:
    """One request a fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    """A running fake: its base URL and every request it received, in order."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def paths(self) -> list[str]:
        """The paths requested so far."""
        return [r.path for r in self.requests]


@contextmanager
def serve(app: web.Application) -> Iterator[FakeServer]:
    """Run ``app`` on a free port until the block ends; requests are recorded in order.

    The app's handlers can read and change ``request.app["fake"].state`` to script behaviour.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        request.app["fake"].requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        return await handler(request)

    app.middlewares.append(record)

    async def start() -> None:
        # The app's state is set before the runner starts it (aiohttp deprecates changing a
        # started app); the URL is known once the socket is bound.
        fake = FakeServer(url="")
        with warnings.catch_warnings():
            # Handlers read ``request.app["fake"]``: a plain key, on purpose.
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            app["fake"] = fake
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        # ``_server`` is None only before start(): the port the OS picked is on its socket.
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        fake.url = f"http://127.0.0.1:{port}"
        holder.update(runner=runner, fake=fake)
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield holder["fake"]
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
